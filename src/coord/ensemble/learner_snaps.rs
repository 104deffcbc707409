//! A leader's SNAPs for learners too far behind for a DIFF. Each image is built a chunk at a
//! time between batches of requests, as a fuzzy snapshot is walked to disk, so a large tree
//! never stalls the thread that orders transactions. The image names the zxid its walk began
//! at; the learner replays the txns after it (which the leader queues behind the SNAP on the
//! same connection) and ends exactly where the leader is.

use bytes::Bytes;
use tokio::sync::oneshot;

use super::net::frame_of;
use crate::coord::store::ImageBuilder;
use crate::coord::tree::DataTree;
use crate::coord::zab::{PeerMsg, Sid, wire};

/// Nodes added to each image per turn of the core loop.
const CHUNK: usize = 2000;

/// The SNAPs being built, each with the connection slot it goes out in.
#[derive(Default)]
pub(super) struct LearnerSnaps {
    building: Vec<Building>,
}

struct Building {
    to: Sid,
    zxid: i64,
    image: ImageBuilder,
    out: oneshot::Sender<Vec<u8>>,
}

impl LearnerSnaps {
    /// Starts the SNAP for `to` of the tree as of `zxid`, with the sessions open then.
    pub(super) fn begin(
        &mut self,
        to: Sid,
        zxid: i64,
        sessions: &[(i64, i32)],
        out: oneshot::Sender<Vec<u8>>,
    ) {
        self.building.push(Building {
            to,
            zxid,
            image: ImageBuilder::new(sessions, zxid),
            out,
        });
    }

    pub(super) fn building(&self) -> bool {
        !self.building.is_empty()
    }

    /// Adds a chunk of `tree` to every image; a finished one goes out, and one whose
    /// connection is gone is dropped.
    pub(super) fn step(&mut self, tree: &DataTree) {
        let mut i = 0;
        while i < self.building.len() {
            let b = &mut self.building[i];
            if b.out.is_closed() {
                tracing::info!("dropping the SNAP for {}: its connection is gone", b.to);
                self.building.swap_remove(i);
                continue;
            }
            if !b.image.step(tree, CHUNK) {
                i += 1;
                continue;
            }
            let b = self.building.swap_remove(i);
            let data = Bytes::from(b.image.finish());
            let snap = PeerMsg::Snap { zxid: b.zxid, data };
            let _ = b.out.send(frame_of(|out| wire::encode_peer(&snap, out)));
        }
    }

    /// The tree is being replaced: every SNAP in progress is dropped, which ends its
    /// connection (the learner connects again and is synced afresh).
    pub(super) fn abandon(&mut self) {
        self.building.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coord::store::{deserialize_snapshot, serialize_snapshot};
    use crate::coord::tree::open_acl_unsafe;
    use crate::coord::txn::Txn;
    use crate::coord::zab::wire::decode_peer;

    fn tree_of(n: usize) -> DataTree {
        let mut tree = DataTree::new();
        for i in 0..n {
            let txn = Txn::Create {
                path: format!("/n{i}"),
                data: Some(vec![i as u8]),
                acl: open_acl_unsafe(),
                ephemeral_owner: 0,
                parent_cversion: i as i32 + 1,
            };
            tree.apply(i as i64 + 1, 0, &txn, &mut Vec::new());
        }
        tree
    }

    #[test]
    fn a_snap_goes_out_once_every_chunk_is_in_and_equals_the_whole_image() {
        let tree = tree_of(CHUNK * 2 + 10);
        let mut snaps = LearnerSnaps::default();
        let (tx, mut rx) = oneshot::channel();
        snaps.begin(2, 7, &[(0x55, 4000)], tx);
        let mut turns = 0;
        while snaps.building() {
            assert!(rx.try_recv().is_err(), "sent before the walk ended");
            snaps.step(&tree);
            turns += 1;
        }
        assert_eq!(turns, 3);
        let frame = rx.try_recv().expect("the SNAP went out");
        let Ok(PeerMsg::Snap { zxid, data }) = decode_peer(&frame[4..]) else {
            panic!("not a SNAP");
        };
        assert_eq!(zxid, 7);
        assert_eq!(
            &data[..],
            &serialize_snapshot(&tree, &[(0x55, 4000)], 7)[..]
        );
        assert_eq!(
            deserialize_snapshot(&data).unwrap().sessions,
            vec![(0x55, 4000)]
        );
    }

    #[test]
    fn a_snap_whose_connection_went_or_whose_tree_was_replaced_is_dropped() {
        let tree = tree_of(CHUNK + 1);
        let mut snaps = LearnerSnaps::default();
        let (tx, rx) = oneshot::channel();
        snaps.begin(2, 7, &[], tx);
        drop(rx);
        snaps.step(&tree);
        assert!(!snaps.building());

        let (tx, mut rx) = oneshot::channel();
        snaps.begin(3, 7, &[], tx);
        snaps.step(&tree);
        snaps.abandon();
        assert!(!snaps.building());
        assert!(matches!(
            rx.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
    }
}

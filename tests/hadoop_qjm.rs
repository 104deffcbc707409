//! Our NameNode pair on three real Hadoop 3.3.6 JournalNodes: our `-format` formats them and
//! `-bootstrapStandby` reads them, our standby tails in-progress edits from their cache, the
//! active is killed -9 under a write load and the standby recovers the open segment on them and
//! takes over with every acknowledged edit, and Hadoop's own `oev` reads every finalized
//! segment they hold as one unbroken run of txids.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::cluster::{DEADLINE, wait_txid};
use common::cluster::{NameNodes, create_request, format_and_start, listing, mkdirs_request};
use common::hadoop::{JnSlot, oev_records};
use common::wait_until;
use hdfs_ha::zkfc::rpc::RequestSource;

/// The finalized segments (`edits_<first>-<last>`) in a real JournalNode's journal `ns1`.
fn finalized(slot: &JnSlot) -> Vec<PathBuf> {
    common::finalized_segments(&slot.dir.join("ns1"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_namenodes_fail_over_on_real_journalnodes_and_hadoop_reads_every_segment() {
    let root = tempfile::tempdir().unwrap();
    let mut slots: Vec<JnSlot> = (0..3).map(|i| JnSlot::new(root.path(), i)).collect();
    for slot in &mut slots {
        slot.start_real();
    }
    let addresses: Vec<String> = slots.iter().map(JnSlot::address).collect();
    let mut nns = NameNodes::configure_on(format!("qjournal://{}/ns1", addresses.join(";")), &[]);
    format_and_start(&mut nns);
    nns.transition(0, true, RequestSource::User).await.unwrap();
    nns.client(0)
        .await
        .attempt(1, 0)
        .mkdirs(&mkdirs_request("/load"))
        .await
        .unwrap();

    // Writers create files and remember which creates were acknowledged.
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for w in 0..4u8 {
        let (stop, acked) = (stop.clone(), acked.clone());
        let client = nns.client_as(0, 10 + w).await;
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let path = format!("/load/w{w}-{n}");
                match client.attempt(n, 0).create(&create_request(&path)).await {
                    Ok(_) => acked.lock().unwrap().push(path),
                    Err(_) => return,
                }
                n += 1;
            }
        }));
    }
    while acked.lock().unwrap().len() < 100 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The standby tails the open segment from the real JournalNodes while the load goes on.
    let written = nns.txid(0).await;
    wait_txid(&nns, 1, written).await;
    while acked.lock().unwrap().len() < 200 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    nns.kill9(0);
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    nns.transition(1, true, RequestSource::User).await.unwrap();
    let present = listing(&nns, 1, "/load").await;
    for path in &acked {
        let name = path.rsplit('/').next().unwrap();
        assert!(
            present.iter().any(|p| p == name),
            "acknowledged {path} is missing after failover"
        );
    }
    nns.client_as(1, 2)
        .await
        .attempt(1, 0)
        .mkdirs(&mkdirs_request("/after"))
        .await
        .unwrap();

    // The old active comes back as a standby and catches up; the new active steps down
    // gracefully, which finalizes its segment.
    nns.start(0);
    let last = nns.txid(1).await;
    wait_txid(&nns, 0, last).await;
    nns.transition(1, false, RequestSource::User).await.unwrap();

    for slot in &slots {
        // Finalizing waits for a majority: a JournalNode outside it may finish a moment later.
        let files = wait_until(
            &format!("two finalized segments in {}", slot.dir.display()),
            DEADLINE,
            || Some(finalized(slot)).filter(|files| files.len() >= 2),
        );
        let mut next = 1;
        let mut adds = Vec::new();
        let mut mkdirs = Vec::new();
        for file in &files {
            let records = oev_records(file).unwrap();
            assert_eq!(records[0].0, "OP_START_LOG_SEGMENT", "{}", file.display());
            assert_eq!(records[0].1, next, "{} starts after a gap", file.display());
            for (opcode, txid, path) in records {
                assert_eq!(txid, next, "{}", file.display());
                next += 1;
                match opcode.as_str() {
                    "OP_ADD" => adds.push(path),
                    "OP_MKDIR" => mkdirs.push(path),
                    _ => {}
                }
            }
        }
        // The last segment ends with the step-down's OP_END_LOG_SEGMENT, after `last`.
        assert!(
            next > last,
            "{}: {files:?} end before txid {last}",
            slot.dir.display()
        );
        for path in &acked {
            assert!(
                adds.contains(path),
                "{} lacks OP_ADD {path}",
                slot.dir.display()
            );
        }
        for path in ["/load", "/after"] {
            assert!(
                mkdirs.iter().any(|m| m == path),
                "{} lacks OP_MKDIR {path}",
                slot.dir.display()
            );
        }
    }
}

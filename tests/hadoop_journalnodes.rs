//! Mixed quorums under a real Hadoop 3.3.6 NameNode: real Hadoop JournalNodes and ours side by
//! side, all syncing with each other, ours killed and restarted during writes, brought back at
//! the next segment and given the segment it missed by JournalNode sync, and one
//! JournalNode directory taken over by ours from a real JournalNode and given back, with
//! nothing lost (the NameNode is killed -9 at the end and restarts with every change).

mod common;

use common::hadoop::{JnSlot, RealNameNode, oev_records};

fn ok(nn: &RealNameNode, args: &[&str]) {
    assert_eq!(nn.dfs(args).0, Some(0), "hdfs dfs {args:?}");
}

fn roll(nn: &RealNameNode) {
    assert_eq!(nn.dfsadmin(&["-rollEdits"]), Some(0));
}

#[test]
fn mixed_quorums_keep_every_edit_while_journalnodes_change_hands() {
    let root = tempfile::tempdir().unwrap();
    let mut slots: Vec<JnSlot> = (0..3).map(|i| JnSlot::new(root.path(), i)).collect();
    let addresses: Vec<String> = slots.iter().map(JnSlot::address).collect();
    let uri = format!("qjournal://{}/mixed", addresses.join(";"));
    // Every JournalNode, Hadoop's and ours, syncs with the others (JournalNodeSyncer).
    for slot in &mut slots {
        slot.sync_with(&uri, 300);
    }
    // Two real JournalNodes and one of ours.
    slots[0].start_real();
    slots[1].start_ours();
    slots[2].start_real();
    let nn = RealNameNode::configure(&uri);
    nn.format();
    let mut namenode = nn.start();
    ok(&nn, &["-mkdir", "-p", "/one/a"]);

    // Ours dies during writes: the other two carry on; restarted, it joins at the next segment.
    slots[1].stop();
    ok(&nn, &["-mkdir", "/two"]);
    slots[1].start_ours();
    roll(&nn);
    ok(&nn, &["-mkdir", "/three"]);

    // One real and two of ours: the real JournalNode's directory is taken over by ours...
    slots[0].start_ours();
    ok(&nn, &["-mkdir", "/four"]);
    roll(&nn);
    ok(&nn, &["-mkdir", "/five"]);
    roll(&nn);
    // ...and given back to a real one, which reads what ours wrote.
    slots[0].start_real();
    ok(&nn, &["-mkdir", "/six"]);
    roll(&nn);
    ok(&nn, &["-mkdir", "/seven"]);

    // Ours was killed inside the first segment; JournalNode sync fetches that segment, which
    // the real JournalNodes finalized meanwhile, from one of them.
    let deadline = std::time::Instant::now() + common::STARTUP_DEADLINE;
    while !common::finalized_segments(&slots[1].dir.join("mixed"))
        .iter()
        .any(|f| f.to_string_lossy().contains("edits_0000000000000000001-"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "ours never synced the first segment"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    namenode.kill9();
    let _namenode = nn.start();
    assert_eq!(
        nn.all_paths(),
        [
            "/five", "/four", "/one", "/one/a", "/seven", "/six", "/three", "/two"
        ],
    );

    // Every finalized segment in every directory is Hadoop's format, whoever wrote it, and
    // each JournalNode that came back took part again: ours after its restart (/three), ours
    // on the real one's directory (/five), the real one back on it after ours (/seven).
    let must_hold = [
        vec!["/one/a", "/five", "/seven"],
        // Killed inside the first segment, ours got it back by sync.
        vec!["/one/a", "/two", "/three", "/five", "/seven"],
        vec![
            "/one/a", "/two", "/three", "/four", "/five", "/six", "/seven",
        ],
    ];
    for (slot, wanted) in slots.iter().zip(must_hold) {
        let current = slot.dir.join("mixed").join("current");
        let finalized = common::finalized_segments(&slot.dir.join("mixed"));
        assert!(finalized.len() >= 2, "{}: {finalized:?}", current.display());
        let mut mkdirs = Vec::new();
        for file in finalized {
            let records = oev_records(&file).unwrap();
            assert_eq!(records[0].0, "OP_START_LOG_SEGMENT", "{}", file.display());
            mkdirs.extend(
                records
                    .into_iter()
                    .filter(|r| r.0 == "OP_MKDIR")
                    .map(|r| r.2),
            );
        }
        for path in wanted {
            assert!(
                mkdirs.iter().any(|m| m == path),
                "{} lacks OP_MKDIR {path}: {mkdirs:?}",
                current.display()
            );
        }
    }
}

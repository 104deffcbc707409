//! A real Hadoop 3.3.6 NameNode (from the jars `dev/hadoop-jars.sh` fetched) with its edits on
//! three of our JournalNodes, over Hadoop IPC with Hadoop's own QJournalProtocol: formatted,
//! written through the real FsShell, killed -9 and restarted (segment recovery on our
//! JournalNodes, then the edits read back over `/getJournal`), with every acknowledged change
//! kept; and the real `hdfs oev` reads every segment our JournalNodes stored.

mod common;

use std::path::Path;

use common::cluster::JournalNodes;
use common::hadoop::{RealNameNode, oev_records};

/// Every `edits_*` file under a JournalNode's journal directory.
fn segments(journal_dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(journal_dir.join("current"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("edits_") && !n.contains('.'))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_real_namenode_writes_recovers_and_reads_its_edits_on_our_journalnodes() {
    let jns = JournalNodes::start(false);
    let nn = RealNameNode::configure(&jns.qjournal_uri("realnn"));
    nn.format();
    let mut daemon = nn.start();
    for args in [
        &["-mkdir", "-p", "/user/a/b/c"][..],
        &["-mkdir", "/tmp"],
        &["-touchz", "/user/a/empty"],
        &["-mv", "/user/a/b", "/user/a/moved"],
        &["-rm", "-r", "-skipTrash", "/tmp"],
    ] {
        assert_eq!(nn.dfs(args).0, Some(0), "hdfs dfs {args:?}");
    }
    // Killed with its segment open: the restart recovers it on our JournalNodes, finalizes
    // it, and reads every edit back from them.
    daemon.kill9();
    let _daemon = nn.start();
    assert_eq!(
        nn.all_paths(),
        [
            "/user",
            "/user/a",
            "/user/a/empty",
            "/user/a/moved",
            "/user/a/moved/c"
        ],
    );

    // The real oev reads every segment on every one of our JournalNodes.
    for i in 0..3 {
        let files = segments(&jns.edits_dir(i).join("realnn"));
        assert!(!files.is_empty(), "journalnode {i} holds no segment");
        let mut ops = Vec::new();
        for file in &files {
            let records = oev_records(file).unwrap();
            // A segment recovered after the crash ends where the writer stopped, without
            // OP_END_LOG_SEGMENT, as Hadoop's recovery leaves it.
            assert_eq!(records[0].0, "OP_START_LOG_SEGMENT", "{}", file.display());
            ops.extend(records);
        }
        let txids: Vec<u64> = ops.iter().map(|r| r.1).collect();
        assert!(
            txids.windows(2).all(|w| w[1] == w[0] + 1) && txids[0] == 1,
            "journalnode {i}: txids {txids:?}"
        );
        let has = |op: &str, path: &str| ops.iter().any(|r| r.0 == op && r.2 == path);
        assert!(has("OP_MKDIR", "/user/a/b/c"), "{ops:?}");
        assert!(has("OP_ADD", "/user/a/empty") && has("OP_CLOSE", "/user/a/empty"));
        assert!(has("OP_RENAME_OLD", "/user/a/b"), "{ops:?}");
        assert!(has("OP_DELETE", "/tmp"), "{ops:?}");
    }
}

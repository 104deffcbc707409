//! Our NameNodes' edit log, read by the real Hadoop 3.3.6 `hdfs oev`: every segment our
//! JournalNodes and our NameNodes' name dirs hold — finalized by a failover, or left in
//! progress by a kill -9 — parses, starts with OP_START_LOG_SEGMENT, has consecutive txids,
//! and holds Hadoop's ops for what the clients did.

mod common;

use std::path::{Path, PathBuf};

use common::cluster::{JournalNodes, NameNodes, format_and_start};
use common::hadoop::{java, oev_records};

fn ok(nns: &NameNodes, args: &[&str]) {
    let out = nns.hdfs(args, "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "hdfs {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `edits_*` segment files below `dir` (a journal's or a name dir's `current/`).
fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("edits_") && !n.contains('.'))
    });
    files.sort();
    files
}

#[test]
fn the_real_oev_reads_every_segment_our_namenodes_wrote() {
    let jns = JournalNodes::start(false);
    let mut nns = NameNodes::configure(&jns, &[]);
    format_and_start(&mut nns);
    ok(&nns, &["haadmin", "-transitionToActive", "nn1"]);
    ok(&nns, &["dfs", "-mkdir", "-p", "/data/logs/2026"]);
    ok(&nns, &["dfs", "-touchz", "/data/empty"]);
    ok(&nns, &["dfs", "-mv", "/data/logs", "/data/old-logs"]);
    // A failover: nn1 ends its segment (OP_END_LOG_SEGMENT), nn2 opens the next one.
    ok(&nns, &["haadmin", "-transitionToStandby", "nn1"]);
    ok(&nns, &["haadmin", "-transitionToActive", "nn2"]);
    ok(&nns, &["dfs", "-mkdir", "/after"]);
    ok(&nns, &["dfs", "-rm", "-r", "/data/old-logs"]);
    // Killed with its segment open: oev must read an in-progress segment too.
    nns.kill9(1);

    let mut dirs: Vec<PathBuf> = (0..3)
        .map(|i| jns.edits_dir(i).join("ns1").join("current"))
        .collect();
    dirs.extend((0..2).map(|i| nns.name_dir(i).join("current")));
    let mut checked = 0;
    for dir in &dirs {
        let files = segment_files(dir);
        let mut ops = Vec::new();
        for file in &files {
            let records = oev_records(file).unwrap();
            assert_eq!(records[0].0, "OP_START_LOG_SEGMENT", "{}", file.display());
            let name = file.file_name().unwrap().to_str().unwrap();
            if !name.contains("inprogress") {
                assert_eq!(records.last().unwrap().0, "OP_END_LOG_SEGMENT", "{name}");
            }
            ops.extend(records);
            checked += 1;
        }
        if dir.starts_with(jns.edits_dir(0).parent().unwrap()) {
            // Every JournalNode holds the whole log.
            let txids: Vec<u64> = ops.iter().map(|r| r.1).collect();
            assert!(
                !txids.is_empty() && txids[0] == 1 && txids.windows(2).all(|w| w[1] == w[0] + 1),
                "{}: {txids:?}",
                dir.display()
            );
            let has = |op: &str, path: &str| ops.iter().any(|r| r.0 == op && r.2 == path);
            for (op, path) in [
                ("OP_MKDIR", "/data/logs/2026"),
                ("OP_ADD", "/data/empty"),
                ("OP_CLOSE", "/data/empty"),
                ("OP_RENAME_OLD", "/data/logs"),
                ("OP_MKDIR", "/after"),
                ("OP_DELETE", "/data/old-logs"),
            ] {
                assert!(
                    has(op, path),
                    "{}: no {op} {path} in {ops:?}",
                    dir.display()
                );
            }
        }
    }
    assert!(checked >= 6, "only {checked} segment files");

    // oev's statistics processor reads them too.
    let file = &segment_files(&dirs[0])[0];
    let out_dir = tempfile::tempdir().unwrap();
    let stats = out_dir.path().join("stats.txt");
    let run = java(
        out_dir.path(),
        "org.apache.hadoop.hdfs.tools.offlineEditsViewer.OfflineEditsViewer",
        &[
            "-i",
            &file.display().to_string(),
            "-o",
            &stats.display().to_string(),
            "-p",
            "stats",
        ],
    );
    assert!(run.status.success());
    let text = std::fs::read_to_string(&stats).unwrap();
    assert!(text.contains("OP_START_LOG_SEGMENT"), "{text}");
    assert!(text.contains("OP_MKDIR"), "{text}");
}

#[test]
fn the_oev_check_fails_on_a_corrupt_segment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("edits_inprogress_0000000000000000001");
    let mut bytes =
        std::fs::read(common::repo().join("tests/data/hadoop-3.3.6-edits.bin")).unwrap();
    assert!(oev_records(&file_with(&file, &bytes)).is_ok());
    // A flipped byte in the second op's body: its checksum no longer matches.
    bytes[8 + 17 + 20] ^= 0x40;
    assert!(oev_records(&file_with(&file, &bytes)).is_err());
}

fn file_with(path: &Path, bytes: &[u8]) -> PathBuf {
    std::fs::write(path, bytes).unwrap();
    path.to_path_buf()
}

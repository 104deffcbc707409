//! Our NameNodes' edit log, read by the real Hadoop 3.3.6 `hdfs oev`: every segment our
//! JournalNodes and our NameNodes' name dirs hold — finalized by a failover, or left in
//! progress by a kill -9 — parses as layout version -66, starts with OP_START_LOG_SEGMENT,
//! has consecutive txids within and across segments, and holds Hadoop's ops for what the
//! clients did; oev's statistics count the same ops, and oev turns its own XML of a segment
//! back into our bytes.

mod common;

use std::path::{Path, PathBuf};

use common::cluster::{DEADLINE, JournalNodes, NameNodes, format_and_start};
use common::hadoop::{OevRecord, edits_xml, oev, oev_bytes};
use common::wait_until;
use hdfs_ha::proto::hadoop_client as pb;

fn ok(nns: &NameNodes, args: &[&str]) {
    let out = nns.hdfs(args, "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "hdfs {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One `edits_*` file, as oev read it.
struct Segment {
    file: PathBuf,
    /// The first txid its name gives.
    start: u64,
    /// The last txid its name gives; `None` for `edits_inprogress_<start>`.
    end: Option<u64>,
    /// oev's XML of it.
    xml: String,
    records: Vec<OevRecord>,
}

/// Every `edits_*` file in `current` (a journal's or a name dir's), in txid order, each read by
/// the real oev (two at a time: a JVM's start is most of it); a file oev cannot read fails
/// the test with oev's words.
fn segments(current: &Path) -> Vec<Segment> {
    let mut named: Vec<(PathBuf, u64, Option<u64>)> = std::fs::read_dir(current)
        .unwrap_or_else(|e| panic!("{}: {e}", current.display()))
        .map(|e| e.unwrap().path())
        .filter_map(|file| {
            let name = file.file_name()?.to_str()?.to_string();
            let txids = name.strip_prefix("edits_")?;
            let (start, end) = match txids.strip_prefix("inprogress_") {
                Some(start) => (start, None),
                None => txids
                    .split_once('-')
                    .map_or((txids, Some("")), |(s, e)| (s, Some(e))),
            };
            let txid = |t: &str| -> u64 {
                t.parse()
                    .unwrap_or_else(|_| panic!("{}: not a segment's name", file.display()))
            };
            let (start, end) = (txid(start), end.map(txid));
            Some((file, start, end))
        })
        .collect();
    named.sort_by_key(|(_, start, _)| *start);
    let mut segments = Vec::new();
    for pair in named.chunks(2) {
        std::thread::scope(|scope| {
            let runs: Vec<_> = pair
                .iter()
                .map(|(file, _, _)| scope.spawn(move || oev(file, "xml")))
                .collect();
            for ((file, start, end), run) in pair.iter().zip(runs) {
                let xml = run.join().unwrap().unwrap_or_else(|e| panic!("{e}"));
                let edits = edits_xml(&xml).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                assert_eq!(edits.version, -66, "{}: EDITS_VERSION", file.display());
                segments.push(Segment {
                    file: file.clone(),
                    start: *start,
                    end: *end,
                    xml,
                    records: edits.records,
                });
            }
        });
    }
    segments
}

/// Hadoop's rules for one directory's segments: each starts with OP_START_LOG_SEGMENT at the
/// txid its name gives, has consecutive txids, and, when finalized, ends with
/// OP_END_LOG_SEGMENT at the txid its name gives; only the last may be in progress, and each
/// starts right after the one before. Returns the ops in txid order.
fn check_segments(segments: &[Segment]) -> Vec<OevRecord> {
    let mut ops: Vec<OevRecord> = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        let file = segment.file.display();
        let records = &segment.records;
        assert!(!records.is_empty(), "{file}: no ops");
        assert_eq!(records[0].opcode, "OP_START_LOG_SEGMENT", "{file}");
        assert_eq!(records[0].txid, segment.start, "{file}: first txid");
        let txids: Vec<u64> = records.iter().map(|r| r.txid).collect();
        assert!(
            txids.windows(2).all(|w| w[1] == w[0] + 1),
            "{file}: txids {txids:?}"
        );
        let ends: Vec<usize> = (0..records.len())
            .filter(|&k| records[k].opcode == "OP_END_LOG_SEGMENT")
            .collect();
        match segment.end {
            Some(end) => {
                assert_eq!(ends, [records.len() - 1], "{file}: OP_END_LOG_SEGMENT");
                assert_eq!(records.last().unwrap().txid, end, "{file}: last txid");
            }
            None => {
                assert!(ends.is_empty(), "{file}: OP_END_LOG_SEGMENT in progress");
                assert_eq!(i, segments.len() - 1, "{file}: in progress, not last");
            }
        }
        if let Some(last) = ops.last() {
            assert_eq!(
                segment.start,
                last.txid + 1,
                "{file} does not follow the segment before it"
            );
        }
        ops.extend(records.iter().cloned());
    }
    ops
}

#[test]
fn the_real_oev_reads_every_segment_our_namenodes_wrote() {
    let jns = JournalNodes::start(false);
    let mut nns = NameNodes::configure(&jns, &[]);
    format_and_start(&mut nns);
    ok(&nns, &["haadmin", "-transitionToActive", "nn1"]);
    ok(&nns, &["dfs", "-mkdir", "-p", "/data/logs/2026"]);
    ok(&nns, &["dfs", "-touchz", "/data/empty"]);
    let local = tempfile::tempdir().unwrap();
    let report = local.path().join("report.csv");
    // Empty: this NameNode keeps no blocks, so only an empty file can be written.
    std::fs::write(&report, "").unwrap();
    // -d: straight to the file, as Hadoop's FsShell does without its `._COPYING_` file.
    let report = report.display().to_string();
    ok(&nns, &["dfs", "-put", "-d", &report, "/data/report.csv"]);
    ok(&nns, &["dfs", "-mv", "/data/logs", "/data/old-logs"]);
    // The attribute calls and rename2 have no `hdfs dfs` command of ours: call them.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = nns.client(0).await;
        let path = |p: &str| p.to_string();
        client
            .attempt(100, 0)
            .set_permission(&pb::SetPermissionRequestProto {
                src: path("/data/empty"),
                permission: pb::FsPermissionProto { perm: 0o1600 },
            })
            .await
            .unwrap();
        client
            .attempt(101, 0)
            .set_owner(&pb::SetOwnerRequestProto {
                src: path("/data/empty"),
                username: Some(path("alice")),
                groupname: None,
            })
            .await
            .unwrap();
        client
            .attempt(102, 0)
            .set_times(&pb::SetTimesRequestProto {
                src: path("/data/empty"),
                mtime: 1_700_000_000_000,
                atime: u64::MAX,
            })
            .await
            .unwrap();
        let set = client
            .attempt(103, 0)
            .set_replication(&pb::SetReplicationRequestProto {
                src: path("/data/report.csv"),
                replication: 2,
            })
            .await
            .unwrap();
        assert!(set.result);
        client
            .attempt(104, 0)
            .rename2(&pb::Rename2RequestProto {
                src: path("/data/report.csv"),
                dst: path("/data/empty"),
                overwrite_dest: true,
                move_to_trash: None,
            })
            .await
            .unwrap();
    });
    // A failover: nn1 ends its segment (OP_END_LOG_SEGMENT), nn2 opens the next one.
    ok(&nns, &["haadmin", "-transitionToStandby", "nn1"]);
    ok(&nns, &["haadmin", "-transitionToActive", "nn2"]);
    ok(&nns, &["dfs", "-mkdir", "/after"]);
    ok(&nns, &["dfs", "-rm", "-r", "/data/old-logs"]);

    // A write is acknowledged by a majority; before the kill, let the third JournalNode and
    // nn2's local copy catch up, so each holds the whole in-progress segment.
    let journals: Vec<PathBuf> = (0..3)
        .map(|i| jns.edits_dir(i).join("ns1").join("current"))
        .collect();
    let name_dirs: Vec<PathBuf> = (0..2).map(|i| nns.name_dir(i).join("current")).collect();
    let in_progress = |dir: &Path| -> Option<Vec<u8>> {
        let file = std::fs::read_dir(dir).ok()?.find_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_str()?;
            name.starts_with("edits_inprogress_").then_some(path)
        })?;
        let mut bytes = std::fs::read(file).ok()?;
        // A JournalNode preallocates its open segment with OP_INVALID; the copies agree on
        // their edits (and a run of 0xFF they all end with is cut alike).
        let edits = bytes.iter().rposition(|&b| b != 0xFF).map_or(0, |i| i + 1);
        bytes.truncate(edits);
        Some(bytes)
    };
    wait_until(
        "every copy of nn2's in-progress segment to hold the same bytes",
        DEADLINE,
        || {
            let copies: Vec<Vec<u8>> = journals
                .iter()
                .chain([&name_dirs[1]])
                .map(|dir| in_progress(dir))
                .collect::<Option<_>>()?;
            copies.windows(2).all(|w| w[0] == w[1]).then_some(())
        },
    );
    // Killed with its segment open: oev must read an in-progress segment too.
    nns.kill9(1);

    let journal_segments: Vec<Vec<Segment>> = journals.iter().map(|j| segments(j)).collect();
    let mut files = 0;
    let mut logs: Vec<Vec<OevRecord>> = Vec::new();
    for (journal, segments) in journals.iter().zip(&journal_segments) {
        assert!(
            segments.len() >= 2 && segments[0].start == 1,
            "{}: segments {:?}",
            journal.display(),
            segments.iter().map(|s| &s.file).collect::<Vec<_>>()
        );
        assert!(
            segments.last().unwrap().end.is_none(),
            "{}: no segment in progress",
            journal.display()
        );
        files += segments.len();
        logs.push(check_segments(segments));
    }
    // Every JournalNode holds the whole log: the same ops.
    assert!(
        logs.windows(2).all(|w| w[0] == w[1]),
        "the JournalNodes' logs differ: {logs:#?}"
    );
    let log = &logs[0];
    let ops: Vec<(&str, &str, &str)> = log
        .iter()
        .map(|r| (r.opcode.as_str(), r.path.as_str(), r.dst.as_str()))
        .collect();
    assert_eq!(
        ops,
        [
            ("OP_START_LOG_SEGMENT", "", ""),
            ("OP_MKDIR", "/data", ""),
            ("OP_MKDIR", "/data/logs", ""),
            ("OP_MKDIR", "/data/logs/2026", ""),
            ("OP_ADD", "/data/empty", ""),
            ("OP_CLOSE", "/data/empty", ""),
            ("OP_ADD", "/data/report.csv", ""),
            ("OP_CLOSE", "/data/report.csv", ""),
            ("OP_RENAME_OLD", "/data/logs", "/data/old-logs"),
            ("OP_SET_PERMISSIONS", "/data/empty", ""),
            ("OP_SET_OWNER", "/data/empty", ""),
            ("OP_TIMES", "/data/empty", ""),
            ("OP_SET_REPLICATION", "/data/report.csv", ""),
            ("OP_RENAME", "/data/report.csv", "/data/empty"),
            // The failover: nn1 ends its segment, nn2 starts the next.
            ("OP_END_LOG_SEGMENT", "", ""),
            ("OP_START_LOG_SEGMENT", "", ""),
            ("OP_MKDIR", "/after", ""),
            ("OP_DELETE", "/data/old-logs", ""),
        ],
        "{log:#?}"
    );

    // The name dirs: nn1's copy of the segment it wrote, nn2's of the one it was writing;
    // together, the journal's log.
    let mut local = Vec::new();
    for dir in &name_dirs {
        let segments = segments(dir);
        assert!(!segments.is_empty(), "{}: no segment", dir.display());
        files += segments.len();
        local.extend(check_segments(&segments));
    }
    assert_eq!(&local, log, "the name dirs' copies differ from the journal");
    assert!(files >= 8, "only {files} segment files");

    // oev's statistics count the ops its XML shows.
    let finalized = &journal_segments[0][0];
    let stats = oev(&finalized.file, "stats").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        stats
            .lines()
            .any(|l| l.split_whitespace().eq(["VERSION", ":", "-66"])),
        "{stats}"
    );
    let counted = |opcode: &str| -> usize {
        let line = stats
            .lines()
            .find(|l| l.split_whitespace().next() == Some(opcode))
            .unwrap_or_else(|| panic!("no {opcode} in oev's stats:\n{stats}"));
        line.rsplit(':').next().unwrap().trim().parse().unwrap()
    };
    for opcode in [
        "OP_START_LOG_SEGMENT",
        "OP_MKDIR",
        "OP_ADD",
        "OP_CLOSE",
        "OP_APPEND",
        "OP_RENAME_OLD",
        "OP_DELETE",
        "OP_END_LOG_SEGMENT",
        "OP_RENAME",
        "OP_SET_PERMISSIONS",
        "OP_SET_OWNER",
        "OP_TIMES",
        "OP_SET_REPLICATION",
    ] {
        let shown = finalized
            .records
            .iter()
            .filter(|r| r.opcode == opcode)
            .count();
        assert_eq!(counted(opcode), shown, "{opcode} in oev's stats:\n{stats}");
    }

    // Hadoop writes the ops oev showed as the bytes we wrote: for a finalized segment all of
    // them, for one in progress all but the OP_INVALID padding after the ops.
    let work = tempfile::tempdir().unwrap();
    for segment in &journal_segments[0] {
        let xml = work.path().join("segment.xml");
        std::fs::write(&xml, &segment.xml).unwrap();
        let hadoop = oev_bytes(&xml, "binary").unwrap_or_else(|e| panic!("{e}"));
        let ours = std::fs::read(&segment.file).unwrap();
        let file = segment.file.display();
        let differ = ours.iter().zip(&hadoop).position(|(a, b)| a != b);
        assert!(
            differ.is_none() && ours.len() >= hadoop.len(),
            "{file}: Hadoop writes its ops differently from byte {differ:?} \
             (ours {} bytes, Hadoop's {})",
            ours.len(),
            hadoop.len()
        );
        let after = &ours[hadoop.len()..];
        match segment.end {
            Some(_) => assert!(
                after.is_empty(),
                "{file}: {} bytes after the ops",
                after.len()
            ),
            None => assert!(
                after.iter().all(|&b| b == 0xff),
                "{file}: bytes other than OP_INVALID padding after the ops"
            ),
        }
    }
}

#[test]
fn the_real_oev_writes_the_fixture_segment_from_its_xml() {
    // The harness itself: Hadoop's own XML of Hadoop's own segment, turned back into bytes.
    let xml = common::repo().join("tests/data/hadoop-3.3.6-edits.xml");
    let bin = common::repo().join("tests/data/hadoop-3.3.6-edits.bin");
    let written = oev_bytes(&xml, "binary").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        written == std::fs::read(bin).unwrap(),
        "oev -p binary wrote other bytes"
    );
}

#[test]
fn the_oev_check_fails_on_a_corrupt_segment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("edits_inprogress_0000000000000000001");
    let fixture = common::repo().join("tests/data/hadoop-3.3.6-edits.bin");
    let mut bytes = std::fs::read(&fixture).unwrap();
    std::fs::write(&file, &bytes).unwrap();
    let edits = edits_xml(&oev(&file, "xml").unwrap()).unwrap();
    assert_eq!(edits.version, -66);
    assert_eq!(edits.records.len(), 9);
    assert_eq!(
        edits.records[5],
        OevRecord {
            opcode: "OP_RENAME_OLD".into(),
            txid: 6,
            path: "/f".into(),
            dst: "/g".into(),
        }
    );

    // A flipped byte in the second op's body: its checksum no longer matches.
    bytes[8 + 17 + 20] ^= 0x40;
    std::fs::write(&file, &bytes).unwrap();
    let err = oev(&file, "xml").unwrap_err();
    assert!(err.contains("Transaction is corrupt."), "{err}");
    assert!(err.contains("OP_START_LOG_SEGMENT txid 1"), "{err}");
    let err = oev(&file, "stats").unwrap_err();
    assert!(err.contains("Transaction is corrupt."), "{err}");
    // The header of the format this project wrote before it spoke Hadoop's.
    std::fs::write(&file, b"HAEDITS\0\0\0\0\x01").unwrap();
    let err = oev(&file, "xml").unwrap_err();
    assert!(
        err.contains("Unexpected version of the file system log file"),
        "{err}"
    );
}

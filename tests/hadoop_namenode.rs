//! A real Hadoop 3.3.6 NameNode (from the jars `dev/hadoop-jars.sh` fetched) with its edits on
//! three of our JournalNodes, over Hadoop IPC with Hadoop's own QJournalProtocol: formatted,
//! written through the real FsShell, killed -9 and restarted (segment recovery on our
//! JournalNodes, then the edits read back over `/getJournal`), with every acknowledged change
//! kept; and the real `hdfs oev` reads every segment our JournalNodes stored. And a real
//! NameNode bootstraps as the standby of ours: Hadoop's `-bootstrapStandby` asks our NameNode
//! NamenodeProtocol over IPC, checks the shared edits on our JournalNodes, and downloads our
//! fsimage from `/imagetransfer` with its length and MD5 checked. The other way round, our
//! `-bootstrapStandby` asks a real NameNode the same calls and downloads its image, and says
//! clearly that it cannot load Hadoop's protobuf fsimage.

mod common;

use std::path::Path;

use common::cluster::{JournalNodes, NameNodes, mkdirs_request};
use common::hadoop::{RealNameNode, oev_records, real_namenode_cmd, start_real_nn};
use hdfs_ha::zkfc::rpc::RequestSource;

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

/// The `key=value` lines of a name dir's `current/VERSION`, without the date comment.
fn version_file(name_dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(name_dir.join("current").join("VERSION")).unwrap();
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_namenode_bootstraps_as_the_standby_of_ours() {
    let jns = JournalNodes::start(false);
    let scratch = tempfile::tempdir().unwrap();
    let tmp = scratch.path().display().to_string();
    let mut nns = NameNodes::configure(&jns, &[("hadoop.tmp.dir", &tmp)]);
    let out = nns.namenode_cmd(0, &["-format", "-nonInteractive"], "");
    assert_eq!(out.status.code(), Some(0), "format: {out:?}");
    nns.start(0);
    nns.transition(0, true, RequestSource::User).await.unwrap();
    let client = nns.client(0).await;
    for (i, dir) in ["/a", "/a/b", "/c"].iter().enumerate() {
        client
            .attempt(i as i32, 0)
            .mkdirs(&mkdirs_request(dir))
            .await
            .unwrap();
    }

    // Hadoop's BootstrapStandby, as `hdfs namenode -bootstrapStandby` runs it for nn2.
    let out = real_namenode_cmd(&nns, 1, &["-bootstrapStandby", "-force", "-nonInteractive"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "real bootstrapStandby: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("About to bootstrap Standby ID nn2 from:")
            && stdout.contains("Other Namenode ID: nn1")
            && stdout.contains("isUpgradeFinalized: true"),
        "{stdout}"
    );
    // The same namespace, and our image byte for byte beside the MD5 Hadoop wrote for it.
    let (ours, theirs) = (nns.name_dir(0), nns.name_dir(1));
    let identity = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .filter(|l| {
                [
                    "namespaceID=",
                    "clusterID=",
                    "blockpoolID=",
                    "layoutVersion=",
                ]
                .iter()
                .any(|k| l.starts_with(k))
            })
            .collect()
    };
    assert_eq!(
        identity(version_file(&theirs)),
        identity(version_file(&ours))
    );
    let image = "fsimage_0000000000000000000";
    let downloaded = std::fs::read(theirs.join("current").join(image)).unwrap();
    assert_eq!(
        downloaded,
        std::fs::read(ours.join("current").join(image)).unwrap()
    );
    let md5 = std::fs::read_to_string(theirs.join("current").join(format!("{image}.md5"))).unwrap();
    assert!(
        md5.starts_with(&hdfs_ha::namenode::peer::md5_hex(&downloaded)),
        "{md5}"
    );
    assert_eq!(
        std::fs::read_to_string(theirs.join("current").join("seen_txid"))
            .unwrap()
            .trim(),
        "0"
    );
}

#[test]
fn our_bootstrap_from_a_real_namenode_fetches_its_image_and_says_it_cannot_load_it() {
    let jns = JournalNodes::start(false);
    let scratch = tempfile::tempdir().unwrap();
    let tmp = scratch.path().display().to_string();
    let mut nns = NameNodes::configure(&jns, &[("hadoop.tmp.dir", &tmp)]);
    let out = real_namenode_cmd(&nns, 0, &["-format", "-force", "-nonInteractive"]);
    assert!(
        out.status.success(),
        "real format: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    start_real_nn(&mut nns, 0);

    // NamenodeProtocol and /imagetransfer against Hadoop's own servers: the banner names the
    // real namespace, and the image arrives (length and MD5 checked) before it is refused.
    let out = nns.namenode_cmd(1, &["-bootstrapStandby", "-nonInteractive"], "");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let real_version = version_file(&nns.name_dir(0));
    let namespace_id = real_version
        .iter()
        .find_map(|l| l.strip_prefix("namespaceID="))
        .unwrap();
    assert!(
        stdout.contains("About to bootstrap Standby ID nn2 from:")
            && stdout.contains(&format!("Namespace ID: {namespace_id}"))
            && stdout.contains("Layout version: -66"),
        "{stdout}"
    );
    assert!(
        stderr.contains("fsimage_0000000000000000000 from http://")
            && stderr.contains(
                "it is a Hadoop protobuf fsimage (HDFSIMG1), which this NameNode cannot load"
            ),
        "{stderr}"
    );
}

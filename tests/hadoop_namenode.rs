//! A real Hadoop 3.3.6 NameNode (from the jars `dev/hadoop-jars.sh` fetched) with its edits on
//! three of our JournalNodes, over Hadoop IPC with Hadoop's own QJournalProtocol: formatted,
//! written through the real FsShell, killed -9 and restarted (segment recovery on our
//! JournalNodes, then the edits read back over `/getJournal`), with every acknowledged change
//! kept; and the real `hdfs oev` reads every segment our JournalNodes stored. And a real
//! NameNode bootstraps as the standby of ours: Hadoop's `-bootstrapStandby` asks our NameNode
//! NamenodeProtocol over IPC, checks the shared edits on our JournalNodes, and downloads our
//! checkpoint from `/imagetransfer` with its length and MD5 checked; the real `oiv` reads it,
//! and the real NameNode loads it, tails the edits after it and takes over. The other way
//! round, our `-bootstrapStandby` downloads a real NameNode's saved namespace, and our
//! NameNode loads it, tails the real one's edits and takes over.

mod common;

use std::path::Path;

use common::cluster::{
    DEADLINE, JournalNodes, NameNodes, create_request, format_and_start, mkdirs_request,
};
use common::hadoop::{
    FSSHELL, RealNameNode, java, oev_records, oiv_xml, real_namenode_cmd, real_pair_props,
    start_real_nn,
};
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

/// A pair's conf dir with what Hadoop's own clients need beside ours: the failover proxy,
/// scratch space, and `fs.defaultFS` in core-site.xml (FsShell reads it only there).
fn mixed_pair(jns: &JournalNodes, scratch: &Path, extra: &[(&str, &str)]) -> NameNodes {
    let props = real_pair_props(scratch);
    let mut all: Vec<(&str, &str)> = props
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.extend_from_slice(extra);
    let nns = NameNodes::configure(jns, &all);
    std::fs::write(
        nns.conf_dir.path().join("core-site.xml"),
        hdfs_ha::conf::site_xml(&[("fs.defaultFS", "hdfs://ns1")]),
    )
    .unwrap();
    nns
}

/// The name of the newest `fsimage_<txid>` in a name dir.
fn newest_image(name_dir: &Path) -> String {
    let mut images: Vec<String> = std::fs::read_dir(name_dir.join("current"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("fsimage_") && !n.contains('.'))
        .collect();
    images.sort();
    images.pop().unwrap()
}

/// The real FsShell on the pair's conf dir: its stdout, after checking it exited 0.
fn fs_shell(nns: &NameNodes, args: &[&str]) -> String {
    let out = java(nns.conf_dir.path(), FSSHELL, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "hdfs dfs {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `-ls -R /` as `(mode, owner, group, path)` per line.
fn listing_of(nns: &NameNodes) -> Vec<(String, String, String, String)> {
    fs_shell(nns, &["-ls", "-R", "/"])
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 8).then(|| {
                let s = |i: usize| f[i].to_string();
                (s(0), s(2), s(3), f[7..].join(" "))
            })
        })
        .collect()
}

/// nn1 is killed and nn2 made active; what the real FsShell then lists.
async fn nn2_takes_over(nns: &mut NameNodes) -> Vec<(String, String, String, String)> {
    nns.kill9(0);
    nns.transition(1, true, RequestSource::User).await.unwrap();
    listing_of(nns)
}

/// The line of `path` in a listing.
fn entry<'a>(
    listed: &'a [(String, String, String, String)],
    path: &str,
) -> &'a (String, String, String, String) {
    listed
        .iter()
        .find(|l| l.3 == path)
        .unwrap_or_else(|| panic!("{path} not in {listed:?}"))
}

fn permission_request(
    src: &str,
    perm: u32,
) -> hdfs_ha::proto::hadoop_client::SetPermissionRequestProto {
    hdfs_ha::proto::hadoop_client::SetPermissionRequestProto {
        src: src.into(),
        permission: hdfs_ha::proto::hadoop_client::FsPermissionProto { perm },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_namenode_bootstraps_from_ours_loads_our_image_and_takes_over() {
    let jns = JournalNodes::start(false);
    let scratch = tempfile::tempdir().unwrap();
    // A standby (ours, then the real one) checkpoints whenever it has tailed a new edit, and
    // looks every second; no segment rolls meanwhile.
    let mut nns = mixed_pair(
        &jns,
        scratch.path(),
        &[
            ("dfs.namenode.checkpoint.txns", "1"),
            ("dfs.namenode.checkpoint.check.period", "1"),
            (
                "dfs.namenode.edit.log.autoroll.multiplier.threshold",
                "1000",
            ),
        ],
    );
    format_and_start(&mut nns);
    nns.transition(0, true, RequestSource::User).await.unwrap();
    let client = nns.client(0).await;
    let mut call = 0;
    let mut next = || {
        call += 1;
        call
    };
    for dir in ["/a/b", "/c"] {
        client
            .attempt(next(), 0)
            .mkdirs(&mkdirs_request(dir))
            .await
            .unwrap();
    }
    for file in ["/a/b/f", "/a/ü"] {
        client
            .attempt(next(), 0)
            .create(&create_request(file))
            .await
            .unwrap();
    }
    client
        .attempt(next(), 0)
        .set_permission(&permission_request("/c", 0o1777))
        .await
        .unwrap();
    client
        .attempt(next(), 0)
        .set_owner(&hdfs_ha::proto::hadoop_client::SetOwnerRequestProto {
            src: "/a/b/f".into(),
            username: Some("alice".into()),
            groupname: Some("staff".into()),
        })
        .await
        .unwrap();
    // The standby checkpoints what it has tailed (edits it knows are committed: the last
    // one only once another follows) and uploads each image to the active.
    let written = nns.txid(0).await;
    client
        .attempt(next(), 0)
        .mkdirs(&mkdirs_request("/after"))
        .await
        .unwrap();
    let nn1 = nns.nodes[0].as_ref().unwrap();
    let checkpoint = |line: &String| -> Option<u64> {
        line.split("Accepted checkpoint fsimage_")
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    common::wait_until("a checkpoint of every edit above", DEADLINE, || {
        nn1.log_lines()
            .iter()
            .filter_map(checkpoint)
            .find(|t| *t >= written)
    });
    // No more checkpoints; an edit after them, which the real NameNode must tail.
    nns.kill9(1);
    client
        .attempt(next(), 0)
        .mkdirs(&mkdirs_request("/later"))
        .await
        .unwrap();

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
    let image = newest_image(&nns.name_dir(1));
    let txid: u64 = image.trim_start_matches("fsimage_").parse().unwrap();
    assert!(txid >= written, "{image}");
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
    let downloaded = std::fs::read(theirs.join("current").join(&image)).unwrap();
    assert_eq!(
        downloaded,
        std::fs::read(ours.join("current").join(&image)).unwrap()
    );
    let md5 = std::fs::read_to_string(theirs.join("current").join(format!("{image}.md5"))).unwrap();
    assert_eq!(
        md5,
        std::fs::read_to_string(ours.join("current").join(format!("{image}.md5"))).unwrap()
    );
    assert!(
        md5.starts_with(&hdfs_ha::namenode::fsimage::md5_hex(&downloaded)),
        "{md5}"
    );

    // Hadoop's offline image viewer reads it whole.
    let xml = oiv_xml(&theirs.join("current").join(&image)).unwrap();
    for needle in [
        "<name>f</name>",
        "<name>ü</name>",
        "<permission>alice:staff:0644</permission>",
        ":1777</permission>",
        "<layoutVersion>-66</layoutVersion>",
    ] {
        assert!(xml.contains(needle), "{needle} not in {xml}");
    }

    // The real NameNode loads it and tails the rest from our JournalNodes; as our standby,
    // it checkpoints what it tailed and uploads the image (Hadoop's own) to our active.
    start_real_nn(&mut nns, 1);
    nns.nodes[1]
        .as_ref()
        .unwrap()
        .wait_for_line(&format!("Loaded image for txid {txid} from"), DEADLINE);
    client
        .attempt(next(), 0)
        .mkdirs(&mkdirs_request("/last"))
        .await
        .unwrap();
    let nn1 = nns.nodes[0].as_ref().unwrap();
    common::wait_until("a checkpoint from the real standby", DEADLINE, || {
        nn1.log_lines()
            .iter()
            .filter_map(checkpoint)
            .find(|t| *t > txid)
    });
    // It takes over.
    let listed = nn2_takes_over(&mut nns).await;
    let find = |path: &str| entry(&listed, path);
    assert_eq!(find("/a/b/f").1, "alice");
    assert_eq!(find("/a/b/f").2, "staff");
    assert_eq!(find("/c").0, "drwxrwxrwt");
    find("/a/ü");
    find("/after");
    find("/later");
    find("/last");
    assert_eq!(listed.len(), 8, "{listed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_namenode_bootstraps_from_a_real_one_loads_its_image_and_takes_over() {
    let jns = JournalNodes::start(false);
    let scratch = tempfile::tempdir().unwrap();
    let mut nns = mixed_pair(&jns, scratch.path(), &[]);
    let out = real_namenode_cmd(&nns, 0, &["-format", "-force", "-nonInteractive"]);
    assert!(
        out.status.success(),
        "real format: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    start_real_nn(&mut nns, 0);
    nns.transition(0, true, RequestSource::User).await.unwrap();
    fs_shell(&nns, &["-mkdir", "-p", "/user/alice/data", "/tmp"]);
    fs_shell(&nns, &["-touchz", "/user/alice/data/f1", "/a-ü"]);
    fs_shell(&nns, &["-chmod", "1777", "/tmp"]);
    fs_shell(&nns, &["-chown", "alice:staff", "/user/alice"]);
    fs_shell(&nns, &["-setrep", "3", "/user/alice/data/f1"]);
    // Hadoop's saveNamespace on the real active: an image of all the above.
    let nn1 = format!("hdfs://{}", nns.rpc[0]);
    for args in [
        &["-fs", &nn1, "-safemode", "enter"][..],
        &["-fs", &nn1, "-saveNamespace"],
        &["-fs", &nn1, "-safemode", "leave"],
    ] {
        let out = java(
            nns.conf_dir.path(),
            "org.apache.hadoop.hdfs.tools.DFSAdmin",
            args,
        );
        assert!(out.status.success(), "dfsadmin {args:?}: {out:?}");
    }
    let saved = newest_image(&nns.name_dir(0));
    assert_ne!(saved, "fsimage_0000000000000000000");
    // Edits after the image, which our NameNode must tail.
    fs_shell(&nns, &["-mkdir", "/after"]);

    let out = nns.namenode_cmd(1, &["-bootstrapStandby", "-nonInteractive"], "");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
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
    // Hadoop's image stored as it came, with an .md5 as Hadoop's own.
    let (theirs, ours) = (
        nns.name_dir(0).join("current"),
        nns.name_dir(1).join("current"),
    );
    assert_eq!(
        std::fs::read(ours.join(&saved)).unwrap(),
        std::fs::read(theirs.join(&saved)).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(ours.join(format!("{saved}.md5"))).unwrap(),
        std::fs::read_to_string(theirs.join(format!("{saved}.md5"))).unwrap()
    );

    // Our NameNode loads it, tails the real one's edits after it, and takes over.
    nns.start(1);
    let txid = saved.trim_start_matches("fsimage_").trim_start_matches('0');
    nns.nodes[1]
        .as_ref()
        .unwrap()
        .wait_for_line(&format!("Loaded image for txid {txid} from"), DEADLINE);
    let listed = nn2_takes_over(&mut nns).await;
    let find = |path: &str| entry(&listed, path);
    assert_eq!(
        (
            find("/user/alice").1.as_str(),
            find("/user/alice").2.as_str()
        ),
        ("alice", "staff")
    );
    assert_eq!(find("/tmp").0, "drwxrwxrwt");
    find("/a-ü");
    find("/after");
    let client = nns.client(1).await;
    let f1 = client
        .get_file_info(&hdfs_ha::proto::hadoop_client::GetFileInfoRequestProto {
            src: "/user/alice/data/f1".into(),
        })
        .await
        .unwrap()
        .fs
        .unwrap();
    assert_eq!(f1.block_replication(), 3);
    // The inode ids are Hadoop's: the root's, and the file's from the image.
    assert!(f1.file_id() > 16385, "{f1:?}");
    assert_eq!(listed.len(), 7, "{listed:?}");
}

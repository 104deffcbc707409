//! `hdfs zkfc` startup checks and `-formatZK`, against a real ZooKeeper: Hadoop's exit codes
//! and messages (TestZKFailoverController: testFormatZK, testNoZK,
//! testWontRunWhenAutoFailoverDisabled, testFencingMustBeConfigured,
//! testFormatOneClusterLeavesOtherClustersAlone, testFormatSetsAcls).

mod common;

use common::zkfc::{DummyCluster, outcome, run_hdfs, write_site};
use common::zookeeper::ZkServerKind;

const ZKFC_NN1: [&str; 3] = ["zkfc", "-D", "dfs.ha.namenode.id=nn1"];

fn zkfc(cluster: &DummyCluster, args: &[&str], input: &str) -> (Option<i32>, String, String) {
    let mut all: Vec<&str> = ZKFC_NN1.to_vec();
    all.extend_from_slice(args);
    outcome(&cluster.hdfs(&all, input))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn format_zk_exit_codes_and_prompt() {
    for kind in ZkServerKind::all() {
        let cluster = DummyCluster::new(kind, 2, &[]);
        // Not formatted: exit 3.
        let (code, _, err) = zkfc(&cluster, &[], "");
        assert_eq!(code, Some(3), "{err}");
        assert!(
            err.contains("Unable to start failover controller. Parent znode does not exist.\nRun with -formatZK flag to initialize ZooKeeper."),
            "{err}"
        );
        assert_eq!(zkfc(&cluster, &["-formatZK"], "").0, Some(0));
        // Exists: refused without -force when not interactive.
        assert_eq!(
            zkfc(&cluster, &["-formatZK", "-nonInteractive"], "").0,
            Some(2)
        );
        assert_eq!(zkfc(&cluster, &["-formatZK", "-force"], "").0, Some(0));
        assert_eq!(
            zkfc(&cluster, &["-formatZK", "-force", "-nonInteractive"], "").0,
            Some(0)
        );
        // Interactive: the prompt on stderr; "n" denies, "y" formats.
        let (code, _, err) = zkfc(&cluster, &["-formatZK"], "n\n");
        assert_eq!(code, Some(2));
        assert!(
            err.contains(
                "===============================================\nThe configured parent znode /hadoop-ha/ns1 already exists.\nAre you sure you want to clear all failover information from\nZooKeeper?\nWARNING: Before proceeding, ensure that all HDFS services and\nfailover controllers are stopped!\n===============================================\nProceed formatting /hadoop-ha/ns1? (Y or N) "
            ),
            "{err}"
        );
        let (code, _, err) = zkfc(&cluster, &["-formatZK"], "maybe\nyes\n");
        assert_eq!(code, Some(0), "{err}");
        assert!(err.contains("Invalid input: maybe"), "{err}");
        assert!(
            err.contains("Successfully deleted /hadoop-ha/ns1 from ZK."),
            "{err}"
        );
        assert!(
            err.contains("Successfully created /hadoop-ha/ns1 in ZK."),
            "{err}"
        );
        // Bad arguments: usage and exit 1.
        for bad in [&["-formatZK", "-bogus"][..], &["-bogus"][..]] {
            let (code, _, err) = zkfc(&cluster, bad, "");
            assert_eq!(code, Some(1), "{err}");
            assert!(
                err.contains("Usage: hdfs zkfc [ -formatZK [-force] [-nonInteractive] ]"),
                "{err}"
            );
            assert!(err.contains("Bad argument: -bogus"), "{err}");
        }
    }
}

#[test]
fn no_zookeeper_is_exit_6() {
    let closed = common::cluster::free_port("127.0.0.1");
    let conf_dir = tempfile::tempdir().unwrap();
    write_site(
        conf_dir.path(),
        &[
            ("dfs.nameservices".into(), "ns1".into()),
            ("dfs.ha.namenodes.ns1".into(), "nn1,nn2".into()),
            (
                "dfs.namenode.rpc-address.ns1.nn1".into(),
                "127.0.0.1:8020".into(),
            ),
            (
                "dfs.namenode.rpc-address.ns1.nn2".into(),
                "127.0.0.2:8020".into(),
            ),
            ("dfs.ha.automatic-failover.enabled".into(), "true".into()),
            ("dfs.ha.fencing.methods".into(), "shell(true)".into()),
            ("ha.zookeeper.quorum".into(), format!("127.0.0.1:{closed}")),
            ("ha.zookeeper.session-timeout.ms".into(), "1000".into()),
        ],
    );
    for args in [
        &ZKFC_NN1[..],
        &["zkfc", "-D", "dfs.ha.namenode.id=nn1", "-formatZK"][..],
    ] {
        let (code, _, err) = outcome(&run_hdfs(conf_dir.path(), args, ""));
        assert_eq!(code, Some(6), "{err}");
        assert!(
            err.contains(&format!(
                "Unable to start failover controller. Unable to connect to ZooKeeper quorum at 127.0.0.1:{closed}. Please check the configured value for ha.zookeeper.quorum and ensure that ZooKeeper is running."
            )),
            "{err}"
        );
    }
}

#[test]
fn automatic_failover_disabled_is_exit_5_even_for_format() {
    let conf_dir = tempfile::tempdir().unwrap();
    write_site(
        conf_dir.path(),
        &[
            ("dfs.nameservices".into(), "ns1".into()),
            ("dfs.ha.namenodes.ns1".into(), "nn1,nn2".into()),
            (
                "dfs.namenode.rpc-address.ns1.nn1".into(),
                "127.0.0.1:8020".into(),
            ),
            (
                "dfs.namenode.rpc-address.ns1.nn2".into(),
                "127.0.0.2:8020".into(),
            ),
            ("dfs.ha.fencing.methods".into(), "shell(true)".into()),
            ("ha.zookeeper.quorum".into(), "127.0.0.1:2181".into()),
        ],
    );
    for args in [
        &ZKFC_NN1[..],
        &["zkfc", "-D", "dfs.ha.namenode.id=nn1", "-formatZK"][..],
    ] {
        let (code, _, err) = outcome(&run_hdfs(conf_dir.path(), args, ""));
        assert_eq!(code, Some(5), "{err}");
        assert!(
            err.contains("Automatic failover is not enabled for NameNode at 127.0.0.1/127.0.0.1:8020. Please ensure that automatic failover is enabled in the configuration before running the ZK failover controller."),
            "{err}"
        );
    }
    // Not an HA NameNode at all, or an id nobody configured: exit 1 with Hadoop's words.
    let (code, _, err) = outcome(&run_hdfs(
        conf_dir.path(),
        &["zkfc", "-D", "dfs.ha.namenode.id=nn9"],
        "",
    ));
    assert_eq!(code, Some(1));
    assert!(
        err.contains("Unable to determine service address for namenode 'nn9'"),
        "{err}"
    );
    let (code, _, err) = outcome(&run_hdfs(
        conf_dir.path(),
        &["zkfc", "-D", "dfs.ha.namenodes.ns1=nn1"],
        "",
    ));
    assert_eq!(code, Some(1));
    assert!(
        err.contains("HA is not enabled for this namenode."),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fencing_must_be_configured_is_exit_4() {
    for kind in ZkServerKind::all() {
        for methods in ["", "foobar!"] {
            let cluster = DummyCluster::new(kind, 2, &[("dfs.ha.fencing.methods", methods)]);
            assert_eq!(zkfc(&cluster, &["-formatZK"], "").0, Some(0));
            let (code, _, err) = zkfc(&cluster, &[], "");
            assert_eq!(code, Some(4), "{err}");
            assert!(
                err.contains(&format!(
                    "Fencing is not configured for NameNode at {}/{}.\nYou must configure a fencing method before using automatic failover.",
                    cluster.nns[0].address.split(':').next().unwrap(),
                    cluster.nns[0].address
                )),
                "{err}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formatting_one_cluster_leaves_other_clusters_alone() {
    for kind in ZkServerKind::all() {
        let cluster = DummyCluster::new(kind, 2, &[]);
        let zk = common::zkfc::zk_client(&cluster.zk).await;
        let persistent = zookeeper_client::CreateMode::Persistent
            .with_acls(zookeeper_client::Acls::anyone_all());
        zk.mkdir("/hadoop-ha/other/ActiveBreadCrumb", &persistent)
            .await
            .unwrap();
        assert_eq!(zkfc(&cluster, &["-formatZK"], "").0, Some(0));
        zk.create("/hadoop-ha/ns1/ActiveBreadCrumb", b"x", &persistent)
            .await
            .unwrap();
        assert_eq!(zkfc(&cluster, &["-formatZK", "-force"], "").0, Some(0));
        assert!(zk.check_stat("/hadoop-ha/ns1").await.unwrap().is_some());
        assert!(
            zk.check_stat("/hadoop-ha/ns1/ActiveBreadCrumb")
                .await
                .unwrap()
                .is_none(),
            "the old breadcrumb was cleared"
        );
        assert!(
            zk.check_stat("/hadoop-ha/other/ActiveBreadCrumb")
                .await
                .unwrap()
                .is_some(),
            "another nameservice's znodes survive"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn format_sets_acls_from_auth_and_acl_settings() {
    for kind in ZkServerKind::all() {
        let auth_file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(auth_file.path(), "digest:zkfcs:secret\n").unwrap();
        let auth = format!("@{}", auth_file.path().display());
        // An empty ACL list means ZooKeeper's CREATOR_ALL: only the digest identity.
        let cluster = DummyCluster::new(
            kind,
            2,
            &[("ha.zookeeper.acl", ""), ("ha.zookeeper.auth", &auth)],
        );
        assert_eq!(zkfc(&cluster, &["-formatZK"], "").0, Some(0));
        let anonymous = common::zkfc::zk_client(&cluster.zk).await;
        assert_eq!(
            anonymous.list_children("/hadoop-ha/ns1").await.unwrap_err(),
            zookeeper_client::Error::NoAuth
        );
        // Reading ACLs needs rights too (ZooKeeper 3.8): look as the ZKFCs' identity.
        let authed = zookeeper_client::Client::connector()
            .with_auth("digest", b"zkfcs:secret")
            .connect(&cluster.zk.addr())
            .await
            .unwrap();
        let (acl, _) = authed.get_acl("/hadoop-ha/ns1").await.unwrap();
        assert_eq!(acl.len(), 1);
        assert_eq!(acl[0].scheme(), "digest");
        assert!(acl[0].id().starts_with("zkfcs:"), "{acl:?}");
        // The ZKFC itself, authenticated, can read it: startup goes on to the fencing check.
        assert_eq!(zkfc(&cluster, &["-formatZK", "-force"], "").0, Some(0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_znode_that_cannot_be_cleared_is_exit_1() {
    for kind in ZkServerKind::all() {
        let cluster = DummyCluster::new(kind, 2, &[]);
        assert_eq!(zkfc(&cluster, &["-formatZK"], "").0, Some(0));
        // A child nobody may delete under: deleting its own child needs DELETE on it.
        let zk = common::zkfc::zk_client(&cluster.zk).await;
        let read_only = [zookeeper_client::Acl::new(
            zookeeper_client::Permission::READ | zookeeper_client::Permission::CREATE,
            zookeeper_client::AuthId::anyone(),
        )];
        let locked = zookeeper_client::CreateMode::Persistent
            .with_acls(zookeeper_client::Acls::new(&read_only));
        zk.create("/hadoop-ha/ns1/locked", b"", &locked)
            .await
            .unwrap();
        let open = zookeeper_client::CreateMode::Persistent
            .with_acls(zookeeper_client::Acls::anyone_all());
        zk.create("/hadoop-ha/ns1/locked/child", b"", &open)
            .await
            .unwrap();
        let (code, _, err) = zkfc(&cluster, &["-formatZK", "-force"], "");
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains("Unable to clear zk parent znode"), "{err}");
    }
}

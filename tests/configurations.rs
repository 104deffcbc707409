//! A table of real configurations — the Hadoop HA guide's files, a Hadoop 1 era file full of
//! deprecated names, a federated cluster, `<final>` and `${env.…}` — read through the same code
//! the daemons use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hdfs_ha::conf::{ConfError, Configuration, FenceMethod, HostPort, ha};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/conf")
        .join(name)
}

fn load(name: &str) -> Configuration {
    Configuration::load(&data(name), &[], &[]).unwrap()
}

#[test]
fn the_ha_guide_configuration() {
    let conf = load("ha-guide");
    assert_eq!(ha::nameservice_ids(&conf).unwrap(), ["mycluster"]);
    assert_eq!(
        ha::namenode_ids(&conf, "mycluster").unwrap(),
        ["nn1", "nn2", "nn3"]
    );
    let addresses = ha::namenode_service_rpc_addresses(&conf).unwrap();
    assert_eq!(
        addresses
            .iter()
            .map(|a| a.address.to_string())
            .collect::<Vec<_>>(),
        [
            "machine1.example.com:8020",
            "machine2.example.com:8020",
            "machine3.example.com:8020"
        ]
    );
    assert_eq!(
        ha::namenode_http_address(&conf, Some("mycluster"), Some("nn2")).unwrap(),
        Some(HostPort::new("machine2.example.com", 9870))
    );
    let qjm = ha::shared_edits(&conf, Some("mycluster"), Some("nn1"))
        .unwrap()
        .unwrap();
    assert_eq!(qjm.journal_id, "mycluster");
    assert_eq!(qjm.journal_nodes.len(), 3);
    assert_eq!(
        qjm.journal_nodes[2],
        HostPort::new("node3.example.com", 8485)
    );
    assert_eq!(
        ha::fencing_methods(&conf, Some("mycluster"), Some("nn1")).unwrap(),
        vec![
            FenceMethod::Ssh {
                user: None,
                port: 22
            },
            FenceMethod::Shell {
                command: "/bin/true".into()
            },
        ]
    );
    assert!(ha::automatic_failover_enabled(&conf, Some("mycluster")).unwrap());
    let zk = ha::zookeeper_quorum(&conf).unwrap();
    assert_eq!(
        zk.connect_string(),
        "zk1.example.com:2181,zk2.example.com:2181,zk3.example.com:2181"
    );
    // The JournalNode key in core-site.xml is read like any other.
    assert_eq!(
        conf.get("dfs.journalnode.edits.dir").unwrap().unwrap(),
        "/path/to/journal/node/local/data"
    );
    assert_eq!(
        conf.get("dfs.ha.fencing.ssh.private-key-files")
            .unwrap()
            .unwrap(),
        "/home/exampleuser/.ssh/id_rsa"
    );
    assert!(conf.notices().is_empty(), "{:?}", conf.notices());
}

#[test]
fn a_hadoop1_file_with_deprecated_names() {
    let conf = load("hadoop1-deprecated");
    assert_eq!(
        conf.get_trimmed_strings("dfs.namenode.name.dir").unwrap(),
        ["/data/1/dfs/nn", "/data/2/dfs/nn"]
    );
    assert_eq!(
        conf.get("dfs.datanode.data.dir").unwrap().unwrap(),
        "/data/1/dfs/dn"
    );
    assert_eq!(
        conf.get("dfs.namenode.http-address").unwrap().unwrap(),
        "oldnn.example.com:50070"
    );
    assert_eq!(
        conf.get("dfs.namenode.edits.dir").unwrap().unwrap(),
        "/data/3/dfs/edits"
    );
    assert!(!conf.get_bool("dfs.permissions.enabled", true).unwrap());
    // No NameNode address configured: fs.default.name (as fs.defaultFS) is the last resort.
    let addresses = ha::namenode_service_rpc_addresses(&conf).unwrap();
    assert_eq!(
        addresses[0].address,
        HostPort::new("oldnn.example.com", 9000)
    );
    let notices = conf.notices().join("\n");
    for (old, new) in [
        ("fs.default.name", "fs.defaultFS"),
        ("dfs.name.dir", "dfs.namenode.name.dir"),
        ("dfs.data.dir", "dfs.datanode.data.dir"),
        ("dfs.http.address", "dfs.namenode.http-address"),
        ("dfs.name.edits.dir", "dfs.namenode.edits.dir"),
        ("dfs.permissions", "dfs.permissions.enabled"),
    ] {
        assert!(
            notices.contains(&format!("{old} in "))
                && notices.contains(&format!("is deprecated. Instead, use {new}")),
            "{old}: {notices}"
        );
    }
}

#[test]
fn a_federated_cluster() {
    let conf = load("federation");
    let addresses = ha::namenode_service_rpc_addresses(&conf).unwrap();
    let listed: Vec<(Option<&str>, Option<&str>, String)> = addresses
        .iter()
        .map(|a| {
            (
                a.nameservice_id.as_deref(),
                a.namenode_id.as_deref(),
                a.address.to_string(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (Some("ns1"), Some("nn1"), "a1.example.com:8020".to_string()),
            (Some("ns1"), Some("nn2"), "a2.example.com:8022".to_string()),
            (Some("ns2"), None, "b1.example.com:8020".to_string()),
        ]
    );
    assert!(ha::is_ha_enabled(&conf, "ns1").unwrap());
    assert!(!ha::is_ha_enabled(&conf, "ns2").unwrap());
    assert!(ha::automatic_failover_enabled(&conf, Some("ns1")).unwrap());
    assert!(!ha::automatic_failover_enabled(&conf, Some("ns2")).unwrap());
    let qjm = ha::shared_edits(&conf, Some("ns1"), Some("nn1"))
        .unwrap()
        .unwrap();
    assert!(qjm.even_count_warning().is_some());
    assert_eq!(ha::journal_node_hosts(&conf).unwrap().len(), 4);
    assert_eq!(
        ha::fencing_methods(&conf, Some("ns1"), Some("nn2")).unwrap(),
        vec![
            FenceMethod::Ssh {
                user: Some("hdfs".into()),
                port: 2222
            },
            FenceMethod::Shell {
                command:
                    "/usr/local/bin/fence.sh --ns=$target_nameserviceid $target_host:$target_port"
                        .into()
            },
        ]
    );
    assert!(
        ha::fencing_methods(&conf, Some("ns1"), Some("nn1"))
            .unwrap()
            .is_empty()
    );
    let nn2 = ha::for_namenode(&conf, Some("ns1"), Some("nn2")).unwrap();
    assert_eq!(
        nn2.get("fs.defaultFS").unwrap().unwrap(),
        "hdfs://a2.example.com:8020"
    );
    // Several nameservices and no id configured: this machine is none of them.
    assert_eq!(
        ha::local_namenode(&conf).unwrap(),
        ha::LocalNameNode::default()
    );
}

#[test]
fn final_values_survive_later_files_and_env_defaults_apply() {
    let mut conf = Configuration::new().with_environment(BTreeMap::new());
    let dir = data("final-and-env");
    conf.add_resource_file(&dir.join("core-site.xml")).unwrap();
    conf.add_resource_file(&dir.join("hdfs-site.xml")).unwrap();
    assert_eq!(
        conf.get("hadoop.tmp.dir").unwrap().unwrap(),
        "/var/lib/hadoop/tmp"
    );
    assert_eq!(
        conf.get("dfs.journalnode.edits.dir").unwrap().unwrap(),
        "/var/lib/hadoop/tmp/jn"
    );
    assert_eq!(conf.get("dfs.replication").unwrap().unwrap(), "2");
    let hdfs_site = dir.join("hdfs-site.xml").display().to_string();
    assert_eq!(
        conf.notices(),
        [
            format!(
                "{hdfs_site}:an attempt to override final parameter: hadoop.tmp.dir;  Ignoring."
            ),
            format!(
                "{hdfs_site}:an attempt to override final parameter: dfs.replication;  Ignoring."
            ),
        ]
    );
    let with_env = Configuration::new()
        .with_environment([("HDFS_HA_TEST_DATA".to_string(), "/srv".to_string())].into());
    let mut with_env = with_env;
    with_env
        .add_resource_file(&dir.join("core-site.xml"))
        .unwrap();
    assert_eq!(with_env.get("hadoop.tmp.dir").unwrap().unwrap(), "/srv/tmp");
    // Two values that refer to each other never settle: Hadoop's depth error, naming the key.
    let err = conf.get("loop.a").unwrap_err().to_string();
    assert!(
        err.starts_with("Variable substitution depth too large: 20 xxxxxxxxxx${loop.b}")
            && err.ends_with("(value of 'loop.a')"),
        "{err}"
    );
    // A value that refers to itself yields the original expression.
    assert_eq!(conf.get("self.ref").unwrap().unwrap(), "x${self.ref}");
}

#[test]
fn a_broken_file_is_named_with_line_and_column() {
    let err = Configuration::load(&data("broken-xml"), &[], &[]).unwrap_err();
    let ConfError::Xml {
        resource,
        line,
        column,
        reason,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert!(resource.ends_with("broken-xml/hdfs-site.xml"), "{resource}");
    assert_eq!((*line, *column), (5, 21));
    assert!(reason.contains("value"), "{reason}");
}

#[test]
fn the_shipped_cluster_configuration() {
    let conf_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("etc/hadoop");
    let conf = Configuration::load(&conf_dir, &[], &[]).unwrap();
    assert!(conf.notices().is_empty(), "{:?}", conf.notices());
    let addresses = ha::namenode_service_rpc_addresses(&conf).unwrap();
    assert_eq!(addresses.len(), 2);
    let qjm = ha::shared_edits(&conf, Some("mycluster"), None)
        .unwrap()
        .unwrap();
    assert_eq!(qjm.journal_nodes.len(), 3);
    assert!(
        !ha::fencing_methods(&conf, Some("mycluster"), Some("nn1"))
            .unwrap()
            .is_empty()
    );
    assert!(ha::automatic_failover_enabled(&conf, Some("mycluster")).unwrap());
    ha::zookeeper_quorum(&conf).unwrap();
    // Each NameNode and JournalNode gets its own directory on the one machine.
    let nn1 = ha::for_namenode(&conf, Some("mycluster"), Some("nn1")).unwrap();
    let nn2 = ha::for_namenode(&conf, Some("mycluster"), Some("nn2")).unwrap();
    assert_ne!(
        nn1.get("dfs.namenode.name.dir").unwrap(),
        nn2.get("dfs.namenode.name.dir").unwrap()
    );
    let jn = |addr: &str| {
        Configuration::load(
            &conf_dir,
            &[],
            &[("dfs.journalnode.rpc-address".into(), addr.into())],
        )
        .unwrap()
        .get("dfs.journalnode.edits.dir")
        .unwrap()
        .unwrap()
    };
    assert_ne!(jn("127.0.0.1:8485"), jn("127.0.0.2:8485"));
    assert!(jn("127.0.0.3:8485").ends_with("journal-127.0.0.3:8485"));

    // The shipped zoo.cfg is the three-server quorum ha.zookeeper.quorum names, one server on
    // each loopback host.
    // Each server runs with a copy whose dataDir holds its myid, as start-dfs.sh makes them.
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("myid"), "1\n").unwrap();
    let text: String = std::fs::read_to_string(conf_dir.join("zoo.cfg"))
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with("dataDir=") {
                format!("dataDir={}\n", data.path().display())
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let copy = data.path().join("zoo.cfg");
    std::fs::write(&copy, text).unwrap();
    let zoo = hdfs_ha::conf::ZooCfg::load(&copy).unwrap();
    let clients: Vec<String> = zoo
        .servers
        .values()
        .map(|s| {
            let (host, port) = s.client_address.clone().unwrap();
            assert_eq!(host, s.host);
            format!("{host}:{port}")
        })
        .collect();
    assert_eq!(clients.len(), 3);
    assert_eq!(
        ha::zookeeper_quorum(&conf).unwrap().connect_string(),
        clients.join(",")
    );
}

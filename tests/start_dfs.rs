//! `sbin/start-dfs.sh` and `sbin/stop-dfs.sh` on a one-machine cluster (a coordination server,
//! JournalNodes on 127.0.0.1-3, NameNodes and ZKFCs on 127.0.0.1-2), and `hdfs --daemon`
//! underneath: the first run formats, bootstraps and elects; a killed NameNode is replaced by
//! the other; a second run restarts what died and touches nothing else; stop leaves nothing
//! running.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::cluster::free_port;
use common::{STARTUP_DEADLINE, binary, repo, wait_until};
use hdfs_ha::conf::site_xml;

struct Cluster {
    root: tempfile::TempDir,
    conf: PathBuf,
}

impl Cluster {
    /// A configuration like etc/hadoop's, on free ports, everything under one temp dir.
    fn configure() -> Cluster {
        let root = tempfile::tempdir().unwrap();
        let conf = root.path().join("conf");
        std::fs::create_dir_all(&conf).unwrap();
        let data = root.path().join("data");
        let zk_port = free_port("127.0.0.1");
        let core = [
            ("fs.defaultFS", "hdfs://mycluster".to_string()),
            ("hadoop.tmp.dir", data.display().to_string()),
            ("ha.zookeeper.quorum", format!("127.0.0.1:{zk_port}")),
            ("ha.zookeeper.session-timeout.ms", "5000".to_string()),
        ];
        std::fs::write(conf.join("core-site.xml"), site_xml(&core)).unwrap();
        let jn_port = free_port("127.0.0.1");
        let port_on_both = || free_port("127.0.0.1");
        let (rpc, http, zkfc) = (port_on_both(), port_on_both(), port_on_both());
        let hdfs = [
            ("dfs.nameservices", "mycluster".to_string()),
            ("dfs.ha.namenodes.mycluster", "nn1,nn2".to_string()),
            (
                "dfs.namenode.rpc-address.mycluster.nn1",
                format!("127.0.0.1:{rpc}"),
            ),
            (
                "dfs.namenode.rpc-address.mycluster.nn2",
                format!("127.0.0.2:{rpc}"),
            ),
            (
                "dfs.namenode.http-address.mycluster.nn1",
                format!("127.0.0.1:{http}"),
            ),
            (
                "dfs.namenode.http-address.mycluster.nn2",
                format!("127.0.0.2:{http}"),
            ),
            (
                "dfs.namenode.name.dir.mycluster.nn1",
                "${hadoop.tmp.dir}/nn1/name".to_string(),
            ),
            (
                "dfs.namenode.name.dir.mycluster.nn2",
                "${hadoop.tmp.dir}/nn2/name".to_string(),
            ),
            (
                "dfs.namenode.shared.edits.dir",
                format!(
                    "qjournal://127.0.0.1:{jn_port};127.0.0.2:{jn_port};127.0.0.3:{jn_port}/mycluster"
                ),
            ),
            (
                "dfs.journalnode.edits.dir",
                "${hadoop.tmp.dir}/journal-${dfs.journalnode.rpc-address}".to_string(),
            ),
            (
                "dfs.journalnode.http-address",
                format!("0.0.0.0:{}", free_port("127.0.0.1")),
            ),
            ("dfs.ha.zkfc.port", zkfc.to_string()),
            ("dfs.ha.automatic-failover.enabled", "true".to_string()),
            ("dfs.ha.fencing.methods", "shell(/bin/true)".to_string()),
            ("dfs.ha.tail-edits.in-progress", "true".to_string()),
        ];
        std::fs::write(conf.join("hdfs-site.xml"), site_xml(&hdfs)).unwrap();
        let zoo = format!(
            "tickTime=200\ndataDir={}\nclientPort={zk_port}\nclientPortAddress=127.0.0.1\nmetricsProvider.httpPort={}\n",
            root.path().join("zk").display(),
            free_port("127.0.0.1")
        );
        std::fs::write(conf.join("zoo.cfg"), zoo).unwrap();
        Cluster { root, conf }
    }

    fn script(&self, name: &str) -> Output {
        let bin_dir = binary("hdfs").parent().unwrap().to_path_buf();
        Command::new(repo().join("sbin").join(name))
            .arg("--config")
            .arg(&self.conf)
            .env("HDFS_HA_BIN_DIR", &bin_dir)
            .env("ZKSERVER", bin_dir.join("zkserver"))
            .env("HADOOP_PID_DIR", self.root.path().join("pids"))
            .env("HADOOP_LOG_DIR", self.root.path().join("logs"))
            .env("HADOOP_IDENT_STRING", "tester")
            .env_remove("HADOOP_CONF_DIR")
            .output()
            .unwrap()
    }

    fn hdfs(&self, args: &[&str]) -> Output {
        Command::new(binary("hdfs"))
            .arg("--config")
            .arg(&self.conf)
            .args(args)
            .output()
            .unwrap()
    }

    fn pid_file(&self, host: &str, daemon: &str) -> PathBuf {
        self.root
            .path()
            .join("pids")
            .join(host)
            .join(format!("hadoop-tester-{daemon}.pid"))
    }

    fn state(&self, nn: &str) -> String {
        let out = self.hdfs(&["haadmin", "-getServiceState", nn]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Every pid any pid file below the pid dir names.
    fn pids(&self) -> Vec<i32> {
        let mut pids = Vec::new();
        let mut dirs = vec![self.root.path().join("pids"), self.root.path().join("zk")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "pid")
                    && let Some(pid) = read_pid(&path)
                {
                    pids.push(pid);
                }
            }
        }
        pids
    }
}

impl Drop for Cluster {
    /// Whatever happened, nothing outlives the test.
    fn drop(&mut self) {
        for pid in self.pids() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            let state = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .next();
            !matches!(state, Some("Z") | Some("X") | None)
        })
        .unwrap_or(false)
}

#[test]
fn start_dfs_brings_up_an_ha_cluster_that_fails_over_and_stop_dfs_stops_it() {
    let cluster = Cluster::configure();
    let out = cluster.script("start-dfs.sh");
    let report = text(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    for line in [
        "Starting coordination servers on [127.0.0.1]",
        "Starting journal nodes [127.0.0.1 127.0.0.2 127.0.0.3]",
        "Starting namenodes on [127.0.0.1 127.0.0.2]",
        "Formatting nn1 of mycluster (its name directory is empty)",
        "Bootstrapping nn2 of mycluster from nn1",
        "Starting ZK Failover Controllers on NN hosts [127.0.0.1 127.0.0.2]",
    ] {
        assert!(report.contains(line), "no {line:?} in\n{report}");
    }
    let states = [cluster.state("nn1"), cluster.state("nn2")];
    let active = states.iter().position(|s| s == "active").expect(&report);
    assert_eq!(states[1 - active], "standby");
    // Each simulated host has its own pid files; the JournalNodes bound their own addresses.
    for host in ["127.0.0.1", "127.0.0.2", "127.0.0.3"] {
        assert!(cluster.pid_file(host, "journalnode").is_file(), "{host}");
    }
    let out = cluster.hdfs(&["dfs", "-mkdir", "/kept"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // kill -9 the active NameNode: the other one takes over with the namespace.
    let hosts = ["127.0.0.1", "127.0.0.2"];
    let nn = ["nn1", "nn2"];
    let killed = read_pid(&cluster.pid_file(hosts[active], "namenode")).unwrap();
    Command::new("kill")
        .args(["-9", &killed.to_string()])
        .status()
        .unwrap();
    wait_until("the standby to take over", STARTUP_DEADLINE, || {
        (cluster.state(nn[1 - active]) == "active").then_some(())
    });
    let out = cluster.hdfs(&["dfs", "-ls", "/"]);
    assert!(text(&out).contains("/kept"), "{}", text(&out));

    // A second start restarts the dead NameNode (as standby), formats nothing, and reports
    // the daemons that were already running, as Hadoop's script does.
    let out = cluster.script("start-dfs.sh");
    let report = text(&out);
    assert_ne!(out.status.code(), Some(0), "{report}");
    assert!(!report.contains("Formatting"), "{report}");
    assert!(
        report.contains("journalnode is running as process"),
        "{report}"
    );
    wait_until("the restarted NameNode", STARTUP_DEADLINE, || {
        (cluster.state(nn[active]) == "standby").then_some(())
    });

    // --daemon status: 0 running, 3 not running (LSB).
    let status = |host: &str| {
        Command::new(binary("hdfs"))
            .args(["--config", cluster.conf.to_str().unwrap()])
            .args(["--daemon", "status", "journalnode"])
            .env(
                "HADOOP_PID_DIR",
                cluster.root.path().join("pids").join(host),
            )
            .env("HADOOP_IDENT_STRING", "tester")
            .status()
            .unwrap()
            .code()
    };
    assert_eq!(status("127.0.0.3"), Some(0));
    assert_eq!(status("127.0.0.9"), Some(3));

    let pids = cluster.pids();
    assert!(pids.len() >= 8, "{pids:?}");
    let out = cluster.script("stop-dfs.sh");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for pid in pids {
        assert!(!alive(pid), "process {pid} still runs after stop-dfs.sh");
    }
    assert_eq!(status("127.0.0.3"), Some(3));
}

//! `hdfs haadmin` outputs and exit codes (TestDFSHAAdmin, TestFailoverController), against
//! stand-in NameNodes: usage and argument errors, -ns, state queries, health checks, manual
//! transitions and their guards, --forcemanual, and manual failover with fencing and failback.

mod common;

use common::dummy_nn::DummyNn;
use common::zkfc::{outcome, run_hdfs, write_site};
use hdfs_ha::proto::hadoop_haservice::{HaRequestSource, HaServiceStateProto};

struct Setup {
    nns: Vec<DummyNn>,
    conf_dir: tempfile::TempDir,
}

impl Setup {
    fn new(extra: &[(&str, &str)]) -> Setup {
        let mut nns = vec![DummyNn::new("127.0.0.1"), DummyNn::new("127.0.0.2")];
        for nn in &mut nns {
            nn.start();
        }
        let mut props: Vec<(String, String)> = vec![
            ("dfs.nameservices".into(), "ns1".into()),
            ("dfs.ha.namenodes.ns1".into(), "nn1,nn2".into()),
            (
                "dfs.namenode.rpc-address.ns1.nn1".into(),
                nns[0].address.clone(),
            ),
            (
                "dfs.namenode.rpc-address.ns1.nn2".into(),
                nns[1].address.clone(),
            ),
            ("dfs.ha.fencing.methods".into(), "shell(true)".into()),
            (
                "ha.failover-controller.cli-check.rpc-timeout.ms".into(),
                "3000".into(),
            ),
        ];
        for (k, v) in extra {
            props.retain(|(key, _)| key != k);
            props.push((k.to_string(), v.to_string()));
        }
        let conf_dir = tempfile::tempdir().unwrap();
        write_site(conf_dir.path(), &props);
        Setup { nns, conf_dir }
    }

    fn haadmin(&self, args: &[&str], input: &str) -> (Option<i32>, String, String) {
        let mut all = vec!["haadmin"];
        all.extend_from_slice(args);
        outcome(&run_hdfs(self.conf_dir.path(), &all, input))
    }

    fn target(&self, i: usize) -> String {
        let address = &self.nns[i].address;
        format!(
            "NameNode at {}/{address}",
            address.split(':').next().unwrap()
        )
    }
}

const USAGE_START: &str = "Usage: haadmin [-ns <nameserviceId>]\n    [-checkHealth <serviceId>]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_and_argument_errors() {
    let s = Setup::new(&[]);
    let (code, out, err) = s.haadmin(&[], "");
    assert_eq!((code, out.as_str()), (Some(255), ""));
    assert!(err.starts_with(USAGE_START), "{err}");
    assert!(err.contains("\nGeneric options supported are:\n"), "{err}");

    let (code, _, err) = s.haadmin(&["-ns"], "");
    assert_eq!(code, Some(255));
    assert!(
        err.starts_with(&format!("Missing nameservice ID\n{USAGE_START}")),
        "{err}"
    );
    let (code, _, err) = s.haadmin(&["-ns", "ns1"], "");
    assert_eq!(code, Some(255));
    assert!(
        err.starts_with(&format!("Missing command\n{USAGE_START}")),
        "{err}"
    );

    let (code, _, err) = s.haadmin(&["badcmd"], "");
    assert_eq!(code, Some(255));
    assert!(err.starts_with(&format!(
        "Bad command 'badcmd': expected command starting with '-'\n{USAGE_START}"
    )));
    let (code, _, err) = s.haadmin(&["-badcmd"], "");
    assert_eq!(code, Some(255));
    assert!(err.starts_with(&format!("badcmd: Unknown command\n{USAGE_START}")));

    let (code, _, err) = s.haadmin(&["-getServiceState"], "");
    assert_eq!(code, Some(255));
    assert_eq!(
        err,
        "getServiceState: incorrect number of arguments\nUsage: haadmin [-ns <nameserviceId>] [-getServiceState <serviceId>]\n"
    );
    let (code, _, err) = s.haadmin(&["-getServiceState", "nn9"], "");
    assert_eq!(code, Some(255));
    assert_eq!(
        err,
        "Illegal argument: Unable to determine service address for namenode 'nn9'\n"
    );
    let (code, _, err) = s.haadmin(&["-failover", "--forcefoo", "nn1", "nn2"], "");
    assert_eq!(code, Some(255));
    assert_eq!(
        err,
        "failover: incorrect arguments\nUsage: haadmin [-ns <nameserviceId>] [-failover [--forcefence] [--forceactive] <serviceId> <serviceId>]\n"
    );
    let (code, _, err) = s.haadmin(&["-failover", "nn1"], "");
    assert_eq!(code, Some(255));
    assert!(err.starts_with("failover: incorrect arguments\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help() {
    let s = Setup::new(&[]);
    let (code, out, _) = s.haadmin(&["-help"], "");
    assert_eq!(code, Some(0));
    assert!(out.starts_with(USAGE_START), "{out}");
    let (code, out, _) = s.haadmin(&["-help", "transitionToActive"], "");
    assert_eq!(code, Some(0));
    assert_eq!(
        out,
        "-transitionToActive [[--forceactive] <serviceId>]: Transitions the service into Active state\n"
    );
    let (code, out, _) = s.haadmin(&["-help", "getAllServiceState"], "");
    assert_eq!(code, Some(0));
    assert_eq!(
        out,
        "-getAllServiceState: Returns the state of all the services\n"
    );
    // As in Hadoop, a dashed name after -help is an unknown option of -help.
    let (code, _, err) = s.haadmin(&["-help", "-getAllServiceState"], "");
    assert_eq!(code, Some(255));
    assert_eq!(
        err,
        "help: incorrect arguments\nUsage: haadmin [-ns <nameserviceId>] [-help <command>]\n"
    );
    let (code, out, _) = s.haadmin(&["-help", "checkHealth"], "");
    assert_eq!(code, Some(0));
    assert_eq!(
        out,
        "-checkHealth [<serviceId>]: Requests that the service perform a health check.\nThe HAAdmin tool will exit with a non-zero exit code\nif the check fails.\n"
    );
    let (code, _, err) = s.haadmin(&["-help", "foo"], "");
    assert_eq!(code, Some(255));
    assert!(err.starts_with(&format!("-foo: Unknown command\n{USAGE_START}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nameservice_resolution() {
    let s = Setup::new(&[
        ("dfs.nameservices", "ns1,ns2"),
        ("dfs.ha.namenodes.ns2", "nn1,nn2"),
    ]);
    let (code, _, err) = s.haadmin(&["-getServiceState", "nn1"], "");
    assert_eq!(code, Some(255));
    assert_eq!(
        err,
        "Illegal argument: Unable to determine the name service ID. This is an HA configuration with multiple name services configured. dfs.nameservices is set to [ns1, ns2]. Please re-run with the -ns option.\n"
    );
    let (code, out, err) = s.haadmin(&["-ns", "ns1", "-getServiceState", "nn1"], "");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "standby\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_and_health() {
    let mut s = Setup::new(&[]);
    assert_eq!(s.haadmin(&["-getServiceState", "nn1"], "").1, "standby\n");
    assert_eq!(s.haadmin(&["-checkHealth", "nn1"], "").0, Some(0));
    s.nns[0].set(|st| st.healthy = false);
    let (code, _, err) = s.haadmin(&["-checkHealth", "nn1"], "");
    assert_eq!(code, Some(255));
    assert_eq!(
        err,
        "Health check failed: The NameNode has no resources available\n"
    );

    s.nns[0].set(|st| st.state = HaServiceStateProto::Active);
    let (code, out, _) = s.haadmin(&["-getAllServiceState"], "");
    assert_eq!(code, Some(0));
    assert_eq!(
        out,
        format!(
            "{:<50} {:<10}\n{:<50} {:<10}\n",
            common::java_named(&s.nns[0].address),
            "active",
            common::java_named(&s.nns[1].address),
            "standby"
        )
    );
    // A NameNode that does not answer.
    s.nns[1].stop();
    let (code, out, _) = s.haadmin(&["-getAllServiceState"], "");
    assert_eq!(code, Some(0));
    let second = out.lines().nth(1).unwrap();
    assert!(
        second.starts_with(&format!(
            "{:<50} Failed to connect: Call From ",
            common::java_named(&s.nns[1].address)
        )) && second.contains(&format!(
            " to {} failed on connection exception: java.net.ConnectException: Connection refused",
            s.nns[1].address
        )),
        "{second}"
    );
    let (code, _, err) = s.haadmin(&["-getServiceState", "nn2"], "");
    assert_eq!(code, Some(255));
    assert!(err.starts_with("Operation failed: Call From "), "{err}");
    let (code, _, err) = s.haadmin(&["-checkHealth", "nn2"], "");
    assert_eq!(code, Some(255));
    assert!(err.starts_with("Operation failed: Call From "), "{err}");
    let (code, _, err) = s.haadmin(&["-transitionToObserver", "nn1"], "");
    assert_eq!(code, Some(255));
    assert_eq!(
        err,
        format!(
            "The target {} doesn't support Observer state.\n",
            s.target(0)
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_transitions_and_their_guards() {
    let mut s = Setup::new(&[]);
    assert_eq!(s.haadmin(&["-transitionToActive", "nn1"], "").0, Some(0));
    assert!(s.nns[0].is_active());
    assert_eq!(s.nns[0].get().sources, vec![HaRequestSource::RequestByUser]);
    // Another node is active: refused unless forced.
    let (code, _, err) = s.haadmin(&["-transitionToActive", "nn2"], "");
    assert_eq!(code, Some(255));
    assert_eq!(
        err,
        "transitionToActive: Node nn1 is already active\nUsage: haadmin [-ns <nameserviceId>] [-transitionToActive [--forceactive] <serviceId>]\n"
    );
    assert_eq!(s.haadmin(&["-transitionToStandby", "nn1"], "").0, Some(0));
    // The other node cannot be asked.
    s.nns[0].stop();
    let (code, _, err) = s.haadmin(&["-transitionToActive", "nn2"], "");
    assert_eq!(code, Some(255));
    assert!(
        err.starts_with("Unexpected error occurred  Call From "),
        "{err}"
    );
    assert_eq!(
        s.haadmin(&["-transitionToActive", "--forceactive", "nn2"], "")
            .0,
        Some(0)
    );
    assert!(s.nns[1].is_active());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_failover_refuses_manual_control_unless_forced() {
    let s = Setup::new(&[("dfs.ha.automatic-failover.enabled", "true")]);
    let refusal = format!(
        "Automatic failover is enabled for {}\nRefusing to manually manage HA state, since it may cause\na split-brain scenario or other incorrect state.\nIf you are very sure you know what you are doing, please \nspecify the --forcemanual flag.\n",
        s.target(0)
    );
    let (code, _, err) = s.haadmin(&["-transitionToStandby", "nn1"], "");
    assert_eq!((code, err.as_str()), (Some(255), refusal.as_str()));
    let (code, _, err) = s.haadmin(&["-transitionToActive", "nn1"], "");
    assert_eq!(code, Some(255));
    assert!(
        err.starts_with("Automatic failover is enabled for "),
        "{err}"
    );
    // --forcemanual asks first; "n" aborts.
    let (code, _, err) = s.haadmin(&["-transitionToActive", "--forcemanual", "nn1"], "n\n");
    assert_eq!(code, Some(255));
    assert!(
        err.contains("You have specified the --forcemanual flag. This flag is dangerous, as it can induce a split-brain scenario that WILL CORRUPT your HDFS namespace, possibly irrecoverably.\n\nIt is recommended not to use this flag, but instead to shut down the cluster and disable automatic failover if you prefer to manually manage your HA state.\n\nYou may abort safely by answering 'n' or hitting ^C now.\n\nAre you sure you want to continue? (Y or N) "),
        "{err}"
    );
    assert!(err.contains("Aborted"), "{err}");
    assert!(!s.nns[0].is_active());
    // "y": the NameNode is asked with REQUEST_BY_USER_FORCED.
    let (code, _, err) = s.haadmin(&["-transitionToActive", "-forcemanual", "nn1"], "y\n");
    assert_eq!(code, Some(0), "{err}");
    assert!(s.nns[0].is_active());
    assert_eq!(
        s.nns[0].get().sources,
        vec![HaRequestSource::RequestByUserForced]
    );
    // With automatic failover, -failover refuses the manual flags.
    let (code, _, err) = s.haadmin(&["-failover", "--forcefence", "nn1", "nn2"], "");
    assert_eq!(code, Some(255));
    assert_eq!(
        err,
        "forcefence and forceactive flags not supported with auto-failover enabled.\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_failover() {
    let s = Setup::new(&[]);
    s.nns[0].set(|st| st.state = HaServiceStateProto::Active);
    let (code, out, err) = s.haadmin(&["-failover", "nn1", "nn2"], "");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "Failover from nn1 to nn2 successful\n");
    assert!(s.nns[1].is_active() && !s.nns[0].is_active());
    // Options may follow the ids.
    let (code, out, err) = s.haadmin(&["-failover", "nn2", "nn1", "--forcefence"], "");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "Failover from nn2 to nn1 successful\n");

    let (code, _, err) = s.haadmin(&["-failover", "nn1", "nn1"], "");
    assert_eq!(code, Some(255));
    assert_eq!(err, "Failover failed: Can't failover a service to itself\n");
    s.nns[1].set(|st| st.state = HaServiceStateProto::Active);
    let (code, _, err) = s.haadmin(&["-failover", "nn1", "nn2"], "");
    assert_eq!(code, Some(255));
    assert_eq!(
        err,
        "Failover failed: Can't failover to an active service\n"
    );
    s.nns[1].set(|st| {
        st.state = HaServiceStateProto::Standby;
        st.healthy = false;
    });
    let (code, _, err) = s.haadmin(&["-failover", "nn1", "nn2"], "");
    assert_eq!(code, Some(255));
    assert_eq!(
        err,
        "Failover failed: Can't failover to an unhealthy service\n"
    );
    s.nns[1].set(|st| st.healthy = true);

    // The target fails to become active: fail back to nn1.
    s.nns[1].set(|st| st.fail_to_become_active = true);
    let (code, _, err) = s.haadmin(&["-failover", "nn1", "nn2"], "");
    assert_eq!(code, Some(255));
    assert!(
        err.ends_with(&format!(
            "\nFailover failed: Unable to failover to {}\n",
            s.target(1)
        )),
        "{err}"
    );
    assert!(err.contains("Unable to make "), "{err}");
    assert!(s.nns[0].is_active() && !s.nns[1].is_active());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_failover_needs_a_working_fencer() {
    // No fencer at all.
    let s = Setup::new(&[("dfs.ha.fencing.methods", "")]);
    s.nns[0].set(|st| st.state = HaServiceStateProto::Active);
    let (code, _, err) = s.haadmin(&["-failover", "nn1", "nn2"], "");
    assert_eq!(code, Some(255));
    assert_eq!(err, "Illegal argument: failover requires a fencer\n");
    // An unparsable one.
    let s = Setup::new(&[("dfs.ha.fencing.methods", "foobar!")]);
    s.nns[0].set(|st| st.state = HaServiceStateProto::Active);
    let (code, _, err) = s.haadmin(&["-failover", "--forcefence", "nn1", "nn2"], "");
    assert_eq!(code, Some(255));
    assert_eq!(err, "Illegal argument: failover requires a fencer\n");
    // One that fails: forced fencing aborts the failover.
    let s = Setup::new(&[("dfs.ha.fencing.methods", "shell(false)")]);
    s.nns[0].set(|st| st.state = HaServiceStateProto::Active);
    let (code, _, err) = s.haadmin(&["-failover", "--forcefence", "nn1", "nn2"], "");
    assert_eq!(code, Some(255));
    assert!(
        err.ends_with(&format!(
            "Failover failed: Unable to fence {}. Fencing failed.\n",
            s.target(0)
        )),
        "{err}"
    );
    assert!(!s.nns[1].is_active());
    // The old active cannot be made standby: the fencer must run (and here it works).
    let s = Setup::new(&[]);
    s.nns[0].set(|st| {
        st.state = HaServiceStateProto::Active;
        st.fail_to_become_standby = true;
    });
    let (code, _, err) = s.haadmin(&["-failover", "nn1", "nn2"], "");
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("====== Fencing successful by method"), "{err}");
    assert!(s.nns[1].is_active());
}

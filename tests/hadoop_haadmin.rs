//! The real Hadoop 3.3.6 `hdfs haadmin` (DFSHAAdmin, started with `java -cp` from the jars
//! `dev/hadoop-jars.sh` fetched) and ours, over Hadoop IPC (HAServiceProtocol with Hadoop's
//! messages), against our NameNodes and against real Hadoop NameNodes: the same outputs and
//! exit codes for the same commands on the same NameNodes, whichever NameNodes they are.

mod common;

use common::cluster::{JournalNodes, NameNodes, format_and_start};
use common::hadoop::{format_and_start_real, java, real_pair_props};

/// Runs the real DFSHAAdmin with the NameNodes' conf dir: (exit code, stdout, stderr).
fn real_haadmin(nns: &NameNodes, args: &[&str]) -> (Option<i32>, String, String) {
    let out = java(
        nns.conf_dir.path(),
        "org.apache.hadoop.hdfs.tools.DFSHAAdmin",
        args,
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn our_haadmin(nns: &NameNodes, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["haadmin"];
    all.extend_from_slice(args);
    let out = nns.hdfs(&all, "");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// The real and our `haadmin` give the same exit code and output for `args`; returns the
/// real one's output.
fn same(nns: &NameNodes, args: &[&str]) -> (Option<i32>, String) {
    let (real_code, real_out, real_err) = real_haadmin(nns, args);
    let (our_code, our_out, our_err) = our_haadmin(nns, args);
    assert_eq!(
        (our_code, our_out.as_str()),
        (real_code, real_out.as_str()),
        "haadmin {args:?}\nreal stderr: {real_err}\nour stderr: {our_err}"
    );
    (real_code, real_out)
}

#[test]
fn real_haadmin_drives_our_namenodes_as_ours_does() {
    let jns = JournalNodes::start(false);
    let mut nns = NameNodes::configure(&jns, &[]);
    format_and_start(&mut nns);
    drive_both_ways(&mut nns);
}

#[test]
fn our_haadmin_drives_real_namenodes_as_the_real_one_does() {
    let jns = JournalNodes::start(false);
    let data = tempfile::tempdir().unwrap();
    let props = real_pair_props(data.path());
    let refs: Vec<(&str, &str)> = props
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut nns = NameNodes::configure(&jns, &refs);
    format_and_start_real(&mut nns);
    drive_both_ways(&mut nns);
}

/// Both tools query and move the pair (both standby at first), checking each other's work.
fn drive_both_ways(nns: &mut NameNodes) {
    assert_eq!(
        same(nns, &["-getServiceState", "nn1"]),
        (Some(0), "standby\n".into())
    );
    assert_eq!(
        same(nns, &["-checkHealth", "nn1"]),
        (Some(0), String::new())
    );
    let (code, out) = same(nns, &["-getAllServiceState"]);
    assert_eq!(code, Some(0));
    assert_eq!(out.matches("standby").count(), 2, "{out}");

    // The real one makes nn1 active; both see it.
    let (code, _, err) = real_haadmin(nns, &["-transitionToActive", "nn1"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        same(nns, &["-getServiceState", "nn1"]),
        (Some(0), "active\n".into())
    );
    assert_eq!(
        same(nns, &["-getServiceState", "nn2"]),
        (Some(0), "standby\n".into())
    );
    // Refused alike: nn1 is already active.
    let (code, _) = same(nns, &["-transitionToActive", "nn2"]);
    assert_eq!(code, Some(255));

    // Back to standby through the real one, then active again through ours, with --forcemanual
    // refused alike when no one asks for it... and accepted with it.
    let (code, _, err) = real_haadmin(nns, &["-transitionToStandby", "nn1"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        same(nns, &["-getServiceState", "nn1"]),
        (Some(0), "standby\n".into())
    );
    let (code, _, err) = our_haadmin(nns, &["-transitionToActive", "nn2"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        same(nns, &["-getServiceState", "nn2"]),
        (Some(0), "active\n".into())
    );

    // A dead NameNode: both fail the same way.
    nns.kill9(1);
    let (code, _) = same(nns, &["-checkHealth", "nn2"]);
    assert_eq!(code, Some(255));
}

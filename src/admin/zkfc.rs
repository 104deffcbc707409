//! `hdfs zkfc [-formatZK [-force] [-nonInteractive]]` (and the `zkfc` binary): formats the
//! ZKFC's parent znode, or runs the ZK failover controller of this host's NameNode, with
//! Hadoop's startup order, messages and exit codes (reference §3.4):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | normal shutdown, or format done |
//! | 1 | could not clear the parent znode; bad argument; not an HA NameNode; a fatal error |
//! | 2 | format denied (the znode exists and -nonInteractive without -force, or answered no) |
//! | 3 | the parent znode does not exist |
//! | 4 | no fencing method configured |
//! | 5 | automatic failover is not enabled (checked even for -formatZK) |
//! | 6 | ZooKeeper cannot be reached |
//!
//! A fatal error of a running ZKFC (`ZK Failover Controller failed: …`) exits 1, as newer
//! Hadoop versions do, so that a supervisor restarts it.

use super::daemon::{startup_banner, termination_signal};
use super::namenode::confirm;
use super::{Context, generic_and_conf};
use crate::zkfc::conf::ZkfcConf;
use crate::zkfc::{daemon, zk};

const LOG: &str = "org.apache.hadoop.ha.ZKFailoverController";

pub const USAGE: &str = "Usage: hdfs zkfc [ -formatZK [-force] [-nonInteractive] ]\n\t-force: formats the znode if the znode exists.\n\t-nonInteractive: formats the znode aborts if the znode exists,\n\tunless -force option is specified.";

/// Unable to format the parent znode.
pub const ERR_CODE_FORMAT_DENIED: i32 = 2;
/// The parent znode does not exist.
pub const ERR_CODE_NO_PARENT_ZNODE: i32 = 3;
/// Fencing is not configured.
pub const ERR_CODE_NO_FENCER: i32 = 4;
/// Automatic failover is not enabled.
pub const ERR_CODE_AUTO_FAILOVER_NOT_ENABLED: i32 = 5;
/// ZooKeeper cannot be reached.
pub const ERR_CODE_NO_ZK: i32 = 6;

/// What the command line asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Run,
    FormatZk { force: bool, interactive: bool },
}

/// An argument `hdfs zkfc` does not take (`HadoopIllegalArgumentException: Bad argument: …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Bad argument: {0}")]
struct BadArgument(String);

fn parse(args: &[String]) -> Result<Command, BadArgument> {
    let Some(first) = args.first() else {
        return Ok(Command::Run);
    };
    if first != "-formatZK" {
        return Err(BadArgument(first.clone()));
    }
    let mut force = false;
    let mut interactive = true;
    for arg in &args[1..] {
        match arg.as_str() {
            "-force" => force = true,
            "-nonInteractive" => interactive = false,
            other => return Err(BadArgument(other.to_string())),
        }
    }
    Ok(Command::FormatZk { force, interactive })
}

pub fn main(ctx: &mut Context<'_>, args: &[String]) -> i32 {
    let (generic, conf) = match generic_and_conf(ctx, args, USAGE, 1) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    tracing::info!("{}", startup_banner("DFSZKFailoverController", args));
    let local = match ZkfcConf::local_target(&conf) {
        Ok(local) => local,
        Err(e) => {
            tracing::error!(
                target: "org.apache.hadoop.hdfs.tools.DFSZKFailoverController",
                "DFSZKFailOverController exiting due to earlier exception org.apache.hadoop.HadoopIllegalArgumentException: {e}"
            );
            return 1;
        }
    };
    if !local.auto_failover {
        tracing::error!(
            target: LOG,
            "Automatic failover is not enabled for {local}. Please ensure that automatic failover is enabled in the configuration before running the ZK failover controller."
        );
        return ERR_CODE_AUTO_FAILOVER_NOT_ENABLED;
    }
    let zkfc_conf = match ZkfcConf::from_conf(local, &conf) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(
                target: "org.apache.hadoop.hdfs.tools.DFSZKFailoverController",
                "DFSZKFailOverController exiting due to earlier exception java.lang.IllegalArgumentException: {e}"
            );
            return 1;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("zkfc")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(ctx.err, "cannot start the runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(run(ctx, zkfc_conf, &generic.rest))
}

async fn run(ctx: &mut Context<'_>, conf: ZkfcConf, args: &[String]) -> i32 {
    let admin = match zk::connect(&conf.zk).await {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(
                target: LOG,
                "Unable to start failover controller. Unable to connect to ZooKeeper quorum at {}. Please check the configured value for ha.zookeeper.quorum and ensure that ZooKeeper is running. {e}",
                conf.zk.quorum
            );
            return ERR_CODE_NO_ZK;
        }
    };
    let command = match parse(args) {
        Ok(command) => command,
        Err(bad) => {
            let _ = writeln!(ctx.err, "{USAGE}\n");
            tracing::error!(
                target: LOG,
                "The failover controller encounters runtime error: org.apache.hadoop.HadoopIllegalArgumentException: {bad}"
            );
            return 1;
        }
    };
    if let Command::FormatZk { force, interactive } = command {
        return format_zk(ctx, &conf, &admin, force, interactive).await;
    }
    match zk::parent_exists(&admin, &conf.zk.parent_znode).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::error!(
                target: LOG,
                "Unable to start failover controller. Parent znode does not exist.\nRun with -formatZK flag to initialize ZooKeeper."
            );
            return ERR_CODE_NO_PARENT_ZNODE;
        }
        Err(e) => {
            tracing::error!(target: LOG, "The failover controller encounters runtime error: {e}");
            return 1;
        }
    }
    if let Err(e) = conf.local.fence_methods() {
        tracing::error!(
            target: LOG,
            "Fencing is not configured for {}.\nYou must configure a fencing method before using automatic failover. {e}",
            conf.local
        );
        return ERR_CODE_NO_FENCER;
    }
    match daemon::run(conf, admin, termination_signal()).await {
        Ok(()) => {
            tracing::info!("Exiting with status 0");
            0
        }
        Err(e) => {
            tracing::error!(target: LOG, "{e}");
            tracing::info!("Exiting with status 1: {e}");
            1
        }
    }
}

/// `formatZK(force, interactive)`.
async fn format_zk(
    ctx: &mut Context<'_>,
    conf: &ZkfcConf,
    admin: &zookeeper_client::Client,
    force: bool,
    interactive: bool,
) -> i32 {
    let parent = &conf.zk.parent_znode;
    let exists = match zk::parent_exists(admin, parent).await {
        Ok(exists) => exists,
        Err(e) => {
            tracing::error!(target: LOG, "The failover controller encounters runtime error: {e}");
            return 1;
        }
    };
    if exists {
        if !force && (!interactive || !confirm_format(ctx, parent)) {
            return ERR_CODE_FORMAT_DENIED;
        }
        if let Err(e) = zk::clear_parent(admin, &conf.zk).await {
            tracing::error!(target: LOG, "Unable to clear zk parent znode: {e}");
            return 1;
        }
    }
    match zk::ensure_parent(admin, &conf.zk).await {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(target: LOG, "The failover controller encounters runtime error: {e}");
            1
        }
    }
}

fn confirm_format(ctx: &mut Context<'_>, parent: &str) -> bool {
    let _ = writeln!(
        ctx.err,
        "===============================================\nThe configured parent znode {parent} already exists.\nAre you sure you want to clear all failover information from\nZooKeeper?\nWARNING: Before proceeding, ensure that all HDFS services and\nfailover controllers are stopped!\n==============================================="
    );
    confirm(ctx, &format!("Proceed formatting {parent}?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn command_lines() {
        assert_eq!(parse(&[]).unwrap(), Command::Run);
        assert_eq!(
            parse(&args("-formatZK")).unwrap(),
            Command::FormatZk {
                force: false,
                interactive: true
            }
        );
        assert_eq!(
            parse(&args("-formatZK -nonInteractive -force")).unwrap(),
            Command::FormatZk {
                force: true,
                interactive: false
            }
        );
        assert_eq!(
            parse(&args("-formatZK -bogus")).unwrap_err().to_string(),
            "Bad argument: -bogus"
        );
        assert_eq!(
            parse(&args("-format")).unwrap_err(),
            BadArgument("-format".into())
        );
    }
}

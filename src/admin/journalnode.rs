//! `hdfs journalnode` (and the `journalnode` binary): runs a JournalNode in the foreground.

use super::Context;
use super::daemon::run_daemon;
use crate::journal::node::{JournalNodeConf, run};

pub const USAGE: &str = "Usage: hdfs journalnode";

pub fn main(ctx: &mut Context<'_>, args: &[String]) -> i32 {
    run_daemon(
        ctx,
        args,
        "JournalNode",
        USAGE,
        JournalNodeConf::from_conf,
        run,
    )
}

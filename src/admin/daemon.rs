//! Running a daemon in the foreground, the same way for every daemon (`hdfs journalnode`,
//! `journalnode`, …): generic options, the configuration, Hadoop's startup banner, a tokio
//! runtime, and a clean stop on SIGTERM or SIGINT. Exit status 0 after a clean stop, 1 when
//! the daemon cannot start or fails.

use std::future::Future;

use super::{Context, generic_and_conf};
use crate::conf::{ConfError, Configuration};

/// Completes on SIGTERM or SIGINT.
pub async fn termination_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(err) => {
            tracing::warn!("cannot listen for SIGTERM: {err}");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("RECEIVED SIGNAL 15: SIGTERM"),
        _ = tokio::signal::ctrl_c() => tracing::info!("RECEIVED SIGNAL 2: SIGINT"),
    }
}

/// Hadoop's `STARTUP_MSG` banner.
pub(super) fn startup_banner(class: &str, args: &[String]) -> String {
    let host = crate::host::host_name();
    format!(
        "STARTUP_MSG: \n/************************************************************\nSTARTUP_MSG: Starting {class}\nSTARTUP_MSG:   host = {host}\nSTARTUP_MSG:   args = {args:?}\nSTARTUP_MSG:   version = {} (hdfs-ha {})\n************************************************************/",
        super::version::HADOOP_COMPATIBLE_VERSION,
        env!("CARGO_PKG_VERSION")
    )
}

/// Runs daemon `class` (`JournalNode`, …): builds its typed configuration with `build`,
/// then `run`s it until a termination signal.
pub fn run_daemon<C, E, Fut>(
    ctx: &mut Context<'_>,
    args: &[String],
    class: &str,
    usage: &str,
    build: impl FnOnce(&Configuration) -> Result<C, ConfError>,
    run: impl FnOnce(C, std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> Fut,
) -> i32
where
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let (generic, conf) = match generic_and_conf(ctx, args, usage, 1) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    if let Some(extra) = generic.rest.first() {
        let _ = writeln!(ctx.err, "Unexpected argument: {extra}");
        let _ = writeln!(ctx.err, "{usage}");
        return 1;
    }
    tracing::info!("{}", startup_banner(class, args));
    let typed = match build(&conf) {
        Ok(typed) => typed,
        Err(err) => {
            tracing::error!("Failed to start {}: {err}", class.to_lowercase());
            tracing::info!("Exiting with status 1: {err}");
            return 1;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name(class.to_lowercase())
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            let _ = writeln!(ctx.err, "cannot start the runtime: {err}");
            return 1;
        }
    };
    let result = runtime.block_on(run(typed, Box::pin(termination_signal())));
    match result {
        Ok(()) => {
            tracing::info!("Exiting with status 0");
            0
        }
        Err(err) => {
            tracing::error!("Failed to start {}: {err}", class.to_lowercase());
            tracing::info!("Exiting with status 1: {err}");
            1
        }
    }
}

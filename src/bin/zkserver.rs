//! `zkserver path/to/zoo.cfg`: one coordination server in the foreground, like ZooKeeper's
//! `QuorumPeerMain` — standalone, or a member of the quorum its `server.N` lines describe —
//! (same messages and exit codes: 2 for a bad invocation or config, 3 for an unusable data
//! directory, 1 for anything else).

use std::path::Path;

use hdfs_ha::conf::ZooCfg;
use hdfs_ha::coord::ensemble::{self, QuorumConf, QuorumListeners};
use hdfs_ha::coord::server::{self, Listeners, ServerConf, ServerError};

const USAGE: &str = "Usage: QuorumPeerMain configfile";

fn main() {
    hdfs_ha::log::init(&hdfs_ha::log::level_from(None));
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path] = args.as_slice() else {
        tracing::error!("Invalid arguments, exiting abnormally");
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    tracing::info!("Reading configuration from: {path}");
    let (conf, quorum) = match ZooCfg::load(Path::new(path)).and_then(|cfg| {
        for warning in &cfg.warnings {
            tracing::warn!("{warning}");
        }
        let quorum = cfg
            .is_distributed()
            .then(|| QuorumConf::from_zoo_cfg(&cfg))
            .transpose()?;
        Ok((ServerConf::from_zoo_cfg(&cfg)?, quorum))
    }) {
        Ok((conf, quorum)) => {
            if quorum.is_none() {
                tracing::info!(
                    "Either no config or no quorum defined in config, running in standalone mode"
                );
            }
            (conf, quorum)
        }
        Err(e) => {
            tracing::error!("Invalid config, exiting abnormally: {e}");
            eprintln!("Invalid config, exiting abnormally");
            std::process::exit(2);
        }
    };
    for dir in [&conf.store.snap_dir, &conf.store.log_dir] {
        if let Err(e) = std::fs::create_dir_all(dir) {
            tracing::error!(
                "Unable to access datadir, exiting abnormally: {}: {e}",
                dir.display()
            );
            eprintln!("Unable to access datadir, exiting abnormally");
            std::process::exit(3);
        }
    }
    let client = match std::net::TcpListener::bind(conf.client_address) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(
                "Unexpected exception, exiting abnormally: Address already in use or unavailable: {}: {e}",
                conf.client_address
            );
            std::process::exit(1);
        }
    };
    let metrics = match std::net::TcpListener::bind(conf.metrics_address) {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!(
                "Unable to serve /metrics on {}: {e}; continuing without metrics",
                conf.metrics_address
            );
            None
        }
    };
    let peer_ports = match quorum.as_ref().map(ensemble::bind_peer_ports).transpose() {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(
                "Unexpected exception, exiting abnormally: cannot bind the quorum or election port: {e}"
            );
            std::process::exit(1);
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let signalled = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    let result = match (quorum, peer_ports) {
        (Some(quorum_conf), Some((quorum_port, election_port))) => {
            let listeners = QuorumListeners {
                client,
                metrics,
                quorum: quorum_port,
                election: election_port,
            };
            runtime.block_on(ensemble::run(conf, quorum_conf, listeners, signalled))
        }
        _ => runtime.block_on(server::run(conf, Listeners { client, metrics }, signalled)),
    };
    match result {
        Ok(()) => std::process::exit(0),
        Err(e @ ServerError::Store(_)) => {
            tracing::error!("Unable to access datadir, exiting abnormally: {e}");
            eprintln!("Unable to access datadir, exiting abnormally");
            std::process::exit(3);
        }
        Err(e) => {
            tracing::error!("Unexpected exception, exiting abnormally: {e}");
            std::process::exit(1);
        }
    }
}

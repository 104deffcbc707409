//! `FailoverController`: Hadoop's coordinated failover between two NameNodes without
//! ZooKeeper (what `hdfs haadmin -failover` does when automatic failover is off), and the
//! graceful fence the ZKFC tries before any fencing method.
//!
//! A manual failover: checks the target (not itself, standby, ready unless forced, healthy);
//! asks the old active to become standby (the graceful fence) and runs the fencers only if that
//! failed or `--forcefence` was given — a fencing failure aborts; makes the target active; and
//! if that fails while the old active was not fenced, fails back to it.

use super::conf::{FailoverTimeouts, FencerConf};
use super::fence::NodeFencer;
use super::health::ServiceState;
use super::rpc::{CallError, HaClient, RequestSource};
use super::target::NnTarget;

const LOG: &str = "org.apache.hadoop.ha.FailoverController";

/// Why a failover did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FailoverError {
    /// Hadoop's `FailoverFailedException`: `Failover failed: <message>`.
    #[error("{0}")]
    Failed(String),
    /// A precondition (`IllegalArgumentException`): `Illegal argument: <message>`.
    #[error("{0}")]
    IllegalArgument(String),
}

/// The failover controller.
#[derive(Debug, Clone)]
pub struct FailoverController {
    pub timeouts: FailoverTimeouts,
    pub fencer: FencerConf,
    pub source: RequestSource,
}

impl FailoverController {
    /// Asks `target` to become standby, within the graceful-fence timeout; whether it did.
    /// It must answer at all (connect and `getServiceStatus`) within the probe timeout: a
    /// frozen or cut-off old active is left to the fencing methods at once instead of after
    /// the whole graceful-fence timeout.
    pub async fn try_graceful_fence(&self, target: &NnTarget) -> bool {
        let probe = self
            .timeouts
            .graceful_fence_probe
            .min(self.timeouts.graceful_fence);
        let answered = tokio::time::timeout(probe, async {
            let client =
                HaClient::connect(&target.address, probe, self.timeouts.graceful_fence_retries)
                    .await?;
            // Any answer, a refusal included, says it is there to be asked.
            match client.get_service_status().await {
                Ok(_) | Err(CallError::Remote { .. }) => Ok(client),
                Err(e) => Err(e),
            }
        })
        .await;
        let client = match answered {
            Ok(Ok(client)) => client.with_timeout(self.timeouts.graceful_fence),
            Ok(Err(e)) => {
                tracing::warn!(
                    target: LOG,
                    "Unable to gracefully make {target} standby (unable to connect): {e}"
                );
                return false;
            }
            Err(_) => {
                tracing::warn!(
                    target: LOG,
                    "Unable to gracefully make {target} standby (unable to connect): no answer within {} ms",
                    probe.as_millis()
                );
                return false;
            }
        };
        match client.transition_to_standby(self.source).await {
            Ok(()) => true,
            Err(CallError::Remote { message, .. }) => {
                tracing::warn!(
                    target: LOG,
                    "Unable to gracefully make {target} standby ({message})"
                );
                false
            }
            Err(e) => {
                tracing::warn!(
                    target: LOG,
                    "Unable to gracefully make {target} standby (unable to connect): {e}"
                );
                false
            }
        }
    }

    async fn pre_failover_checks(
        &self,
        from: &NnTarget,
        to: &NnTarget,
        force_active: bool,
    ) -> Result<(), FailoverError> {
        if from.same_address(to) {
            return Err(FailoverError::Failed(
                "Can't failover a service to itself".into(),
            ));
        }
        let unable = |e: CallError| {
            let message = format!("Unable to get service state for {to}");
            tracing::error!(target: LOG, "{message}: {e}");
            FailoverError::Failed(message)
        };
        let client = HaClient::connect(&to.address, self.timeouts.new_active, 0)
            .await
            .map_err(unable)?;
        let status = client.get_service_status().await.map_err(unable)?;
        if status.state != ServiceState::Standby {
            return Err(FailoverError::Failed(format!(
                "Can't failover to an {} service",
                status.state
            )));
        }
        if !status.ready_to_become_active {
            let reason = status.not_ready_reason.unwrap_or_default();
            if !force_active {
                return Err(FailoverError::Failed(format!(
                    "{to} is not ready to become active: {reason}"
                )));
            }
            tracing::warn!(
                target: LOG,
                "Service is not ready to become active, but forcing: {reason}"
            );
        }
        match client.monitor_health().await {
            Ok(()) => Ok(()),
            Err(e) if e.is_health_check_failure() => Err(FailoverError::Failed(
                "Can't failover to an unhealthy service".into(),
            )),
            Err(_) => Err(FailoverError::Failed("Got an IO exception".into())),
        }
    }

    /// Fails over from `from` to `to`.
    pub async fn failover(
        &self,
        from: &NnTarget,
        to: &NnTarget,
        force_fence: bool,
        force_active: bool,
    ) -> Result<(), FailoverError> {
        let fencer = NodeFencer::for_target(from, &self.fencer)
            .map_err(|_| FailoverError::IllegalArgument("failover requires a fencer".into()))?;
        self.pre_failover_checks(from, to, force_active).await?;

        let mut try_fence = true;
        if self.try_graceful_fence(from).await {
            try_fence = force_fence;
        }
        if try_fence && !fencer.fence(from).await {
            return Err(FailoverError::Failed(format!(
                "Unable to fence {from}. Fencing failed."
            )));
        }

        let activated = match HaClient::connect(&to.address, self.timeouts.new_active, 0).await {
            Ok(client) => client.transition_to_active(self.source).await,
            Err(e) => Err(e),
        };
        if let Err(e) = activated {
            match &e {
                CallError::Remote { message, .. } => tracing::error!(
                    target: LOG,
                    "Unable to make {to} active ({message}). Failing back."
                ),
                CallError::Unreachable(cause) => tracing::error!(
                    target: LOG,
                    "Unable to make {to} active (unable to connect). Failing back. {cause}"
                ),
            }
            let mut message = format!("Unable to failover to {to}");
            // Fail back only when the old active was not fenced; fence the target meanwhile in
            // case it is still on its way to active, and force the old one back.
            if !try_fence && let Err(back) = Box::pin(self.failover(to, from, true, true)).await {
                message.push_str(&format!(". Failback to {from} failed ({back})"));
                tracing::error!(target: LOG, "{message}");
            }
            return Err(FailoverError::Failed(message));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::conf::Configuration;

    /// A NameNode whose host froze: the kernel accepts the connection, nothing ever answers.
    async fn frozen_namenode() -> (tokio::net::TcpListener, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        (listener, address)
    }

    fn controller_with(graceful_fence: Duration, probe: Duration) -> FailoverController {
        let conf = Configuration::new();
        FailoverController {
            timeouts: FailoverTimeouts {
                graceful_fence,
                graceful_fence_probe: probe,
                ..FailoverTimeouts::from_conf(&conf).unwrap()
            },
            fencer: FencerConf::from_conf(&conf).unwrap(),
            source: RequestSource::Zkfc,
        }
    }

    fn target(address: &str) -> NnTarget {
        let conf = Configuration::from_pairs(&[
            ("dfs.nameservices", "ns1"),
            ("dfs.ha.namenodes.ns1", "nn1,nn2"),
            ("dfs.namenode.rpc-address.ns1.nn1", address),
            ("dfs.namenode.rpc-address.ns1.nn2", "127.0.0.2:8020"),
        ]);
        NnTarget::resolve(&conf, "ns1", "nn1").unwrap()
    }

    /// In paused time: the only timers are the probe's and the graceful fence's, so the
    /// clock shows which one ended the attempt.
    #[tokio::test(start_paused = true)]
    async fn a_frozen_old_active_is_given_up_on_after_the_probe_not_the_whole_timeout() {
        let (_listener, address) = frozen_namenode().await;
        let controller = controller_with(Duration::from_secs(5), Duration::from_millis(500));
        let started = tokio::time::Instant::now();
        assert!(!controller.try_graceful_fence(&target(&address)).await);
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(500) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        // A probe longer than the graceful fence itself is held to the graceful fence.
        let controller = controller_with(Duration::from_secs(2), Duration::from_secs(60));
        let started = tokio::time::Instant::now();
        assert!(!controller.try_graceful_fence(&target(&address)).await);
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(2) && waited < Duration::from_secs(60),
            "{waited:?}"
        );
    }

    #[test]
    fn the_probe_is_ours_and_short_by_default() {
        let timeouts = FailoverTimeouts::from_conf(&Configuration::new()).unwrap();
        assert_eq!(timeouts.graceful_fence, Duration::from_millis(5000));
        assert_eq!(timeouts.graceful_fence_probe, Duration::from_millis(500));
    }
}

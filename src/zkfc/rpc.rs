//! The ZKFC's and `hdfs haadmin`'s clients: HAServiceProtocol to a NameNode and ZKFCProtocol
//! to a ZKFC, over Hadoop IPC with Hadoop 3.3.6's own messages — so they drive a real
//! NameNode or ZKFC as well as ours — with per-call timeouts and failures in the words of
//! Hadoop's IPC client (`Call From … failed on connection exception: …`). Wire types stay here.
//!
//! One extra call, `watchHealth`, is ours: a long poll that our NameNode answers when its state
//! or health changes. A Hadoop NameNode does not know it; there the watch is the connection
//! itself, whose closing tells of the NameNode's death before the next poll would.

use std::time::Duration;

use super::health::ServiceState;
use crate::conf::HostPort;
pub use crate::ipc::peer::CallError;
use crate::ipc::peer::Peer;
use crate::namenode::ha_ipc::PROTOCOL as HA_PROTOCOL;
use crate::proto::hadoop_haservice as ha;
use crate::proto::hadoop_zkfc as zp;

/// The protocol a ZKFC serves on `dfs.ha.zkfc.port`.
pub const ZKFC_PROTOCOL: &str = "org.apache.hadoop.ha.ZKFCProtocol";
/// Our long-polled health call (see the module doc).
pub const WATCH_HEALTH: &str = "watchHealth";

/// Who asks for an HA state change (`HARequestSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestSource {
    User,
    UserForced,
    Zkfc,
}

impl RequestSource {
    fn proto(self) -> ha::HaStateChangeRequestInfoProto {
        let source = match self {
            RequestSource::User => ha::HaRequestSource::RequestByUser,
            RequestSource::UserForced => ha::HaRequestSource::RequestByUserForced,
            RequestSource::Zkfc => ha::HaRequestSource::RequestByZkfc,
        };
        ha::HaStateChangeRequestInfoProto {
            req_source: source as i32,
        }
    }
}

/// A service's answer to `getServiceStatus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    pub state: ServiceState,
    pub ready_to_become_active: bool,
    pub not_ready_reason: Option<String>,
}

pub fn service_state(state: ha::HaServiceStateProto) -> ServiceState {
    match state {
        ha::HaServiceStateProto::Initializing => ServiceState::Initializing,
        ha::HaServiceStateProto::Active => ServiceState::Active,
        ha::HaServiceStateProto::Standby => ServiceState::Standby,
        ha::HaServiceStateProto::Observer => ServiceState::Observer,
    }
}

/// An HAServiceProtocol client for one NameNode (Hadoop's `getProxy(conf, timeout)`).
#[derive(Debug, Clone)]
pub struct HaClient(Peer);

impl HaClient {
    /// Connects, with `timeout` for the connection and for every call.
    pub async fn connect(
        address: &HostPort,
        timeout: Duration,
        retries: u32,
    ) -> Result<HaClient, CallError> {
        Ok(HaClient(
            Peer::connect(address, HA_PROTOCOL, timeout, retries).await?,
        ))
    }

    /// The same connection, with `timeout` for every call from now on.
    pub fn with_timeout(&self, timeout: Duration) -> HaClient {
        HaClient(Peer {
            timeout,
            ..self.0.clone()
        })
    }

    pub async fn get_service_status(&self) -> Result<ServiceStatus, CallError> {
        let status: ha::GetServiceStatusResponseProto = self
            .0
            .call(
                "getServiceStatus",
                &ha::GetServiceStatusRequestProto {},
                true,
            )
            .await?;
        Ok(ServiceStatus {
            state: service_state(status.state()),
            ready_to_become_active: status.ready_to_become_active(),
            not_ready_reason: status.not_ready_reason,
        })
    }

    pub async fn monitor_health(&self) -> Result<(), CallError> {
        let _: ha::MonitorHealthResponseProto = self
            .0
            .call("monitorHealth", &ha::MonitorHealthRequestProto {}, true)
            .await?;
        Ok(())
    }

    pub async fn transition_to_active(&self, source: RequestSource) -> Result<(), CallError> {
        let request = ha::TransitionToActiveRequestProto {
            req_info: source.proto(),
        };
        let _: ha::TransitionToActiveResponseProto =
            self.0.call("transitionToActive", &request, true).await?;
        Ok(())
    }

    pub async fn transition_to_standby(&self, source: RequestSource) -> Result<(), CallError> {
        let request = ha::TransitionToStandbyRequestProto {
            req_info: source.proto(),
        };
        let _: ha::TransitionToStandbyResponseProto =
            self.0.call("transitionToStandby", &request, true).await?;
        Ok(())
    }

    pub async fn transition_to_observer(&self, source: RequestSource) -> Result<(), CallError> {
        let request = ha::TransitionToObserverRequestProto {
            req_info: source.proto(),
        };
        let _: ha::TransitionToObserverResponseProto =
            self.0.call("transitionToObserver", &request, true).await?;
        Ok(())
    }

    /// Watches the NameNode until the watch breaks, calling `changed` on every change of its
    /// state or health after the first report, and returns why it broke. Against a NameNode
    /// without `watchHealth` (Hadoop's) it returns when the connection closes.
    pub async fn watch_health(&self, mut changed: impl FnMut()) -> String {
        let mut last: Option<ha::HealthReportProto> = None;
        loop {
            let request = ha::WatchHealthRequestProto { last: last.clone() };
            match self.0.call(WATCH_HEALTH, &request, false).await {
                Ok(report) => {
                    if last.as_ref().is_some_and(|l| *l != report) {
                        changed();
                    }
                    last = Some(report);
                }
                Err(e) if e.is_no_such_method() => {
                    return self.0.failure(self.0.connection.closed().await).to_string();
                }
                Err(e) => return e.to_string(),
            }
        }
    }
}

/// A ZKFCProtocol client for one ZKFC (Hadoop's `getZKFCProxy(conf, timeout)`).
#[derive(Debug, Clone)]
pub struct ZkfcClient(Peer);

impl ZkfcClient {
    pub async fn connect(address: &HostPort, timeout: Duration) -> Result<ZkfcClient, CallError> {
        Ok(ZkfcClient(
            Peer::connect(address, ZKFC_PROTOCOL, timeout, 0).await?,
        ))
    }

    /// `cedeActive(millis)`: a negative time is sent as Hadoop's Java client sends an int
    /// into the `uint32` field (its two's complement).
    pub async fn cede_active(&self, millis: i32) -> Result<(), CallError> {
        let request = zp::CedeActiveRequestProto {
            millis_to_cede: millis as u32,
        };
        let _: zp::CedeActiveResponseProto = self.0.call("cedeActive", &request, true).await?;
        Ok(())
    }

    pub async fn graceful_failover(&self) -> Result<(), CallError> {
        let _: zp::GracefulFailoverResponseProto = self
            .0
            .call(
                "gracefulFailover",
                &zp::GracefulFailoverRequestProto {},
                true,
            )
            .await?;
        Ok(())
    }
}

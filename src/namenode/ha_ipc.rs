//! HAServiceProtocol over Hadoop IPC, with Hadoop 3.3.6's own messages
//! (`proto/hadoop_haservice.proto`), on the NameNode's RPC port beside ClientNamenodeProtocol:
//! what a real `hdfs haadmin` (DFSHAAdmin) and a real DFSZKFailoverController call. The rules
//! are the NameNode's ([`NameNode::transition_to_active`] and the rest), the same for
//! our ZKFC; wire types are converted here.
//!
//! Beside Hadoop's five calls it answers our ZKFC's `watchHealth` (see `crate::zkfc::rpc`): a
//! long poll answered when this NameNode's report differs from the one the caller last saw,
//! or after [`WATCH_HOLD`] with the same one.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use prost::Message;

use super::peer;
use super::protocol::{self, ClientProtocol, ClientProtocolServer};
use super::server::{HaState, NameNode, NnError, RequestSource};
use crate::ipc::RemoteException;
use crate::ipc::server::{CallIds, Caller, DispatchError, ResponseFuture, Service};
use crate::proto::hadoop_haservice as pb;

/// The protocol `hdfs haadmin` and ZKFCs declare.
pub const PROTOCOL: &str = "org.apache.hadoop.ha.HAServiceProtocol";

/// How often a held `watchHealth` looks for a change of state or health.
const WATCH_PERIOD: Duration = Duration::from_millis(50);
/// How long a `watchHealth` is held without a change: a call whose caller went away ends
/// by itself (a call that started runs to its end, see `crate::ipc::server`).
pub const WATCH_HOLD: Duration = Duration::from_secs(10);

fn source_of(info: &pb::HaStateChangeRequestInfoProto) -> RequestSource {
    match info.req_source() {
        pb::HaRequestSource::RequestByUserForced => RequestSource::UserForced,
        pb::HaRequestSource::RequestByZkfc => RequestSource::Zkfc,
        pb::HaRequestSource::RequestByUser => RequestSource::User,
    }
}

/// Hadoop's wire has no STOPPING state: a stopping NameNode answers as one going away.
fn state_proto(state: HaState) -> Result<pb::HaServiceStateProto, NnError> {
    match state {
        HaState::Initializing => Ok(pb::HaServiceStateProto::Initializing),
        HaState::Standby => Ok(pb::HaServiceStateProto::Standby),
        HaState::Active => Ok(pb::HaServiceStateProto::Active),
        HaState::Stopping => Err(NnError::new("IOException", "The NameNode is stopping")),
    }
}

/// One HAServiceProtocol call, decoded.
enum HaCall {
    MonitorHealth,
    ToActive(RequestSource),
    ToStandby(RequestSource),
    ToObserver,
    ServiceStatus,
    WatchHealth(Option<pb::HealthReportProto>),
}

fn decode(method: &str, payload: Bytes) -> Result<HaCall, DispatchError> {
    let undecodable = DispatchError::Undecodable;
    Ok(match method {
        "monitorHealth" => {
            pb::MonitorHealthRequestProto::decode(payload).map_err(undecodable)?;
            HaCall::MonitorHealth
        }
        "transitionToActive" => {
            let r = pb::TransitionToActiveRequestProto::decode(payload).map_err(undecodable)?;
            HaCall::ToActive(source_of(&r.req_info))
        }
        "transitionToStandby" => {
            let r = pb::TransitionToStandbyRequestProto::decode(payload).map_err(undecodable)?;
            HaCall::ToStandby(source_of(&r.req_info))
        }
        "transitionToObserver" => {
            pb::TransitionToObserverRequestProto::decode(payload).map_err(undecodable)?;
            HaCall::ToObserver
        }
        "getServiceStatus" => {
            pb::GetServiceStatusRequestProto::decode(payload).map_err(undecodable)?;
            HaCall::ServiceStatus
        }
        crate::zkfc::rpc::WATCH_HEALTH => {
            let r = pb::WatchHealthRequestProto::decode(payload).map_err(undecodable)?;
            HaCall::WatchHealth(r.last)
        }
        _ => return Err(DispatchError::NoSuchMethod),
    })
}

async fn run(nn: &Arc<NameNode>, who: &str, call: HaCall) -> Result<Vec<u8>, NnError> {
    match call {
        HaCall::MonitorHealth => {
            nn.monitor_health()?;
            Ok(pb::MonitorHealthResponseProto {}.encode_to_vec())
        }
        HaCall::ToActive(source) => {
            nn.transition_to_active(source, who).await?;
            Ok(pb::TransitionToActiveResponseProto {}.encode_to_vec())
        }
        HaCall::ToStandby(source) => {
            nn.transition_to_standby(source, who).await?;
            Ok(pb::TransitionToStandbyResponseProto {}.encode_to_vec())
        }
        HaCall::ToObserver => Err(NnError::new(
            "ServiceFailedException",
            "This NameNode does not support the observer state",
        )),
        HaCall::ServiceStatus => {
            let (state, ready, reason) = nn.service_status();
            Ok(pb::GetServiceStatusResponseProto {
                state: state_proto(state)? as i32,
                ready_to_become_active: Some(ready),
                not_ready_reason: reason,
            }
            .encode_to_vec())
        }
        HaCall::WatchHealth(last) => Ok(watch_health(nn, last).await?.encode_to_vec()),
    }
}

/// This NameNode's state and health now; a stopping NameNode fails the watch, so that its
/// RPC server can drain.
fn health_report(nn: &NameNode) -> Result<pb::HealthReportProto, NnError> {
    let stopping = || NnError::new("HealthCheckFailedException", "The NameNode is stopping");
    let state = state_proto(nn.state()).map_err(|_| stopping())?;
    let health = nn.monitor_health();
    Ok(pb::HealthReportProto {
        state: state as i32,
        healthy: health.is_ok(),
        unhealthy_reason: health.err().map(|e| e.message),
    })
}

async fn watch_health(
    nn: &NameNode,
    last: Option<pb::HealthReportProto>,
) -> Result<pb::HealthReportProto, NnError> {
    let fatal = nn.fatal_token();
    let until = tokio::time::Instant::now() + WATCH_HOLD;
    loop {
        let report = health_report(nn)?;
        if last.as_ref() != Some(&report) || tokio::time::Instant::now() >= until {
            return Ok(report);
        }
        tokio::select! {
            _ = tokio::time::sleep(WATCH_PERIOD) => {}
            _ = fatal.cancelled(), if !fatal.is_cancelled() => {}
        }
    }
}

/// Everything the NameNode serves over IPC: ClientNamenodeProtocol, HAServiceProtocol and
/// NamenodeProtocol (`super::peer`).
pub struct NameNodeIpc<T: ClientProtocol> {
    pub nn: Arc<NameNode>,
    pub client: ClientProtocolServer<T>,
}

impl<T: ClientProtocol> Service for NameNodeIpc<T> {
    fn protocols(&self) -> &'static [&'static str] {
        &[protocol::PROTOCOL, PROTOCOL, peer::PROTOCOL]
    }

    fn call(
        &self,
        caller: &Arc<Caller>,
        ids: CallIds,
        protocol: &str,
        method: &str,
        payload: Bytes,
    ) -> Result<ResponseFuture, DispatchError> {
        if protocol == peer::PROTOCOL {
            let call = peer::decode(method, payload)?;
            let nn = self.nn.clone();
            return Ok(Box::pin(async move {
                peer::run(&nn, call).await.map_err(RemoteException::from)
            }));
        }
        if protocol != PROTOCOL {
            return self.client.call(caller, ids, protocol, method, payload);
        }
        let call = decode(method, payload)?;
        let nn = self.nn.clone();
        let who = caller.address.to_string();
        Ok(Box::pin(async move {
            run(&nn, &who, call).await.map_err(RemoteException::from)
        }))
    }
}

//! The ZKFC's and `hdfs haadmin`'s clients: HAServiceProtocol to a NameNode and
//! ZKFCProtocol to a ZKFC, over gRPC, with per-call timeouts and failures in the words of
//! Hadoop's IPC client (`Call From … failed on connection exception: …`). Wire types stay here.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use super::health::ServiceState;
use crate::conf::HostPort;
use crate::journal::service::EXCEPTION_CLASS_KEY;
use crate::namenode::client::{ClientError, connect_timeout, connection_failure};
use crate::proto::haservice as ha;
use crate::proto::haservice::ha_service_protocol_service_client::HaServiceProtocolServiceClient;
use crate::proto::zkfc as zp;
use crate::proto::zkfc::zkfc_protocol_service_client::ZkfcProtocolServiceClient;

/// Who asks for an HA state change (`HARequestSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestSource {
    User,
    UserForced,
    Zkfc,
}

impl RequestSource {
    fn proto(self) -> Option<ha::HaStateChangeRequestInfoProto> {
        let source = match self {
            RequestSource::User => ha::HaRequestSource::RequestByUser,
            RequestSource::UserForced => ha::HaRequestSource::RequestByUserForced,
            RequestSource::Zkfc => ha::HaRequestSource::RequestByZkfc,
        };
        Some(ha::HaStateChangeRequestInfoProto {
            req_source: source as i32,
        })
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The service answered with a Hadoop exception (`class` is its simple name).
    #[error("{message}")]
    Remote { class: String, message: String },
    /// No answer (refused, broken, timed out), in Hadoop's IPC words.
    #[error("{0}")]
    Unreachable(String),
}

impl CallError {
    /// Whether this is the service saying it is unhealthy (`HealthCheckFailedException`).
    pub fn is_health_check_failure(&self) -> bool {
        matches!(self, CallError::Remote { class, .. } if class == "HealthCheckFailedException")
    }

    fn from_status(address: &HostPort, status: &tonic::Status, timeout: Duration) -> CallError {
        if let Some(class) = status.metadata().get(EXCEPTION_CLASS_KEY) {
            return CallError::Remote {
                class: class.to_str().unwrap_or("IOException").to_string(),
                message: status.message().to_string(),
            };
        }
        match status.code() {
            tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled => {
                CallError::Unreachable(connection_failure(address, status, timeout).to_string())
            }
            tonic::Code::DeadlineExceeded => CallError::Unreachable(read_timeout(address, timeout)),
            _ => CallError::Remote {
                class: "IOException".to_string(),
                message: status.message().to_string(),
            },
        }
    }
}

impl From<ClientError> for CallError {
    fn from(err: ClientError) -> CallError {
        CallError::Unreachable(err.to_string())
    }
}

/// Hadoop's message for a call that got no answer in time.
fn read_timeout(address: &HostPort, timeout: Duration) -> String {
    format!(
        "Call From {} to {address} failed on socket timeout exception: java.net.SocketTimeoutException: {} millis timeout while waiting for channel to be ready for read. ch : java.nio.channels.SocketChannel[connected remote={address}]; For more details see:  http://wiki.apache.org/hadoop/SocketTimeout",
        crate::host::host_name(),
        timeout.as_millis()
    )
}

/// Opens a channel to `address`, trying `1 + retries` times (at once: a refused connection
/// means nothing listens there now; waiting between tries, as Hadoop's IPC client does for
/// a second, would only delay a failover).
async fn channel(
    address: &HostPort,
    timeout: Duration,
    retries: u32,
) -> Result<Channel, CallError> {
    let endpoint = Endpoint::from_shared(format!("http://{address}"))
        .map_err(|e| CallError::Unreachable(format!("{address}: {e}")))?
        .connect_timeout(timeout)
        .timeout(timeout)
        .tcp_nodelay(true);
    let mut attempt = 0;
    loop {
        let err = match tokio::time::timeout(timeout, endpoint.connect()).await {
            Ok(Ok(channel)) => return Ok(channel),
            Ok(Err(err)) => connection_failure(address, &err, timeout),
            Err(_) => connect_timeout(address, timeout),
        };
        if attempt >= retries {
            return Err(err.into());
        }
        attempt += 1;
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
        ha::HaServiceStateProto::Stopping => ServiceState::Stopping,
    }
}

/// An HAServiceProtocol client for one NameNode (Hadoop's `getProxy(conf, timeout)`).
#[derive(Debug, Clone)]
pub struct HaClient {
    address: HostPort,
    timeout: Duration,
    client: HaServiceProtocolServiceClient<Channel>,
}

impl HaClient {
    /// Connects, with `timeout` for the connection and for every call.
    pub async fn connect(
        address: &HostPort,
        timeout: Duration,
        retries: u32,
    ) -> Result<HaClient, CallError> {
        let channel = channel(address, timeout, retries).await?;
        Ok(HaClient {
            address: address.clone(),
            timeout,
            client: HaServiceProtocolServiceClient::new(channel),
        })
    }

    async fn call<T, F>(&self, rpc: F) -> Result<T, CallError>
    where
        F: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        match tokio::time::timeout(self.timeout, rpc).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(CallError::from_status(&self.address, &status, self.timeout)),
            Err(_) => Err(CallError::Unreachable(read_timeout(
                &self.address,
                self.timeout,
            ))),
        }
    }

    pub async fn get_service_status(&self) -> Result<ServiceStatus, CallError> {
        let mut client = self.client.clone();
        let status = self
            .call(client.get_service_status(ha::GetServiceStatusRequestProto {}))
            .await?;
        Ok(ServiceStatus {
            state: service_state(status.state()),
            ready_to_become_active: status.ready_to_become_active,
            not_ready_reason: status.not_ready_reason,
        })
    }

    pub async fn monitor_health(&self) -> Result<(), CallError> {
        let mut client = self.client.clone();
        self.call(client.monitor_health(ha::MonitorHealthRequestProto {}))
            .await
            .map(|_| ())
    }

    pub async fn transition_to_active(&self, source: RequestSource) -> Result<(), CallError> {
        let mut client = self.client.clone();
        self.call(
            client.transition_to_active(ha::TransitionToActiveRequestProto {
                req_info: source.proto(),
            }),
        )
        .await
        .map(|_| ())
    }

    pub async fn transition_to_standby(&self, source: RequestSource) -> Result<(), CallError> {
        let mut client = self.client.clone();
        self.call(
            client.transition_to_standby(ha::TransitionToStandbyRequestProto {
                req_info: source.proto(),
            }),
        )
        .await
        .map(|_| ())
    }

    pub async fn transition_to_observer(&self, source: RequestSource) -> Result<(), CallError> {
        let mut client = self.client.clone();
        self.call(
            client.transition_to_observer(ha::TransitionToObserverRequestProto {
                req_info: source.proto(),
            }),
        )
        .await
        .map(|_| ())
    }

    /// Opens the health stream (no timeout: it stays open while the NameNode lives).
    pub async fn watch_health(&self) -> Result<tonic::Streaming<ha::HealthReportProto>, CallError> {
        let mut client = self.client.clone();
        let request = tonic::Request::new(ha::WatchHealthRequestProto {});
        match tokio::time::timeout(self.timeout, client.watch_health(request)).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(CallError::from_status(&self.address, &status, self.timeout)),
            Err(_) => Err(CallError::Unreachable(read_timeout(
                &self.address,
                self.timeout,
            ))),
        }
    }
}

/// A ZKFCProtocol client for one ZKFC (Hadoop's `getZKFCProxy(conf, timeout)`).
#[derive(Debug, Clone)]
pub struct ZkfcClient {
    address: HostPort,
    timeout: Duration,
    client: ZkfcProtocolServiceClient<Channel>,
}

impl ZkfcClient {
    pub async fn connect(address: &HostPort, timeout: Duration) -> Result<ZkfcClient, CallError> {
        let channel = channel(address, timeout, 0).await?;
        Ok(ZkfcClient {
            address: address.clone(),
            timeout,
            client: ZkfcProtocolServiceClient::new(channel),
        })
    }

    async fn call<T, F>(&self, rpc: F) -> Result<T, CallError>
    where
        F: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        match tokio::time::timeout(self.timeout, rpc).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(CallError::from_status(&self.address, &status, self.timeout)),
            Err(_) => Err(CallError::Unreachable(read_timeout(
                &self.address,
                self.timeout,
            ))),
        }
    }

    pub async fn cede_active(&self, millis: i32) -> Result<(), CallError> {
        let mut client = self.client.clone();
        self.call(client.cede_active(zp::CedeActiveRequestProto {
            millis_to_cede: millis,
        }))
        .await
        .map(|_| ())
    }

    pub async fn graceful_failover(&self) -> Result<(), CallError> {
        let mut client = self.client.clone();
        self.call(client.graceful_failover(zp::GracefulFailoverRequestProto {}))
            .await
            .map(|_| ())
    }
}

/// A gRPC status carrying a Hadoop exception (`class` in the `exception-class` metadata).
pub fn hadoop_status(class: &str, message: impl Into<String>) -> tonic::Status {
    let mut status = tonic::Status::new(tonic::Code::FailedPrecondition, message.into());
    if let Ok(value) = class.parse() {
        status.metadata_mut().insert(EXCEPTION_CLASS_KEY, value);
    }
    status
}

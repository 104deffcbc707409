//! One IPC connection to a Hadoop daemon for one protocol, with a timeout for connecting
//! and for every call, and failures in the words of Hadoop's IPC client (`Call From … failed
//! on connection exception: …`): what the typed clients of HAServiceProtocol, ZKFCProtocol
//! and NamenodeProtocol are made of. Every protocol they speak is at version 1.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;

use super::client::{self, Connection, ConnectionContext};
use super::exception::{
    CallFailure, Unreachable, connect_timeout, connection_failure, read_timeout, simple_class,
};
use super::frame::{DEFAULT_MAX_RESPONSE_LENGTH, class};
use crate::conf::HostPort;
use crate::host::current_user;

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
        self.is_remote("HealthCheckFailedException")
    }

    /// Whether the service does not know the method (a Hadoop daemon asked for one of ours).
    pub fn is_no_such_method(&self) -> bool {
        self.is_remote(simple_class(class::NO_SUCH_METHOD))
    }

    fn is_remote(&self, simple: &str) -> bool {
        matches!(self, CallError::Remote { class, .. } if class == simple)
    }
}

impl From<Unreachable> for CallError {
    fn from(err: Unreachable) -> CallError {
        CallError::Unreachable(err.message)
    }
}

impl From<CallFailure> for CallError {
    fn from(failure: CallFailure) -> CallError {
        match failure {
            CallFailure::Remote(e) => CallError::Remote {
                class: e.simple_class().to_string(),
                message: e.message,
            },
            CallFailure::Unreachable(e) => e.into(),
        }
    }
}

/// One IPC connection to a NameNode or a ZKFC, for one protocol, with a timeout for
/// connecting and for every call. Clones share the connection.
#[derive(Debug, Clone)]
pub struct Peer {
    pub address: HostPort,
    pub timeout: Duration,
    pub connection: Arc<Connection>,
}

impl Peer {
    /// Connects, trying `1 + retries` times (at once: a refused connection means nothing
    /// listens there now; waiting between tries, as Hadoop's IPC client does for a second,
    /// would only delay a failover).
    pub async fn connect(
        address: &HostPort,
        protocol: &'static str,
        timeout: Duration,
        retries: u32,
    ) -> Result<Peer, CallError> {
        let context = ConnectionContext {
            protocol,
            protocol_version: 1,
            user: current_user(),
            client_id: crate::seeded::SeededRng::from_entropy().bytes(),
            max_response_length: DEFAULT_MAX_RESPONSE_LENGTH,
        };
        let mut attempt = 0;
        loop {
            let connecting = Connection::connect(&address.host, address.port, context.clone());
            let err = match tokio::time::timeout(timeout, connecting).await {
                Ok(Ok(connection)) => {
                    return Ok(Peer {
                        address: address.clone(),
                        timeout,
                        connection: Arc::new(connection),
                    });
                }
                Ok(Err(err)) => connection_failure(address, &err, timeout),
                Err(_) => connect_timeout(address, timeout),
            };
            if attempt >= retries {
                return Err(err.into());
            }
            attempt += 1;
        }
    }

    pub fn failure(&self, err: client::CallError) -> CallError {
        err.at(&self.address, self.timeout).into()
    }

    /// Calls `method`, waiting at most the timeout (or without limit when `bounded` is false).
    pub async fn call<Req: Message, Resp: Message + Default>(
        &self,
        method: &str,
        request: &Req,
        bounded: bool,
    ) -> Result<Resp, CallError> {
        let call = self.connection.call(method, request);
        let outcome = if bounded {
            match tokio::time::timeout(self.timeout, call).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    return Err(read_timeout(&self.address, self.timeout).into());
                }
            }
        } else {
            call.await
        };
        outcome.map_err(|e| self.failure(e))
    }
}

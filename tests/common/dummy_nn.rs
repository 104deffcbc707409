//! A stand-in NameNode for ZKFC and haadmin tests (Hadoop's `DummyHAService`): it serves
//! HAServiceProtocol over Hadoop IPC (and our `watchHealth`) on 127.0.0.x with a state the test controls — healthy or not, failing to
//! become active or standby, reachable or not — and counts its transitions.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hdfs_ha::ipc::RemoteException;
use hdfs_ha::ipc::server::{CallIds, Caller, DispatchError, ResponseFuture, ServerConf, Service};
use hdfs_ha::proto::hadoop_haservice as ha;
use prost::Message;

/// What a test can see and change.
#[derive(Debug, Clone)]
pub struct DummyState {
    pub state: ha::HaServiceStateProto,
    pub healthy: bool,
    pub fail_to_become_active: bool,
    pub fail_to_become_standby: bool,
    /// Whether it answers our `watchHealth` (false: it answers as a Hadoop NameNode does,
    /// with RpcNoSuchMethodException).
    pub watch_health: bool,
    pub active_transitions: u32,
    pub standby_transitions: u32,
    /// Request sources of the transitions, in order.
    pub sources: Vec<ha::HaRequestSource>,
}

#[derive(Clone)]
struct DummyService {
    state: Arc<Mutex<DummyState>>,
}

fn failure(class: &str, message: &str) -> RemoteException {
    RemoteException {
        class: format!("org.apache.hadoop.ha.{class}"),
        message: message.to_string(),
    }
}

impl DummyService {
    fn monitor_health(&self) -> Result<ha::MonitorHealthResponseProto, RemoteException> {
        if !self.state.lock().unwrap().healthy {
            return Err(failure(
                "HealthCheckFailedException",
                "The NameNode has no resources available",
            ));
        }
        Ok(ha::MonitorHealthResponseProto {})
    }

    fn transition(
        &self,
        to: ha::HaServiceStateProto,
        info: &ha::HaStateChangeRequestInfoProto,
    ) -> Result<(), RemoteException> {
        let mut s = self.state.lock().unwrap();
        s.sources.push(info.req_source());
        let fail = match to {
            ha::HaServiceStateProto::Active => s.fail_to_become_active,
            _ => s.fail_to_become_standby,
        };
        if fail {
            return Err(failure("ServiceFailedException", "injected failure"));
        }
        if s.state != to {
            match to {
                ha::HaServiceStateProto::Active => s.active_transitions += 1,
                _ => s.standby_transitions += 1,
            }
        }
        s.state = to;
        Ok(())
    }

    fn report(&self) -> ha::HealthReportProto {
        let s = self.state.lock().unwrap();
        ha::HealthReportProto {
            state: s.state as i32,
            healthy: s.healthy,
            unhealthy_reason: None,
        }
    }

    /// Our long poll: answers when the report differs from `last` (or after a while).
    async fn watch_health(&self, last: Option<ha::HealthReportProto>) -> ha::HealthReportProto {
        let until = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let report = self.report();
            if last.as_ref() != Some(&report) || tokio::time::Instant::now() >= until {
                return report;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Service for DummyService {
    fn protocols(&self) -> &'static [&'static str] {
        &["org.apache.hadoop.ha.HAServiceProtocol"]
    }

    fn call(
        &self,
        _caller: &Arc<Caller>,
        _ids: CallIds,
        _protocol: &str,
        method: &str,
        payload: Bytes,
    ) -> Result<ResponseFuture, DispatchError> {
        let undecodable = DispatchError::Undecodable;
        let this = self.clone();
        let answer: Result<Vec<u8>, RemoteException> = match method {
            "monitorHealth" => {
                ha::MonitorHealthRequestProto::decode(payload).map_err(undecodable)?;
                this.monitor_health().map(|r| r.encode_to_vec())
            }
            "transitionToActive" => {
                let r = ha::TransitionToActiveRequestProto::decode(payload).map_err(undecodable)?;
                this.transition(ha::HaServiceStateProto::Active, &r.req_info)
                    .map(|()| ha::TransitionToActiveResponseProto {}.encode_to_vec())
            }
            "transitionToStandby" => {
                let r =
                    ha::TransitionToStandbyRequestProto::decode(payload).map_err(undecodable)?;
                this.transition(ha::HaServiceStateProto::Standby, &r.req_info)
                    .map(|()| ha::TransitionToStandbyResponseProto {}.encode_to_vec())
            }
            "transitionToObserver" => Err(failure(
                "ServiceFailedException",
                "This NameNode does not support the observer state",
            )),
            "getServiceStatus" => {
                let s = this.state.lock().unwrap();
                Ok(ha::GetServiceStatusResponseProto {
                    state: s.state as i32,
                    ready_to_become_active: Some(true),
                    not_ready_reason: None,
                }
                .encode_to_vec())
            }
            "watchHealth" if this.state.lock().unwrap().watch_health => {
                let r = ha::WatchHealthRequestProto::decode(payload).map_err(undecodable)?;
                return Ok(Box::pin(async move {
                    Ok(this.watch_health(r.last).await.encode_to_vec())
                }));
            }
            _ => return Err(DispatchError::NoSuchMethod),
        };
        Ok(Box::pin(async move { answer }))
    }
}

/// One dummy NameNode. It serves on a runtime of its own, so that stopping it drops every
/// connection at once, as a crashed process would.
pub struct DummyNn {
    pub address: String,
    pub state: Arc<Mutex<DummyState>>,
    server: Option<std::sync::mpsc::Sender<()>>,
}

impl DummyNn {
    /// A standby service on a free port of `host`, not yet serving.
    pub fn new(host: &str) -> DummyNn {
        let port = super::cluster::free_port(host);
        DummyNn {
            address: format!("{host}:{port}"),
            state: Arc::new(Mutex::new(DummyState {
                state: ha::HaServiceStateProto::Standby,
                healthy: true,
                fail_to_become_active: false,
                fail_to_become_standby: false,
                watch_health: true,
                active_transitions: 0,
                standby_transitions: 0,
                sources: Vec::new(),
            })),
            server: None,
        }
    }

    /// Serves (again) on its address.
    pub fn start(&mut self) {
        self.stop();
        let listener = std::net::TcpListener::bind(&self.address).unwrap();
        listener.set_nonblocking(true).unwrap();
        let service = Arc::new(DummyService {
            state: self.state.clone(),
        });
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.spawn(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let token = tokio_util::sync::CancellationToken::new();
                hdfs_ha::ipc::accept::accept_ipc(listener, service, ServerConf::default(), token)
                    .await;
            });
            let _ = stopped.recv();
            runtime.shutdown_background();
        });
        self.server = Some(stop);
    }

    /// Stops answering, as a crashed process would (connections drop).
    pub fn stop(&mut self) {
        if let Some(stop) = self.server.take() {
            let _ = stop.send(());
            // The runtime goes down on its own thread; give the sockets a moment to close.
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn get(&self) -> DummyState {
        self.state.lock().unwrap().clone()
    }

    /// Serving, and in the active state (a stopped stand-in is a dead process).
    pub fn is_active(&self) -> bool {
        self.server.is_some() && self.get().state == ha::HaServiceStateProto::Active
    }

    pub fn set(&self, change: impl FnOnce(&mut DummyState)) {
        change(&mut self.state.lock().unwrap());
    }
}

impl Drop for DummyNn {
    fn drop(&mut self) {
        self.stop();
    }
}

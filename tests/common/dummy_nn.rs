//! A stand-in NameNode for ZKFC and haadmin tests (Hadoop's `DummyHAService`): it serves
//! HAServiceProtocol on 127.0.0.x with a state the test controls — healthy or not, failing to
//! become active or standby, reachable or not — and counts its transitions.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdfs_ha::proto::haservice as ha;
use hdfs_ha::proto::haservice::ha_service_protocol_service_server::{
    HaServiceProtocolService, HaServiceProtocolServiceServer,
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

/// What a test can see and change.
#[derive(Debug, Clone)]
pub struct DummyState {
    pub state: ha::HaServiceStateProto,
    pub healthy: bool,
    pub fail_to_become_active: bool,
    pub fail_to_become_standby: bool,
    pub active_transitions: u32,
    pub standby_transitions: u32,
    /// Request sources of the transitions, in order.
    pub sources: Vec<ha::HaRequestSource>,
}

#[derive(Clone)]
struct Service {
    state: Arc<Mutex<DummyState>>,
}

fn failure(class: &str, message: &str) -> Status {
    let mut status = Status::failed_precondition(message);
    status
        .metadata_mut()
        .insert("exception-class", class.parse().unwrap());
    status
}

#[tonic::async_trait]
impl HaServiceProtocolService for Service {
    async fn monitor_health(
        &self,
        _: Request<ha::MonitorHealthRequestProto>,
    ) -> Result<Response<ha::MonitorHealthResponseProto>, Status> {
        if !self.state.lock().unwrap().healthy {
            return Err(failure(
                "HealthCheckFailedException",
                "The NameNode has no resources available",
            ));
        }
        Ok(Response::new(ha::MonitorHealthResponseProto {}))
    }

    async fn transition_to_active(
        &self,
        request: Request<ha::TransitionToActiveRequestProto>,
    ) -> Result<Response<ha::TransitionToActiveResponseProto>, Status> {
        let source = request.into_inner().req_info.map(|r| r.req_source());
        let mut s = self.state.lock().unwrap();
        s.sources.extend(source);
        if s.fail_to_become_active {
            return Err(failure("ServiceFailedException", "injected failure"));
        }
        if s.state != ha::HaServiceStateProto::Active {
            s.active_transitions += 1;
        }
        s.state = ha::HaServiceStateProto::Active;
        Ok(Response::new(ha::TransitionToActiveResponseProto {}))
    }

    async fn transition_to_standby(
        &self,
        request: Request<ha::TransitionToStandbyRequestProto>,
    ) -> Result<Response<ha::TransitionToStandbyResponseProto>, Status> {
        let source = request.into_inner().req_info.map(|r| r.req_source());
        let mut s = self.state.lock().unwrap();
        s.sources.extend(source);
        if s.fail_to_become_standby {
            return Err(failure("ServiceFailedException", "injected failure"));
        }
        if s.state != ha::HaServiceStateProto::Standby {
            s.standby_transitions += 1;
        }
        s.state = ha::HaServiceStateProto::Standby;
        Ok(Response::new(ha::TransitionToStandbyResponseProto {}))
    }

    async fn transition_to_observer(
        &self,
        _: Request<ha::TransitionToObserverRequestProto>,
    ) -> Result<Response<ha::TransitionToObserverResponseProto>, Status> {
        Err(failure(
            "ServiceFailedException",
            "This NameNode does not support the observer state",
        ))
    }

    async fn get_service_status(
        &self,
        _: Request<ha::GetServiceStatusRequestProto>,
    ) -> Result<Response<ha::GetServiceStatusResponseProto>, Status> {
        let s = self.state.lock().unwrap();
        Ok(Response::new(ha::GetServiceStatusResponseProto {
            state: s.state as i32,
            ready_to_become_active: true,
            not_ready_reason: None,
        }))
    }

    type watchHealthStream = ReceiverStream<Result<ha::HealthReportProto, Status>>;

    async fn watch_health(
        &self,
        _: Request<ha::WatchHealthRequestProto>,
    ) -> Result<Response<Self::watchHealthStream>, Status> {
        let state = self.state.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            let mut last = None;
            loop {
                let report = {
                    let s = state.lock().unwrap();
                    ha::HealthReportProto {
                        state: s.state as i32,
                        healthy: s.healthy,
                        unhealthy_reason: None,
                    }
                };
                if last.as_ref() != Some(&report) {
                    if tx.send(Ok(report.clone())).await.is_err() {
                        return;
                    }
                    last = Some(report);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
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
        let service = Service {
            state: self.state.clone(),
        };
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.spawn(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let _ = tonic::transport::Server::builder()
                    .add_service(HaServiceProtocolServiceServer::new(service))
                    .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
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

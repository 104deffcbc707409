//! The protobuf code generation path (protox → tonic-prost-build) produces a working gRPC
//! service: a server and a client generated from `proto/haservice.proto` talk over loopback,
//! and the messages round-trip through their wire encoding.

use std::sync::Mutex;

use hdfs_ha::proto::haservice::ha_service_protocol_service_client::HaServiceProtocolServiceClient;
use hdfs_ha::proto::haservice::ha_service_protocol_service_server::{
    HaServiceProtocolService, HaServiceProtocolServiceServer,
};
use hdfs_ha::proto::haservice::*;
use prost::Message;
use tonic::{Request, Response, Status};

/// A service whose HA state the test drives; it refuses manual control the way a NameNode with
/// automatic failover does, so the request source crosses the wire.
struct RecordingService {
    state: Mutex<HaServiceStateProto>,
}

#[tonic::async_trait]
impl HaServiceProtocolService for RecordingService {
    async fn monitor_health(
        &self,
        _: Request<MonitorHealthRequestProto>,
    ) -> Result<Response<MonitorHealthResponseProto>, Status> {
        Ok(Response::new(MonitorHealthResponseProto {}))
    }

    async fn transition_to_active(
        &self,
        request: Request<TransitionToActiveRequestProto>,
    ) -> Result<Response<TransitionToActiveResponseProto>, Status> {
        let source = request.into_inner().req_info.map(|r| r.req_source());
        if source == Some(HaRequestSource::RequestByUser) {
            return Err(Status::permission_denied(
                "Manual HA control for this NameNode is disallowed, because automatic HA is enabled.",
            ));
        }
        *self.state.lock().unwrap() = HaServiceStateProto::Active;
        Ok(Response::new(TransitionToActiveResponseProto {}))
    }

    async fn transition_to_standby(
        &self,
        _: Request<TransitionToStandbyRequestProto>,
    ) -> Result<Response<TransitionToStandbyResponseProto>, Status> {
        *self.state.lock().unwrap() = HaServiceStateProto::Standby;
        Ok(Response::new(TransitionToStandbyResponseProto {}))
    }

    async fn transition_to_observer(
        &self,
        _: Request<TransitionToObserverRequestProto>,
    ) -> Result<Response<TransitionToObserverResponseProto>, Status> {
        Err(Status::failed_precondition(
            "Cannot transition from 'standby' to 'observer'",
        ))
    }

    async fn get_service_status(
        &self,
        _: Request<GetServiceStatusRequestProto>,
    ) -> Result<Response<GetServiceStatusResponseProto>, Status> {
        let state = *self.state.lock().unwrap();
        Ok(Response::new(GetServiceStatusResponseProto {
            state: state as i32,
            ready_to_become_active: state == HaServiceStateProto::Standby,
            not_ready_reason: None,
        }))
    }

    type watchHealthStream =
        tokio_stream::Iter<std::vec::IntoIter<Result<HealthReportProto, Status>>>;

    async fn watch_health(
        &self,
        _: Request<WatchHealthRequestProto>,
    ) -> Result<Response<Self::watchHealthStream>, Status> {
        let state = *self.state.lock().unwrap();
        Ok(Response::new(tokio_stream::iter(vec![Ok(
            HealthReportProto {
                state: state as i32,
                healthy: true,
                unhealthy_reason: None,
            },
        )])))
    }
}

#[tokio::test]
async fn generated_client_and_server_talk_over_loopback() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = RecordingService {
        state: Mutex::new(HaServiceStateProto::Standby),
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(HaServiceProtocolServiceServer::new(service))
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                async {
                    let _ = stop_rx.await;
                },
            ),
    );

    let mut client = HaServiceProtocolServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let status = client
        .get_service_status(GetServiceStatusRequestProto {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.state(), HaServiceStateProto::Standby);
    assert_eq!(status.state().display_name(), "standby");
    assert!(status.ready_to_become_active);

    let by_user = |source: HaRequestSource| TransitionToActiveRequestProto {
        req_info: Some(HaStateChangeRequestInfoProto {
            req_source: source as i32,
        }),
    };
    let refused = client
        .transition_to_active(by_user(HaRequestSource::RequestByUser))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    assert_eq!(
        refused.message(),
        "Manual HA control for this NameNode is disallowed, because automatic HA is enabled."
    );
    client
        .transition_to_active(by_user(HaRequestSource::RequestByZkfc))
        .await
        .unwrap();
    let status = client
        .get_service_status(GetServiceStatusRequestProto {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.state().display_name(), "active");

    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[test]
fn messages_round_trip_through_the_wire_encoding() {
    let status = GetServiceStatusResponseProto {
        state: HaServiceStateProto::Standby as i32,
        ready_to_become_active: false,
        not_ready_reason: Some("The NameNode is in safemode.".into()),
    };
    let bytes = status.encode_to_vec();
    assert_eq!(
        GetServiceStatusResponseProto::decode(bytes.as_slice()).unwrap(),
        status
    );
    // Truncated input is an error, never a panic.
    assert!(GetServiceStatusResponseProto::decode(&bytes[..bytes.len() - 3]).is_err());
    for state in [
        HaServiceStateProto::Initializing,
        HaServiceStateProto::Active,
        HaServiceStateProto::Standby,
        HaServiceStateProto::Observer,
        HaServiceStateProto::Stopping,
    ] {
        assert_eq!(
            HaServiceStateProto::from_str_name(state.as_str_name()),
            Some(state)
        );
    }
}

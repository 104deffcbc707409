//! Code generated from `proto/*.proto` by `build.rs`. Only service modules use these types;
//! they never travel past a service boundary into the cores.

/// The NameNode's client and NameNode-to-NameNode protocols, edit ops and fsimage records.
#[allow(non_camel_case_types)]
pub mod namenode {
    tonic::include_proto!("hdfs_ha.namenode");
}

/// Hadoop IPC's headers (`RpcHeader.proto`, `ProtobufRpcEngine2.proto`,
/// `IpcConnectionContext.proto`): the framing of the client protocol (see `crate::ipc`).
pub mod ipc {
    tonic::include_proto!("hadoop.common");
}

/// Hadoop's `HAZKInfo.proto`: the ActiveNodeInfo record stored in ZooKeeper by the ZKFCs.
pub mod hazkinfo {
    tonic::include_proto!("hadoop.hdfs");
}

/// Hadoop 3.3.6's QJournalProtocol and InterQJournalProtocol messages (proto2), as real
/// NameNodes and JournalNodes send them over Hadoop IPC.
#[allow(non_camel_case_types)]
pub mod hadoop_qjournal {
    tonic::include_proto!("hadoop.hdfs.qjournal");
}

/// Hadoop 3.3.6's HAServiceProtocol messages (proto2), as real `hdfs haadmin` and ZKFCs send
/// them over Hadoop IPC.
/// Also hdfs-ha's `watchHealth` messages (`proto/hdfs_ha_health.proto`).
pub mod hadoop_haservice {
    tonic::include_proto!("hadoop.ha");

    impl HaServiceStateProto {
        /// The lowercase name Hadoop prints (`hdfs haadmin -getServiceState`).
        pub fn display_name(self) -> &'static str {
            match self {
                HaServiceStateProto::Initializing => "initializing",
                HaServiceStateProto::Active => "active",
                HaServiceStateProto::Standby => "standby",
                HaServiceStateProto::Observer => "observer",
            }
        }
    }
}

/// Hadoop 3.3.6's ZKFCProtocol messages (proto2): `cedeActive` and `gracefulFailover`, as
/// real `hdfs haadmin` and ZKFCs send them to a ZKFC over Hadoop IPC.
pub mod hadoop_zkfc {
    tonic::include_proto!("hadoop.zkfc");
}

//! Code generated from `proto/*.proto` by `build.rs`. Only service modules use these types;
//! they never travel past a service boundary into the cores.

/// The fsimage records of earlier hdfs-ha releases, read only (`proto/namenode.proto`).
#[allow(non_camel_case_types)]
pub mod namenode {
    include!(concat!(env!("OUT_DIR"), "/hdfs_ha.namenode.rs"));
}

/// Hadoop IPC's headers (`RpcHeader.proto`, `ProtobufRpcEngine2.proto`,
/// `IpcConnectionContext.proto`): the framing of the client protocol (see `crate::ipc`).
pub mod ipc {
    include!(concat!(env!("OUT_DIR"), "/hadoop.common.rs"));
}

/// Hadoop 3.3.6's ClientNamenodeProtocol messages (proto2) and the `hdfs.proto` types they
/// carry, as DFSClient sends them to a NameNode over Hadoop IPC
/// (`proto/hadoop_client.proto`). Hadoop's package `hadoop.hdfs` also holds `HAZKInfo.proto`,
/// so this module is [`hazkinfo`] too. `HAServiceStateResponseProto` uses the
/// HAServiceStateProto of `hadoop_haservice`, which the generated code names by its package's
/// last part.
#[allow(non_camel_case_types)]
pub mod hadoop_client {
    include!(concat!(env!("OUT_DIR"), "/hadoop.hdfs.rs"));
}
use hadoop_haservice as ha;

/// Hadoop's `HAZKInfo.proto`: the ActiveNodeInfo record stored in ZooKeeper by the ZKFCs.
pub use hadoop_client as hazkinfo;

/// Hadoop 3.3.6's QJournalProtocol and InterQJournalProtocol messages (proto2), as real
/// NameNodes and JournalNodes send them over Hadoop IPC.
#[allow(non_camel_case_types)]
pub mod hadoop_qjournal {
    include!(concat!(env!("OUT_DIR"), "/hadoop.hdfs.qjournal.rs"));
}

/// Hadoop 3.3.6's fsimage records (proto2, `proto/hadoop_fsimage.proto`), as
/// FSImageFormatProtobuf writes them. They use the hdfs.proto types of `hadoop_client`, which
/// the generated code names by its package's path.
#[allow(non_camel_case_types)]
pub mod hadoop_fsimage {
    include!(concat!(env!("OUT_DIR"), "/hadoop.hdfs.fsimage.rs"));
}
use hadoop_client::{BlockProto, BlockTypeProto, ErasureCodingPolicyProto, StorageTypeProto};

/// Hadoop 3.3.6's NamenodeProtocol messages (proto2), as one NameNode asks them of another
/// over Hadoop IPC. They use the NamespaceInfo of `hadoop_qjournal`, which the generated code
/// names by its package's last part.
pub mod hadoop_namenode {
    include!(concat!(env!("OUT_DIR"), "/hadoop.hdfs.namenode.rs"));
}
use hadoop_qjournal as qjournal;

/// Hadoop 3.3.6's HAServiceProtocol messages (proto2), as real `hdfs haadmin` and ZKFCs send
/// them over Hadoop IPC.
/// Also hdfs-ha's `watchHealth` messages (`proto/hdfs_ha_health.proto`).
pub mod hadoop_haservice {
    include!(concat!(env!("OUT_DIR"), "/hadoop.ha.rs"));

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
    include!(concat!(env!("OUT_DIR"), "/hadoop.zkfc.rs"));
}

/// Every `proto/*.proto` file as `build.rs` compiled it: an encoded `FileDescriptorSet`, for
/// tests that hold our messages against the descriptors in Hadoop's jars.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));

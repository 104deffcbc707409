//! The ZooKeeper-compatible coordination service (standalone or a ZAB quorum, durable).
//!
//! # Layout
//!
//! - [`jute`] — wire records and the frame codec: the only place that knows byte layouts.
//! - [`txn`] — the transaction: one type for what the processor makes, the tree applies, the
//!   log stores and ZAB replicates, and its bytes.
//! - [`tree`] — the DataTree: znodes, exact `Stat` semantics, sequential names, ephemerals,
//!   containers, TTL nodes, ACL checks and path validation.
//! - [`watch`] — the watch manager (one-shot data/child/exist, persistent, persistent recursive).
//! - [`session`] — the session table: negotiated timeouts, passwords, expiry by tick buckets.
//! - [`processor`] — the request pipeline core: a request becomes a txn, a reply and watch
//!   events; no sockets, clocks or threads inside.
//! - [`store`] — the txn log and snapshots on disk (checksums, group commit, fsync, recovery,
//!   fuzzy snapshots, log files prepared ahead, autopurge).
//! - [`four_letter`] — four-letter words in ZooKeeper's formats and `/metrics` text.
//! - [`zkcli`] — `zkcli`, a zkCli.sh-like shell on the `zookeeper-client` crate.
//! - [`ensemble`] — a server of an ensemble: drives the ZAB peer and the processor in quorum
//!   mode over the election and quorum ports; `run(conf, quorum, listeners, shutdown)`.
//! - [`zab`] — the ZAB peer (election, discovery, synchronization, broadcast) as a sans-IO
//!   state machine, with its wire format and seeded simulator.
//! - [`client_port`] — the client port both roles share: connections, four-letter words, the
//!   registry of outlets, the core's clock and ticker, the metrics endpoint.
//! - `durability` — the durability pipeline both roles share: the syncer thread owning the
//!   [`store::FileStore`] (group commit, fsync, then release), the snapshot thread fed by the
//!   core's fuzzy walk, and the one snapshot schedule.
//! - [`server`] — the standalone server: the core thread on the client port and the
//!   pipeline; `run(conf, listeners, shutdown)`.
//!
//! Invariants kept across the modules: replies on a connection leave in request order; a watch
//! event is queued before any later reply that could observe the change; nothing a reply
//! acknowledges or reveals leaves the server before the txn log holding it is fsynced (when
//! `forceSync`).

pub mod client_port;
mod durability;
pub mod ensemble;
pub mod four_letter;
pub mod jute;
pub mod processor;
pub mod server;
pub mod session;
pub mod store;
pub mod tree;
pub mod txn;
pub mod watch;
pub mod zab;
pub mod zkcli;

/// The version string we report as (`srvr`, `envi`, `mntr`); kazoo parses the leading digits.
pub const ZK_VERSION: &str = "3.8.4-hdfs-ha, built on 2026-11-22 00:00 UTC";

/// `KeeperException.Code`: the error numbers on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Code {
    Ok = 0,
    SystemError = -1,
    RuntimeInconsistency = -2,
    DataInconsistency = -3,
    ConnectionLoss = -4,
    MarshallingError = -5,
    Unimplemented = -6,
    OperationTimeout = -7,
    BadArguments = -8,
    UnknownSession = -12,
    NewConfigNoQuorum = -13,
    ReconfigInProgress = -14,
    ApiError = -100,
    NoNode = -101,
    NoAuth = -102,
    BadVersion = -103,
    NoChildrenForEphemerals = -108,
    NodeExists = -110,
    NotEmpty = -111,
    SessionExpired = -112,
    InvalidCallback = -113,
    InvalidAcl = -114,
    AuthFailed = -115,
    SessionMoved = -118,
    NotReadOnly = -119,
    EphemeralOnLocalSession = -120,
    NoWatcher = -121,
    RequestTimeout = -122,
    ReconfigDisabled = -123,
    SessionClosedRequireSaslAuth = -124,
    QuotaExceeded = -125,
    ThrottledOp = -127,
}

impl Code {
    pub fn as_i32(self) -> i32 {
        self as i32
    }

    /// The code for a wire number, if it is one ZooKeeper defines.
    pub fn from_i32(value: i32) -> Option<Code> {
        use Code::*;
        const ALL: &[Code] = &[
            Ok,
            SystemError,
            RuntimeInconsistency,
            DataInconsistency,
            ConnectionLoss,
            MarshallingError,
            Unimplemented,
            OperationTimeout,
            BadArguments,
            UnknownSession,
            NewConfigNoQuorum,
            ReconfigInProgress,
            ApiError,
            NoNode,
            NoAuth,
            BadVersion,
            NoChildrenForEphemerals,
            NodeExists,
            NotEmpty,
            SessionExpired,
            InvalidCallback,
            InvalidAcl,
            AuthFailed,
            SessionMoved,
            NotReadOnly,
            EphemeralOnLocalSession,
            NoWatcher,
            RequestTimeout,
            ReconfigDisabled,
            SessionClosedRequireSaslAuth,
            QuotaExceeded,
            ThrottledOp,
        ];
        ALL.iter().copied().find(|c| c.as_i32() == value)
    }
}

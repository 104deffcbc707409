//! hdfs-ha: the HDFS NameNode high-availability stack.
//!
//! # Layout
//!
//! - [`conf`] — Hadoop `Configuration` (core-site.xml, hdfs-site.xml, `-D`), the typed HA view,
//!   and `zoo.cfg`.
//! - [`proto`] — the messages generated from `proto/` (wire types stay inside the services
//!   that use them).
//! - [`ipc`] — Hadoop IPC: the framed, multiplexed transport of every daemon-to-daemon
//!   protocol, and Hadoop's exceptions on it.
//! - `http_client` — the HTTP/1.1 client daemons fetch segments and fsimages with.
//! - [`majority`] — majority arithmetic, shared by QJM and ZAB.
//! - `storage_dir` — Hadoop storage directories: `in_use.lock`, `current/VERSION`, durable
//!   file replacement.
//! - [`journal`] — the JournalNode: epoch-fenced journals of edit segments, QJournalProtocol,
//!   `/getJournal`, JournalNode sync.
//! - [`qjm`] — the quorum journal client inside the NameNode (QuorumJournalManager).
//! - [`namenode`] — the NameNode: namespace, edits through the journal quorum, HA states,
//!   checkpoints, its RPC and HTTP servers, and its client (`DfsClient`).
//! - [`zkfc`] — the ZK failover controller: elector, health monitor, fencing, the daemon.
//! - [`coord`] — the ZooKeeper-compatible coordination server (`zkserver`, `zkcli`).
//! - [`admin`] — the `hdfs` front: Hadoop-style command lines, `getconf`, `version`.
//! - [`host`] — this machine's host name and the user this process acts as.
//! - [`java_data`] — Java's `DataOutput`/`DataInput` and Hadoop's `Writable` primitives.
//! - [`log`] — the log line format every binary writes (log4j's default pattern).
//! - [`wall_clock`] — dates and times as Hadoop and ZooKeeper print them.
//! - [`seeded`] — the seeded random generator and seed variable of randomized tests.
//! - [`local_cluster`] — daemons of a loopback cluster as child processes (for benchmarks).
//!
//! See `DESIGN.md` in the shared design folder for where each later component goes.

pub mod admin;
pub mod conf;
pub mod coord;
pub mod host;
pub(crate) mod http_client;
pub mod ipc;
pub mod java_data;
pub mod journal;
pub mod local_cluster;
pub mod log;
pub mod majority;
pub mod namenode;
pub mod proto;
pub mod qjm;
pub mod seeded;
pub(crate) mod storage_dir;
pub mod wall_clock;
pub mod zkfc;

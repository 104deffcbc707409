//! hdfs-ha: the HDFS NameNode high-availability stack.
//!
//! # Layout
//!
//! - [`conf`] — Hadoop `Configuration` (core-site.xml, hdfs-site.xml, `-D`), the typed HA view,
//!   and `zoo.cfg`.
//! - [`proto`] — the messages generated from `proto/` (wire types stay inside the services
//!   that use them).
//! - [`ipc`] — Hadoop IPC: the framed, multiplexed transport of every daemon-to-daemon
//!   protocol.
//! - [`coord`] — the ZooKeeper-compatible coordination server (`zkserver`, `zkcli`).
//! - [`admin`] — the `hdfs` front: Hadoop-style command lines, `getconf`, `version`.
//! - [`host`] — this machine's host name.
//! - [`java_data`] — Java's `DataOutput`/`DataInput` and Hadoop's `Writable` primitives.
//! - [`log`] — the log line format every binary writes (log4j's default pattern).
//! - [`zkfc`] — the ZK failover controller: elector, health monitor, fencing, the daemon.
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
pub mod namenode;
pub mod proto;
pub mod qjm;
pub mod quorum;
pub(crate) mod storage_dir;
pub mod wall_clock;
pub mod zkfc;

//! `JournalChannel`: the requests a writer or reader sends to one JournalNode, as a trait
//! with two transports — [`super::IpcChannel`] (a JournalNode, ours or Hadoop's, over Hadoop
//! IPC) and [`super::LocalChannel`] (a journal in this process, for fault-injection tests).

use std::future::Future;

use crate::journal::{EditLogManifest, NamespaceInfo, PrepareRecoveryResponse, SegmentState};

use super::error::LoggerError;

/// The writer fields of a request (`RequestInfoProto`), filled per call by the logger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterInfo {
    pub epoch: u64,
    pub ipc_serial: u64,
    pub committed_txid: Option<u64>,
}

pub type ChannelResult<T> = Result<T, LoggerError>;

/// One JournalNode, one journal.
pub trait JournalChannel: Send + Sync + 'static {
    /// `host:port`, as messages name the JournalNode.
    fn address(&self) -> String;
    /// Where this JournalNode serves segment `segment_txid` to other JournalNodes (the
    /// `fromURL` of `acceptRecovery`).
    fn segment_url(&self, segment_txid: u64) -> impl Future<Output = ChannelResult<String>> + Send;

    fn is_formatted(&self) -> impl Future<Output = ChannelResult<bool>> + Send;
    fn get_journal_state(&self) -> impl Future<Output = ChannelResult<u64>> + Send;
    fn format(
        &self,
        ns: &NamespaceInfo,
        force: bool,
    ) -> impl Future<Output = ChannelResult<()>> + Send;
    fn new_epoch(
        &self,
        ns: &NamespaceInfo,
        epoch: u64,
    ) -> impl Future<Output = ChannelResult<Option<u64>>> + Send;
    fn start_log_segment(
        &self,
        w: WriterInfo,
        txid: u64,
        layout_version: i32,
    ) -> impl Future<Output = ChannelResult<()>> + Send;
    /// Sends a batch of edits. The batch is on its way when this returns (before the future
    /// is polled): batches sent one after the other reach the JournalNode in that order, and
    /// their answers come in that order.
    fn journal(
        &self,
        w: WriterInfo,
        segment_txid: u64,
        first_txid: u64,
        num_txns: u32,
        records: Vec<u8>,
    ) -> impl Future<Output = ChannelResult<()>> + Send + 'static;
    fn heartbeat(&self, w: WriterInfo) -> impl Future<Output = ChannelResult<()>> + Send;
    fn finalize_log_segment(
        &self,
        w: WriterInfo,
        start: u64,
        end: u64,
    ) -> impl Future<Output = ChannelResult<()>> + Send;
    fn purge_logs(
        &self,
        w: WriterInfo,
        min_txid: u64,
    ) -> impl Future<Output = ChannelResult<()>> + Send;
    fn get_edit_log_manifest(
        &self,
        since_txid: u64,
        in_progress_ok: bool,
    ) -> impl Future<Output = ChannelResult<EditLogManifest>> + Send;
    fn get_journaled_edits(
        &self,
        since_txid: u64,
        max_txns: u32,
    ) -> impl Future<Output = ChannelResult<(u32, Vec<u8>)>> + Send;
    fn prepare_recovery(
        &self,
        w: WriterInfo,
        segment_txid: u64,
    ) -> impl Future<Output = ChannelResult<PrepareRecoveryResponse>> + Send;
    fn accept_recovery(
        &self,
        w: WriterInfo,
        state: SegmentState,
        from_url: String,
    ) -> impl Future<Output = ChannelResult<()>> + Send;
    /// Record bytes of segment `start` from `since_txid` on, with its layout version.
    fn get_segment(
        &self,
        start: u64,
        since_txid: u64,
    ) -> impl Future<Output = ChannelResult<(i32, Vec<u8>)>> + Send;
}

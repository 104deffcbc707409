//! The built-in defaults (our `core-default.xml` and `hdfs-default.xml`) for every key a
//! component of hdfs-ha reads, and Hadoop's table of deprecated key names.
//!
//! Values are Hadoop 3.3's unless marked as hdfs-ha's own. They are raw, like any resource:
//! `${…}` is expanded when read.

/// `(key, default value)`.
pub const DEFAULTS: &[(&str, &str)] = &[
    // ---- core-default.xml
    ("hadoop.tmp.dir", "/tmp/hadoop-${user.name}"),
    ("fs.defaultFS", "file:///"),
    ("ha.zookeeper.quorum", ""),
    ("ha.zookeeper.session-timeout.ms", "10000"),
    ("ha.zookeeper.parent-znode", "/hadoop-ha"),
    ("ha.zookeeper.acl", "world:anyone:rwcda"),
    ("ha.zookeeper.auth", ""),
    ("ha.health-monitor.connect-retry-interval.ms", "1000"),
    ("ha.health-monitor.check-interval.ms", "1000"),
    ("ha.health-monitor.sleep-after-disconnect.ms", "1000"),
    ("ha.health-monitor.rpc-timeout.ms", "45000"),
    ("ha.health-monitor.rpc.connect.max.retries", "1"),
    ("ha.failover-controller.new-active.rpc-timeout.ms", "60000"),
    (
        "ha.failover-controller.graceful-fence.rpc-timeout.ms",
        "5000",
    ),
    (
        "ha.failover-controller.graceful-fence.connection.retries",
        "1",
    ),
    // hdfs-ha's own: Hadoop waits the whole graceful-fence timeout (5 s) for an old active
    // that cannot answer (a frozen or cut-off host) before fencing it; ours gives it this long
    // to answer at all, then runs the fencing methods. An old active that answers gets the
    // whole timeout for its transition to standby.
    (
        "ha.failover-controller.graceful-fence.probe-timeout.ms",
        "500",
    ),
    ("ha.failover-controller.cli-check.rpc-timeout.ms", "20000"),
    (
        "ha.failover-controller.active-standby-elector.zk.op.retries",
        "3",
    ),
    ("dfs.ha.fencing.methods", ""),
    ("dfs.ha.fencing.ssh.connect-timeout", "30000"),
    ("dfs.ha.fencing.ssh.private-key-files", ""),
    ("ipc.client.connect.max.retries", "10"),
    ("ipc.client.connect.retry.interval", "1000"),
    ("ipc.client.connect.timeout", "20000"),
    ("ipc.client.connect.max.retries.on.timeouts", "45"),
    ("ipc.client.rpc-timeout.ms", "0"),
    // ---- hdfs-default.xml: naming and addresses
    ("dfs.nameservices", ""),
    ("dfs.nameservice.id", ""),
    ("dfs.internal.nameservices", ""),
    ("dfs.ha.namenode.id", ""),
    ("dfs.namenode.rpc-address", ""),
    ("dfs.namenode.rpc-bind-host", ""),
    ("dfs.namenode.servicerpc-address", ""),
    ("dfs.namenode.lifeline.rpc-address", ""),
    ("dfs.namenode.http-address", "0.0.0.0:9870"),
    ("dfs.namenode.https-address", "0.0.0.0:9871"),
    // ---- storage
    ("dfs.namenode.name.dir", "file://${hadoop.tmp.dir}/dfs/name"),
    ("dfs.namenode.edits.dir", "${dfs.namenode.name.dir}"),
    ("dfs.namenode.shared.edits.dir", ""),
    ("dfs.namenode.support.allow.format", "true"),
    ("dfs.reformat.disabled", "false"),
    ("dfs.namenode.num.checkpoints.retained", "2"),
    ("dfs.namenode.num.extra.edits.retained", "1000000"),
    ("dfs.namenode.max.extra.edits.segments.retained", "10000"),
    ("dfs.namenode.checkpoint.period", "3600s"),
    ("dfs.namenode.checkpoint.txns", "1000000"),
    ("dfs.namenode.checkpoint.check.period", "60s"),
    ("dfs.ha.standby.checkpoints", "true"),
    ("dfs.namenode.edit.log.autoroll.multiplier.threshold", "0.5"),
    ("dfs.namenode.edit.log.autoroll.check.interval.ms", "300000"),
    ("dfs.namenode.resource.du.reserved", "104857600"),
    ("dfs.namenode.resource.check.interval", "5000"),
    ("dfs.replication", "3"),
    ("dfs.permissions.superusergroup", "supergroup"),
    // ---- JournalNode
    ("dfs.journalnode.rpc-address", "0.0.0.0:8485"),
    ("dfs.journalnode.rpc-bind-host", ""),
    ("dfs.journalnode.http-address", "0.0.0.0:8480"),
    ("dfs.journalnode.https-address", "0.0.0.0:8481"),
    ("dfs.journalnode.edits.dir", "/tmp/hadoop/dfs/journalnode/"),
    ("dfs.journalnode.enable.sync", "true"),
    ("dfs.journalnode.sync.interval", "120000"),
    ("dfs.journalnode.edit-cache-size.bytes", "1048576"),
    ("dfs.edit.log.transfer.timeout", "30000"),
    ("dfs.edit.log.transfer.bandwidthPerSec", "0"),
    // ---- QJM client
    ("dfs.qjournal.start-segment.timeout.ms", "20000"),
    ("dfs.qjournal.prepare-recovery.timeout.ms", "120000"),
    ("dfs.qjournal.accept-recovery.timeout.ms", "120000"),
    ("dfs.qjournal.finalize-segment.timeout.ms", "120000"),
    ("dfs.qjournal.select-input-streams.timeout.ms", "20000"),
    ("dfs.qjournal.get-journal-state.timeout.ms", "120000"),
    ("dfs.qjournal.new-epoch.timeout.ms", "120000"),
    ("dfs.qjournal.write-txns.timeout.ms", "20000"),
    ("dfs.qjournal.queued-edits.limit.mb", "10"),
    ("dfs.qjournal.http.open.timeout.ms", "60000"),
    ("dfs.qjournal.http.read.timeout.ms", "60000"),
    ("dfs.qjm.operations.timeout", "60s"),
    // ---- HA, tailing, failover
    ("dfs.ha.automatic-failover.enabled", "false"),
    ("dfs.ha.zkfc.port", "8019"),
    ("dfs.ha.zkfc.nn.http.timeout.ms", "20000"),
    ("dfs.ha.nn.not-become-active-in-safemode", "false"),
    ("dfs.ha.log-roll.period", "120s"),
    ("dfs.ha.tail-edits.period", "60s"),
    ("dfs.ha.tail-edits.period.backoff-max", "0"),
    ("dfs.ha.tail-edits.namenode-retries", "3"),
    ("dfs.ha.tail-edits.rolledits.timeout", "60"),
    ("dfs.ha.tail-edits.in-progress", "false"),
    // hdfs-ha's own: Hadoop's shell fencer has no timeout; a hung fencing script would stall
    // every failover forever, so ours is killed after this long and counts as a failure.
    ("dfs.ha.fencing.shell.timeout.ms", "30000"),
    // ---- client
    ("dfs.client.failover.max.attempts", "15"),
    ("dfs.client.failover.sleep.base.millis", "500"),
    ("dfs.client.failover.sleep.max.millis", "15000"),
    ("dfs.client.failover.connection.retries", "0"),
    ("dfs.client.failover.connection.retries.on.timeouts", "0"),
    ("dfs.client.failover.random.order", "false"),
    ("dfs.namenode.enable.retrycache", "true"),
    ("dfs.namenode.retrycache.expirytime.millis", "600000"),
    // ---- image transfer
    ("dfs.image.transfer.timeout", "60000"),
    ("dfs.image.transfer.bandwidthPerSec", "0"),
    ("dfs.image.transfer-bootstrap-standby.bandwidthPerSec", "0"),
];

/// Hadoop's deprecated names and their successors (`HdfsConfiguration.addDeprecatedKeys` and
/// `Configuration.defaultDeprecations`).
pub const DEPRECATIONS: &[(&str, &str)] = &[
    ("fs.default.name", "fs.defaultFS"),
    ("dfs.umaskmode", "fs.permissions.umask-mode"),
    ("dfs.df.interval", "fs.df.interval"),
    ("topology.script.file.name", "net.topology.script.file.name"),
    (
        "topology.script.number.args",
        "net.topology.script.number.args",
    ),
    (
        "hadoop.configured.node.mapping",
        "net.topology.configured.node.mapping",
    ),
    (
        "topology.node.switch.mapping.impl",
        "net.topology.node.switch.mapping.impl",
    ),
    ("dfs.nfs.exports.allowed.hosts", "nfs.exports.allowed.hosts"),
    ("dfs.backup.address", "dfs.namenode.backup.address"),
    (
        "dfs.backup.http.address",
        "dfs.namenode.backup.http-address",
    ),
    (
        "dfs.balance.bandwidthPerSec",
        "dfs.datanode.balance.bandwidthPerSec",
    ),
    ("dfs.data.dir", "dfs.datanode.data.dir"),
    ("dfs.http.address", "dfs.namenode.http-address"),
    ("dfs.https.address", "dfs.namenode.https-address"),
    ("dfs.max.objects", "dfs.namenode.max.objects"),
    ("dfs.name.dir", "dfs.namenode.name.dir"),
    ("dfs.name.dir.restore", "dfs.namenode.name.dir.restore"),
    ("dfs.name.edits.dir", "dfs.namenode.edits.dir"),
    ("dfs.read.prefetch.size", "dfs.client.read.prefetch.size"),
    ("dfs.safemode.extension", "dfs.namenode.safemode.extension"),
    (
        "dfs.safemode.threshold.pct",
        "dfs.namenode.safemode.threshold-pct",
    ),
    (
        "dfs.secondary.http.address",
        "dfs.namenode.secondary.http-address",
    ),
    ("dfs.socket.timeout", "dfs.client.socket-timeout"),
    ("fs.checkpoint.dir", "dfs.namenode.checkpoint.dir"),
    (
        "fs.checkpoint.edits.dir",
        "dfs.namenode.checkpoint.edits.dir",
    ),
    ("fs.checkpoint.period", "dfs.namenode.checkpoint.period"),
    (
        "heartbeat.recheck.interval",
        "dfs.namenode.heartbeat.recheck-interval",
    ),
    (
        "dfs.https.client.keystore.resource",
        "dfs.client.https.keystore.resource",
    ),
    ("dfs.https.need.client.auth", "dfs.client.https.need-auth"),
    ("slave.host.name", "dfs.datanode.hostname"),
    ("session.id", "dfs.metrics.session-id"),
    (
        "dfs.access.time.precision",
        "dfs.namenode.accesstime.precision",
    ),
    ("dfs.replication.min", "dfs.namenode.replication.min"),
    (
        "dfs.max-repl-streams",
        "dfs.namenode.replication.max-streams",
    ),
    ("dfs.permissions", "dfs.permissions.enabled"),
    (
        "dfs.permissions.supergroup",
        "dfs.permissions.superusergroup",
    ),
    ("dfs.write.packet.size", "dfs.client-write-packet-size"),
    ("dfs.block.size", "dfs.blocksize"),
    (
        "dfs.datanode.max.xcievers",
        "dfs.datanode.max.transfer.threads",
    ),
    ("io.bytes.per.checksum", "dfs.bytes-per-checksum"),
    ("dfs.federation.nameservices", "dfs.nameservices"),
    ("dfs.federation.nameservice.id", "dfs.nameservice.id"),
];

/// The successor of a deprecated key.
pub fn successor(key: &str) -> Option<&'static str> {
    DEPRECATIONS
        .iter()
        .find(|(old, _)| *old == key)
        .map(|(_, new)| *new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_key_has_one_default() {
        let mut seen = BTreeSet::new();
        for (key, _) in DEFAULTS {
            assert!(seen.insert(*key), "{key} listed twice");
            assert!(successor(key).is_none(), "{key} is deprecated");
        }
    }

    #[test]
    fn no_successor_is_itself_deprecated() {
        for (old, new) in DEPRECATIONS {
            assert!(successor(new).is_none(), "{old} -> {new} chains");
        }
    }
}

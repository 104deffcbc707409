//! `hdfs namenode` (and the `namenode` binary): runs a NameNode, or with `-format`,
//! `-bootstrapStandby` or `-initializeSharedEdits` prepares its storage, with Hadoop's prompts,
//! messages and exit codes (reference §5.3–5.5).

use std::path::Path;
use std::time::Duration;

use super::daemon::run_daemon;
use super::{Context, generic_and_conf};
use crate::conf::Configuration;
use crate::journal::StorageError;
use crate::namenode::conf::{LAYOUT_VERSION, NameNodeConf};
use crate::namenode::fsimage;
use crate::namenode::local_edits::{self, LocalEditsError};
use crate::namenode::namespace::Namespace;
use crate::namenode::node;
use crate::namenode::ops::Attributes;
use crate::namenode::peer::{PeerClient, download_image};
use crate::namenode::storage::{FsImage, NameNodeStorage, NamespaceIdentity};
use crate::qjm::{IpcChannel, QjmError, QuorumJournalManager};

pub const USAGE: &str = "Usage: hdfs namenode [-backup] | [-checkpoint] | [-format [-clusterid cid ] [-force] [-nonInteractive] ] | [-upgrade [-clusterid cid] [-renameReserved<k-v pairs>] ] | [-upgradeOnly [-clusterid cid] [-renameReserved<k-v pairs>] ] | [-rollback] | [-rollingUpgrade <rollback|started> ] | [-importCheckpoint] | [-initializeSharedEdits] | [-bootstrapStandby [-force] [-nonInteractive] [-skipSharedEditsCheck] ] | [-recover [ -force] ] | [-metadataVersion ]";

/// Edits per journal call when copying local edits to the JournalNodes.
const COPY_BATCH: usize = 1000;

const BOOTSTRAP_USAGE: &str =
    "Usage: BootstrapStandby [-force] [-nonInteractive] [-skipSharedEditsCheck]";

/// Why `hdfs namenode` refused its arguments, or could not check or seed the shared edits.
/// Rendered once, where `main`, `-bootstrapStandby` or `-initializeSharedEdits` print it and
/// pick the exit code; the texts are Hadoop's (`NameNode.parseArguments`, `BootstrapStandby`).
#[derive(Debug, thiserror::Error)]
enum CommandError {
    #[error("Invalid argument: {0}")]
    InvalidArgument(String),
    #[error("Must specify a valid cluster ID after the -clusterid flag")]
    NoClusterId,
    /// A `-bootstrapStandby` refusal: BootstrapStandby prints its own usage after it.
    #[error("{0}\n{usage}", usage = BOOTSTRAP_USAGE)]
    BootstrapUsage(#[source] Box<CommandError>),
    /// The JournalNodes end before the edits a standby needs.
    #[error("only up to txid {last} is available")]
    SharedEditsEnd { last: u64 },
    #[error(transparent)]
    Journal(#[from] QjmError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    LocalEdits(#[from] LocalEditsError),
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum StartOption {
    Regular,
    Format {
        cluster_id: Option<String>,
        force: bool,
        interactive: bool,
    },
    BootstrapStandby {
        force: bool,
        interactive: bool,
        skip_shared_edits_check: bool,
    },
    InitializeSharedEdits {
        force: bool,
        interactive: bool,
    },
}

/// Parses NameNode options (case-insensitively, as Hadoop does).
fn parse(args: &[String]) -> Result<StartOption, CommandError> {
    let lower: Vec<String> = args.iter().map(|a| a.to_ascii_lowercase()).collect();
    let Some(first) = lower.first() else {
        return Ok(StartOption::Regular);
    };
    let flags = |rest: &[String], allowed: &[&str]| -> Result<Vec<String>, CommandError> {
        for flag in rest {
            if !allowed.contains(&flag.as_str()) {
                return Err(CommandError::InvalidArgument(flag.clone()));
            }
        }
        Ok(rest.to_vec())
    };
    match first.as_str() {
        "-format" => {
            let mut cluster_id = None;
            let mut force = false;
            let mut interactive = true;
            let mut i = 1;
            while i < args.len() {
                match lower[i].as_str() {
                    "-clusterid" => {
                        i += 1;
                        match args.get(i) {
                            Some(id) if !id.is_empty() && !id.starts_with('-') => {
                                cluster_id = Some(id.clone())
                            }
                            _ => return Err(CommandError::NoClusterId),
                        }
                    }
                    "-force" => force = true,
                    "-noninteractive" => interactive = false,
                    other => return Err(CommandError::InvalidArgument(other.to_string())),
                }
                i += 1;
            }
            Ok(StartOption::Format {
                cluster_id,
                force,
                interactive,
            })
        }
        "-bootstrapstandby" => {
            let rest = flags(
                &lower[1..],
                &["-force", "-noninteractive", "-skipsharededitscheck"],
            )
            .map_err(|e| CommandError::BootstrapUsage(Box::new(e)))?;
            Ok(StartOption::BootstrapStandby {
                force: rest.iter().any(|f| f == "-force"),
                interactive: !rest.iter().any(|f| f == "-noninteractive"),
                skip_shared_edits_check: rest.iter().any(|f| f == "-skipsharededitscheck"),
            })
        }
        "-initializesharededits" => {
            let rest = flags(&lower[1..], &["-force", "-noninteractive"])?;
            Ok(StartOption::InitializeSharedEdits {
                force: rest.iter().any(|f| f == "-force"),
                interactive: !rest.iter().any(|f| f == "-noninteractive"),
            })
        }
        other => Err(CommandError::InvalidArgument(other.to_string())),
    }
}

pub fn main(ctx: &mut Context<'_>, args: &[String]) -> i32 {
    let (generic, conf) = match generic_and_conf(ctx, args, USAGE, 1) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let option = match parse(&generic.rest) {
        Ok(option) => option,
        Err(message) => {
            let _ = writeln!(ctx.err, "{message}");
            let _ = writeln!(ctx.err, "{USAGE}");
            return 1;
        }
    };
    match option {
        StartOption::Regular => run_daemon(
            ctx,
            &generic_only(args, &generic.rest),
            "NameNode",
            USAGE,
            NameNodeConf::from_conf,
            node::run,
        ),
        other => {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = writeln!(ctx.err, "cannot start the runtime: {e}");
                    return 1;
                }
            };
            runtime.block_on(async {
                match other {
                    StartOption::Format {
                        cluster_id,
                        force,
                        interactive,
                    } => format(ctx, &conf, cluster_id, force, interactive).await,
                    StartOption::BootstrapStandby {
                        force,
                        interactive,
                        skip_shared_edits_check,
                    } => {
                        bootstrap_standby(ctx, &conf, force, interactive, skip_shared_edits_check)
                            .await
                    }
                    StartOption::InitializeSharedEdits { force, interactive } => {
                        initialize_shared_edits(ctx, &conf, force, interactive).await
                    }
                    StartOption::Regular => unreachable!("handled above"),
                }
            })
        }
    }
}

/// The arguments minus the tool's own (for the daemon's "no extra arguments" check).
fn generic_only(args: &[String], rest: &[String]) -> Vec<String> {
    args[..args.len() - rest.len()].to_vec()
}

/// Hadoop's `ToolRunner.confirmPrompt`: asks on stderr, accepts y/yes/n/no in any case and
/// asks again after anything else. Unlike Hadoop, which asks forever when stdin is closed,
/// the end of input counts as "no".
pub(super) fn confirm(ctx: &mut Context<'_>, prompt: &str) -> bool {
    loop {
        let _ = write!(ctx.err, "{prompt} (Y or N) ");
        let _ = ctx.err.flush();
        let mut line = String::new();
        match ctx.input.read_line(&mut line) {
            Ok(0) | Err(_) => {
                let _ = writeln!(ctx.err, "Invalid input: (end of input; answering N)");
                return false;
            }
            Ok(_) => {}
        }
        match line.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return true,
            "n" | "no" => return false,
            other => {
                let _ = writeln!(ctx.err, "Invalid input: {other}");
            }
        }
    }
}

/// Hadoop's name for a storage directory in prompts.
fn describe_dir(dir: &Path) -> String {
    format!("Storage Directory root= {}; location= null", dir.display())
}

fn describe_qjm(conf: &NameNodeConf) -> String {
    conf.shared_edits.qjm_name()
}

/// Asks (per Hadoop's `confirmFormat`) whether each place holding data may be cleared.
fn confirm_format(ctx: &mut Context<'_>, items: &[String], force: bool, interactive: bool) -> bool {
    for item in items {
        if force {
            let _ = writeln!(ctx.err, "Data exists in {item}. Formatting anyway.");
            continue;
        }
        if !interactive {
            let _ = writeln!(
                ctx.err,
                "Running in non-interactive mode, and data appears to exist in {item}. Not formatting."
            );
            return false;
        }
        if !confirm(ctx, &format!("Re-format filesystem in {item} ?")) {
            let _ = writeln!(ctx.err, "Format aborted in {item}");
            return false;
        }
    }
    true
}

/// 16 random bytes.
fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    let filled = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    if filled.is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes = (nanos ^ (u128::from(std::process::id()) << 64)).to_le_bytes();
    }
    bytes
}

/// `CID-<uuid>`.
fn new_cluster_id() -> String {
    let mut b = random_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "CID-{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn new_identity(cluster_id: String, conf: &NameNodeConf) -> NamespaceIdentity {
    let b = random_bytes();
    let namespace_id = (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) & 0x7fff_ffff).max(1);
    let block_pool_rand = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) & 0x7fff_ffff;
    let millis = crate::namenode::server::now_millis();
    NamespaceIdentity {
        namespace_id,
        cluster_id,
        block_pool_id: format!("BP-{block_pool_rand}-{}-{millis}", conf.rpc_address.host),
        layout_version: LAYOUT_VERSION,
        ctime: 0,
    }
}

fn user() -> String {
    std::env::var("HADOOP_USER_NAME")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "hdfs".to_string())
}

/// The image of an empty namespace: the root only, owned by the formatting user.
fn empty_image(identity: &NamespaceIdentity, conf: &NameNodeConf) -> FsImage {
    let ns = Namespace::new(&Attributes {
        permission: 0o755,
        owner: user(),
        group: conf.supergroup.clone(),
        mtime: crate::namenode::server::now_millis(),
    });
    FsImage {
        txid: 0,
        namespace_id: identity.namespace_id,
        layout_version: identity.layout_version,
        ids: ns.ids(),
        entries: ns.entries(),
    }
}

fn qjm_for(
    conf: &NameNodeConf,
    id: Option<&NamespaceIdentity>,
) -> Result<QuorumJournalManager<IpcChannel>, QjmError> {
    QuorumJournalManager::connect(
        conf.qjm.clone(),
        &conf.shared_edits,
        id.map(NamespaceIdentity::namespace_info),
        Some(conf.nameservice_id.clone()),
    )
}

fn nn_conf(ctx: &mut Context<'_>, conf: &Configuration) -> Option<NameNodeConf> {
    match NameNodeConf::from_conf(conf) {
        Ok(c) => Some(c),
        Err(err) => {
            tracing::error!("Failed to start namenode.");
            let _ = writeln!(ctx.err, "{err}");
            None
        }
    }
}

/// `-format` (§5.3): exit 0 when formatted, 1 when refused, declined or failed.
async fn format(
    ctx: &mut Context<'_>,
    conf: &Configuration,
    cluster_id: Option<String>,
    force: bool,
    interactive: bool,
) -> i32 {
    let Some(conf) = nn_conf(ctx, conf) else {
        return 1;
    };
    if !conf.allow_format {
        let _ = writeln!(
            ctx.err,
            "The option dfs.namenode.support.allow.format is set to false for this filesystem, so it cannot be formatted. You will need to set dfs.namenode.support.allow.format parameter to true in order to format this filesystem"
        );
        return 1;
    }
    let cluster_id = cluster_id.unwrap_or_else(new_cluster_id);
    let _ = writeln!(ctx.out, "Formatting using clusterid: {cluster_id}");
    let mut storage = match NameNodeStorage::open(&conf.name_dirs) {
        Ok(s) => s,
        Err(err) => {
            let _ = writeln!(ctx.err, "{err}");
            return 1;
        }
    };
    let mut items: Vec<String> = match storage.dirs_with_data() {
        Ok(dirs) => dirs.iter().map(|d| describe_dir(d)).collect(),
        Err(err) => {
            let _ = writeln!(ctx.err, "{err}");
            return 1;
        }
    };
    let qjm = match qjm_for(&conf, None) {
        Ok(q) => q,
        Err(err) => {
            let _ = writeln!(ctx.err, "{err}");
            return 1;
        }
    };
    match qjm.has_some_data().await {
        Ok(true) => items.push(describe_qjm(&conf)),
        Ok(false) => {}
        Err(err) => {
            tracing::error!("Exception in namenode join");
            let _ = writeln!(ctx.err, "{err}");
            return 1;
        }
    }
    if conf.reformat_disabled && !items.is_empty() {
        let _ = writeln!(
            ctx.err,
            "NameNode format aborted as reformat is disabled for this cluster."
        );
        return 1;
    }
    if !confirm_format(ctx, &items, force, interactive) {
        return 1;
    }
    let identity = new_identity(cluster_id, &conf);
    let image = fsimage::encode(&empty_image(&identity, &conf));
    if let Err(err) = storage.format(&identity, &image) {
        let _ = writeln!(ctx.err, "{err}");
        return 1;
    }
    for dir in storage.dirs() {
        tracing::info!(
            "Storage directory {} has been successfully formatted.",
            dir.display()
        );
    }
    let writer = match qjm_for(&conf, Some(&identity)) {
        Ok(q) => q,
        Err(err) => {
            let _ = writeln!(ctx.err, "{err}");
            return 1;
        }
    };
    if let Err(err) = writer.format(true).await {
        tracing::error!("Failed to format the shared edits storage: {err}");
        let _ = writeln!(ctx.err, "{err}");
        return 1;
    }
    tracing::info!("Formatted {}", describe_qjm(&conf));
    0
}

/// `-bootstrapStandby` (§5.4): exit 0 ok, 2 no other NameNode reachable, 3 layout mismatch,
/// 5 declined to format, 6 shared edits do not cover the gap, 1 other failures.
async fn bootstrap_standby(
    ctx: &mut Context<'_>,
    conf: &Configuration,
    force: bool,
    interactive: bool,
    skip_shared_edits_check: bool,
) -> i32 {
    let Some(conf) = nn_conf(ctx, conf) else {
        return 1;
    };
    if !conf.allow_format {
        let _ = writeln!(
            ctx.err,
            "The option dfs.namenode.support.allow.format is set to false for this filesystem, so it cannot be formatted. You will need to set dfs.namenode.support.allow.format parameter to true in order to format this filesystem"
        );
        return 1;
    }
    let timeout = conf.qjm.connect_timeout.min(Duration::from_secs(20));
    let mut remote = None;
    for peer in &conf.peers {
        let asked = async {
            let client = PeerClient::connect(&peer.rpc_address, timeout).await?;
            let version = client.version().await?;
            let finalized = client.is_upgrade_finalized().await?;
            Ok::<_, crate::ipc::peer::CallError>((client, version, finalized))
        };
        match asked.await {
            Ok((client, version, finalized)) => {
                remote = Some((peer.clone(), client, version, finalized));
                break;
            }
            Err(err) => tracing::warn!(
                "Unable to fetch namespace information from remote NN at {}: {err}",
                peer.rpc_address
            ),
        }
    }
    let Some((peer, client, version, finalized)) = remote else {
        let _ = writeln!(
            ctx.err,
            "Unable to fetch namespace information from any remote NN. Possible NameNodes: [{}]",
            conf.peers
                .iter()
                .map(|p| p.rpc_address.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return 2;
    };
    let remote_id = version.identity;
    if remote_id.layout_version != LAYOUT_VERSION {
        let _ = writeln!(
            ctx.err,
            "Layout version on remote node ({}) does not match this node's layout version ({LAYOUT_VERSION})",
            remote_id.layout_version
        );
        return 3;
    }
    let http = peer
        .http_address
        .as_ref()
        .map(|h| format!("http://{h}"))
        .unwrap_or_default();
    let _ = write!(
        ctx.out,
        "=====================================================\n\
         About to bootstrap Standby ID {} from:\n\
         \x20          Nameservice ID: {}\n\
         \x20       Other Namenode ID: {}\n\
         \x20 Other NN's HTTP address: {http}\n\
         \x20 Other NN's IPC  address: {}\n\
         \x20            Namespace ID: {}\n\
         \x20           Block pool ID: {}\n\
         \x20              Cluster ID: {}\n\
         \x20          Layout version: {}\n\
         \x20      isUpgradeFinalized: {}\n\
         =====================================================\n",
        conf.namenode_id,
        conf.nameservice_id,
        peer.namenode_id,
        peer.rpc_address,
        remote_id.namespace_id,
        remote_id.block_pool_id,
        remote_id.cluster_id,
        remote_id.layout_version,
        finalized,
    );
    let mut storage = match NameNodeStorage::open(&conf.name_dirs) {
        Ok(s) => s,
        Err(err) => {
            let _ = writeln!(ctx.err, "{err}");
            return 1;
        }
    };
    let items: Vec<String> = match storage.dirs_with_data() {
        Ok(dirs) => dirs.iter().map(|d| describe_dir(d)).collect(),
        Err(err) => {
            let _ = writeln!(ctx.err, "{err}");
            return 1;
        }
    };
    if !confirm_format(ctx, &items, force, interactive) {
        return 5;
    }
    let ids = async {
        let checkpoint = client.most_recent_checkpoint_txid().await?;
        let current = client.transaction_id().await?;
        Ok::<_, crate::ipc::peer::CallError>((current, checkpoint))
    };
    let (current, checkpoint) = match ids.await {
        Ok(ids) => ids,
        Err(err) => {
            let _ = writeln!(
                ctx.err,
                "Unable to get the transaction ids of {}: {err}",
                peer.rpc_address
            );
            return 1;
        }
    };
    if !skip_shared_edits_check
        && current > checkpoint
        && let Err(err) = check_shared_edits(&conf, checkpoint + 1, current).await
    {
        {
            let message = format!(
                "Unable to read transaction ids {}-{current} from the configured shared edits storage {}. Please copy these logs into the shared edits storage or call saveNamespace on the active node.\nError: {err}",
                checkpoint + 1,
                conf.shared_edits
            );
            tracing::error!("{message}");
            let _ = writeln!(ctx.err, "{message}");
            return 6;
        }
    }
    let Some(http_address) = &peer.http_address else {
        let _ = writeln!(
            ctx.err,
            "No HTTP address is configured for NameNode {}",
            peer.namenode_id
        );
        return 1;
    };
    let bytes = match download_image(http_address, checkpoint, &remote_id, true).await {
        Ok(bytes) => bytes,
        Err(err) => {
            let _ = writeln!(ctx.err, "{err}");
            return 1;
        }
    };
    // Stored as it came, once it decodes: a real NameNode's image keeps what we do not read.
    let image = match storage.format(&remote_id, &bytes) {
        Ok(image) => image,
        Err(err) => {
            let _ = writeln!(ctx.err, "{err}");
            return 1;
        }
    };
    tracing::info!(
        "Downloaded file fsimage_{:019} size {} bytes.",
        image.txid,
        bytes.len()
    );
    0
}

/// Whether the JournalNodes can serve txids `from..=to`.
async fn check_shared_edits(conf: &NameNodeConf, from: u64, to: u64) -> Result<(), CommandError> {
    let reader = qjm_for(conf, None)?;
    let mut next = from;
    while next <= to {
        let records = reader.read_edits(next, 5000, false).await?;
        let Some(last) = records.last() else {
            return Err(CommandError::SharedEditsEnd { last: next - 1 });
        };
        next = last.txid + 1;
    }
    Ok(())
}

/// `-initializeSharedEdits` (§5.5): formats the JournalNodes with this NameNode's namespace and
/// copies its local edits after the latest fsimage into them — how a JournalNode set that lost
/// its disks is seeded again from the NameNode that holds the newest edits.
async fn initialize_shared_edits(
    ctx: &mut Context<'_>,
    conf: &Configuration,
    force: bool,
    interactive: bool,
) -> i32 {
    let Some(conf) = nn_conf(ctx, conf) else {
        return 1;
    };
    let storage = match NameNodeStorage::open(&conf.name_dirs) {
        Ok(s) => s,
        Err(err) => {
            let _ = writeln!(ctx.err, "Could not initialize shared edits dir: {err}");
            return 1;
        }
    };
    let identity = match storage.identity() {
        Ok(Some(id)) => id,
        Ok(None) => {
            let _ = writeln!(
                ctx.err,
                "Could not initialize shared edits dir: NameNode is not formatted."
            );
            return 1;
        }
        Err(err) => {
            let _ = writeln!(ctx.err, "Could not initialize shared edits dir: {err}");
            return 1;
        }
    };
    let qjm = match qjm_for(&conf, Some(&identity)) {
        Ok(q) => q,
        Err(err) => {
            let _ = writeln!(ctx.err, "Could not initialize shared edits dir: {err}");
            return 1;
        }
    };
    let has_data = match qjm.has_some_data().await {
        Ok(d) => d,
        Err(err) => {
            let _ = writeln!(ctx.err, "Could not initialize shared edits dir: {err}");
            return 1;
        }
    };
    if has_data && !confirm_format(ctx, &[describe_qjm(&conf)], force, interactive) {
        return 1;
    }
    if let Err(err) = qjm.format(true).await {
        let _ = writeln!(ctx.err, "Could not initialize shared edits dir: {err}");
        return 1;
    }
    if let Err(err) = copy_local_edits(&conf, &storage, &qjm).await {
        let _ = writeln!(ctx.err, "Could not initialize shared edits dir: {err}");
        return 1;
    }
    tracing::info!(
        "Successfully initialized shared edits {}",
        describe_qjm(&conf)
    );
    0
}

/// Copies the local edits after the latest fsimage into the freshly formatted JournalNodes,
/// as segments with the local boundaries (the first one starts at the image's txid + 1), each
/// finalized; open local segments are finalized first (Hadoop's `recoverUnclosedStreams`).
async fn copy_local_edits(
    conf: &NameNodeConf,
    storage: &NameNodeStorage,
    qjm: &QuorumJournalManager<IpcChannel>,
) -> Result<(), CommandError> {
    let image_txid = storage.latest_image_txid()?.unwrap_or(0);
    let segments = local_edits::recover_segments(&conf.edits_dirs)?;
    let plan = local_edits::edits_from(&segments, image_txid + 1)?;
    if !plan.is_empty() {
        qjm.recover_unfinalized_segments().await?;
    }
    for (segment, from) in plan {
        let records = local_edits::read_segment(segment)?;
        let payloads: Vec<&[u8]> = records
            .iter()
            .filter(|r| r.txid >= from)
            .map(|r| r.payload.as_slice())
            .collect();
        let writer = qjm.start_log_segment(from, LAYOUT_VERSION).await?;
        for chunk in payloads.chunks(COPY_BATCH) {
            writer.write(chunk).await?;
        }
        let end = writer.close().await?;
        qjm.finalize_log_segment(from, end).await?;
        tracing::info!(
            "Copied edits {from}-{end} from {} to the shared edits",
            segment.path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn options_parse_case_insensitively() {
        assert_eq!(parse(&[]).unwrap(), StartOption::Regular);
        assert_eq!(
            parse(&args("-format -clusterid CID-x -force -nonInteractive")).unwrap(),
            StartOption::Format {
                cluster_id: Some("CID-x".into()),
                force: true,
                interactive: false
            }
        );
        assert_eq!(
            parse(&args("-FORMAT")).unwrap(),
            StartOption::Format {
                cluster_id: None,
                force: false,
                interactive: true
            }
        );
        assert_eq!(
            parse(&args(
                "-bootstrapStandby -nonInteractive -skipSharedEditsCheck"
            ))
            .unwrap(),
            StartOption::BootstrapStandby {
                force: false,
                interactive: false,
                skip_shared_edits_check: true
            }
        );
        assert_eq!(
            parse(&args("-initializeSharedEdits -force")).unwrap(),
            StartOption::InitializeSharedEdits {
                force: true,
                interactive: true
            }
        );
    }

    #[test]
    fn bad_options_get_hadoops_messages() {
        for (line, want) in [
            (
                "-format -clusterid",
                "Must specify a valid cluster ID after the -clusterid flag",
            ),
            (
                "-format -clusterid -force",
                "Must specify a valid cluster ID after the -clusterid flag",
            ),
            ("-format -bogus", "Invalid argument: -bogus"),
            ("-frobnicate", "Invalid argument: -frobnicate"),
        ] {
            assert_eq!(parse(&args(line)).unwrap_err().to_string(), want, "{line}");
        }
        assert!(matches!(
            parse(&args("-format -clusterid")),
            Err(CommandError::NoClusterId)
        ));
        let err = parse(&args("-bootstrapStandby -x")).unwrap_err();
        assert!(
            matches!(&err, CommandError::BootstrapUsage(inner)
                if matches!(**inner, CommandError::InvalidArgument(ref flag) if flag == "-x")),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("Invalid argument: -x\n{BOOTSTRAP_USAGE}")
        );
        assert_eq!(
            CommandError::SharedEditsEnd { last: 41 }.to_string(),
            "only up to txid 41 is available"
        );
    }

    #[test]
    fn cluster_ids_look_like_hadoops() {
        let id = new_cluster_id();
        assert!(id.starts_with("CID-") && id.len() == 40, "{id}");
        assert_ne!(id, new_cluster_id());
    }

    fn ctx_with_input<'a>(
        input: &'a mut dyn std::io::BufRead,
        err: &'a mut Vec<u8>,
        out: &'a mut Vec<u8>,
    ) -> Context<'a> {
        Context {
            conf_dir: ".".into(),
            out,
            err,
            input,
        }
    }

    #[test]
    fn prompts_accept_y_yes_n_no_and_ask_again_otherwise() {
        for (answers, want) in [
            ("y\n", true),
            ("YES\n", true),
            ("n\n", false),
            ("maybe\nNo\n", false),
            ("", false),
        ] {
            let mut input = std::io::Cursor::new(answers.as_bytes().to_vec());
            let (mut err, mut out) = (Vec::new(), Vec::new());
            let mut ctx = ctx_with_input(&mut input, &mut err, &mut out);
            assert_eq!(
                confirm(&mut ctx, "Re-format filesystem in X ?"),
                want,
                "{answers:?}"
            );
            let err = String::from_utf8(err).unwrap();
            assert!(
                err.starts_with("Re-format filesystem in X ? (Y or N) "),
                "{err}"
            );
            if answers.starts_with("maybe") {
                assert!(err.contains("Invalid input: maybe"), "{err}");
            }
        }
    }

    #[test]
    fn confirm_format_follows_force_and_non_interactive() {
        let items = vec!["Storage Directory root= /d; location= null".to_string()];
        let mut input = std::io::Cursor::new(Vec::new());
        let (mut err, mut out) = (Vec::new(), Vec::new());
        let mut ctx = ctx_with_input(&mut input, &mut err, &mut out);
        assert!(confirm_format(&mut ctx, &items, true, false));
        assert!(!confirm_format(&mut ctx, &items, false, false));
        assert!(confirm_format(&mut ctx, &[], false, false));
        let err = String::from_utf8(err).unwrap();
        assert!(err.contains(
            "Data exists in Storage Directory root= /d; location= null. Formatting anyway."
        ));
        assert!(err.contains("Running in non-interactive mode, and data appears to exist in Storage Directory root= /d; location= null. Not formatting."));
    }
}

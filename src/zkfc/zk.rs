//! The ZKFC's ZooKeeper I/O, over the `zookeeper-client` crate: opening sessions with the
//! configured timeout and auth, one task per session carrying out the elector's requests in
//! order and reporting their results, the lock watch and the session's state changes; and the
//! parent-znode chores of `-formatZK` (`ensureParentZNode`, `clearParentZNode`) and the
//! graceful failover (`getActiveData`).
//!
//! Rules kept here:
//! - requests of one session are sent in the order the elector made them (the crate orders a
//!   request when its future is created, so each is created as it arrives);
//! - only the newest lock watch of a session is kept, so one change is reported once; a watch
//!   notification is preferred over later answers, as ZooKeeper delivers them;
//! - closing a session (dropping its task) deletes its ephemeral lock at once.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::mpsc;
use zookeeper_client as zk;

use super::conf::ZkSettings;
use super::elector::{
    BREADCRUMB_FILENAME, ClientId, ElectorEvent, LOCK_FILENAME, NodeEvent, SessionEvent, SessionId,
    ZkCode, ZkRequest,
};

const LOG: &str = "org.apache.hadoop.ha.ActiveStandbyElector";

/// Why a ZooKeeper chore of the ZKFC failed, in the words Hadoop's `ActiveStandbyElector`
/// logs it with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZkError {
    #[error("Connection timed out: couldn't connect to ZooKeeper in {} milliseconds", .0.as_millis())]
    ConnectTimeout(Duration),

    /// A session that could not be opened; `keeper` is ZooKeeper's `KeeperException` text.
    #[error("{keeper}: {source}")]
    Connect { keeper: String, source: zk::Error },

    #[error("Couldn't determine existence of znode '{path}': {source}")]
    Exists { path: String, source: zk::Error },

    #[error("Couldn't set ACLs on parent ZNode: {path}: {source}")]
    SetAcl { path: String, source: zk::Error },

    #[error("Couldn't create {path}: {source}")]
    Create { path: String, source: zk::Error },

    #[error("Couldn't clear parent znode {path}: {source}")]
    Clear { path: String, source: zk::Error },

    /// `getActiveData` of a graceful failover.
    #[error("Unexpected ZooKeeper issue fetching active node info: {0}")]
    ActiveData(#[source] zk::Error),
}

/// A ZooKeeper error as the elector sees it, by ZooKeeper's code names. The crate reports a
/// request lost with its connection as an I/O error: that is ZooKeeper's CONNECTIONLOSS.
pub fn code_of(err: &zk::Error) -> ZkCode {
    match err {
        zk::Error::ConnectionLoss
        | zk::Error::ClientClosed
        | zk::Error::NoHosts
        | zk::Error::Custom(_) => ZkCode::ConnectionLoss,
        zk::Error::Timeout => ZkCode::OperationTimeout,
        zk::Error::SessionExpired => ZkCode::SessionExpired,
        zk::Error::NoNode => ZkCode::NoNode,
        zk::Error::NodeExists => ZkCode::NodeExists,
        zk::Error::BadVersion => ZkCode::BadVersion,
        zk::Error::NoAuth => ZkCode::NoAuth,
        zk::Error::NotEmpty => ZkCode::NotEmpty,
        zk::Error::AuthFailed => ZkCode::AuthFailed,
        zk::Error::InvalidAcl => ZkCode::Other("INVALIDACL".into()),
        zk::Error::NoChildrenForEphemerals => ZkCode::Other("NOCHILDRENFOREPHEMERALS".into()),
        zk::Error::SessionMoved => ZkCode::Other("SESSIONMOVED".into()),
        zk::Error::NotReadOnly => ZkCode::Other("NOTREADONLY".into()),
        zk::Error::Unimplemented => ZkCode::Other("UNIMPLEMENTED".into()),
        zk::Error::Throttled => ZkCode::Other("THROTTLEDOP".into()),
        zk::Error::QuotaExceeded => ZkCode::Other("QUOTAEXCEEDED".into()),
        zk::Error::ReconfigDisabled => ZkCode::Other("RECONFIGDISABLED".into()),
        zk::Error::UnexpectedErrorCode(code) => ZkCode::Other(code.to_string()),
        other => ZkCode::Other(format!("SYSTEMERROR ({other})")),
    }
}

/// The configured ACL in the crate's terms.
pub fn acls(settings: &ZkSettings) -> Vec<zk::Acl> {
    settings
        .acls
        .iter()
        .map(|a| {
            let mut perms = zk::Permission::NONE;
            for (bit, p) in [
                (1, zk::Permission::READ),
                (2, zk::Permission::WRITE),
                (4, zk::Permission::CREATE),
                (8, zk::Permission::DELETE),
                (16, zk::Permission::ADMIN),
            ] {
                if a.perms & bit != 0 {
                    perms = perms | p;
                }
            }
            zk::Acl::new(perms, zk::AuthId::new(&a.scheme, &a.id))
        })
        .collect()
}

/// Opens a session, waiting at most the session timeout (Hadoop's
/// `waitForZKConnectionEvent`); the error is Hadoop's log line.
pub async fn connect(settings: &ZkSettings) -> Result<zk::Client, ZkError> {
    let mut connector = zk::Client::connector().with_session_timeout(settings.session_timeout);
    for auth in &settings.auths {
        connector = connector.with_auth(&auth.scheme, &auth.auth);
    }
    match tokio::time::timeout(
        settings.session_timeout,
        connector.connect(&settings.quorum),
    )
    .await
    {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(zk::Error::Timeout)) | Err(_) => {
            Err(ZkError::ConnectTimeout(settings.session_timeout))
        }
        Ok(Err(source)) => Err(ZkError::Connect {
            keeper: ZkCode::ConnectionLoss.keeper_message(&settings.quorum),
            source,
        }),
    }
}

type Answer<'a> =
    Pin<Box<dyn Future<Output = (ElectorEvent, Option<zk::OneshotWatcher>)> + Send + 'a>>;

/// The paths and ACL a session task works with.
struct Paths {
    lock: String,
    breadcrumb: String,
    acls: Vec<zk::Acl>,
}

/// Sends `request` on `client` now, returning the future of its answer.
fn send<'a>(
    client: &'a zk::Client,
    id: ClientId,
    paths: &'a Paths,
    request: ZkRequest,
) -> Answer<'a> {
    let ephemeral = zk::CreateMode::Ephemeral.with_acls(zk::Acls::new(&paths.acls));
    let persistent = zk::CreateMode::Persistent.with_acls(zk::Acls::new(&paths.acls));
    match request {
        ZkRequest::CreateLock { data, .. } => {
            let answer = client.create(&paths.lock, &data, &ephemeral);
            Box::pin(async move {
                let result = answer.await.map(|_| ()).map_err(|e| code_of(&e));
                (ElectorEvent::LockCreated { client: id, result }, None)
            })
        }
        ZkRequest::WatchLock { .. } => {
            let answer = client.check_and_watch_stat(&paths.lock);
            Box::pin(async move {
                match answer.await {
                    Ok((Some(stat), watcher)) => (
                        ElectorEvent::LockStat {
                            client: id,
                            result: Ok(SessionId(stat.ephemeral_owner)),
                        },
                        Some(watcher),
                    ),
                    Ok((None, watcher)) => (
                        ElectorEvent::LockStat {
                            client: id,
                            result: Err(ZkCode::NoNode),
                        },
                        Some(watcher),
                    ),
                    Err(e) => (
                        ElectorEvent::LockStat {
                            client: id,
                            result: Err(code_of(&e)),
                        },
                        None,
                    ),
                }
            })
        }
        ZkRequest::GetBreadcrumb { .. } => {
            let answer = client.get_data(&paths.breadcrumb);
            Box::pin(async move {
                let result = answer
                    .await
                    .map(|(data, stat)| (data, stat.version))
                    .map_err(|e| code_of(&e));
                (ElectorEvent::BreadcrumbRead { client: id, result }, None)
            })
        }
        ZkRequest::CreateBreadcrumb { data, .. } => {
            let answer = client.create(&paths.breadcrumb, &data, &persistent);
            Box::pin(async move {
                let result = answer.await.map(|_| ()).map_err(|e| code_of(&e));
                (ElectorEvent::BreadcrumbWritten { client: id, result }, None)
            })
        }
        ZkRequest::SetBreadcrumb { data, version, .. } => {
            let answer = client.set_data(&paths.breadcrumb, &data, Some(version));
            Box::pin(async move {
                let result = answer.await.map(|_| ()).map_err(|e| code_of(&e));
                (ElectorEvent::BreadcrumbWritten { client: id, result }, None)
            })
        }
        ZkRequest::DeleteBreadcrumb { version, .. } => {
            let answer = client.delete(&paths.breadcrumb, Some(version));
            Box::pin(async move {
                let result = answer.await.map_err(|e| code_of(&e));
                (ElectorEvent::BreadcrumbDeleted { client: id, result }, None)
            })
        }
        ZkRequest::Connect { .. } | ZkRequest::Close { .. } => {
            Box::pin(async move { unreachable!("sessions are opened and closed by the driver") })
        }
    }
}

fn node_event(event: &zk::WatchedEvent) -> Option<Option<NodeEvent>> {
    let kind = match event.event_type {
        zk::EventType::NodeCreated => NodeEvent::Created,
        zk::EventType::NodeDeleted => NodeEvent::Deleted,
        zk::EventType::NodeDataChanged => NodeEvent::DataChanged,
        zk::EventType::NodeChildrenChanged => NodeEvent::ChildrenChanged,
        // Session news comes through the state watcher.
        zk::EventType::Session => return None,
    };
    Some((!event.path.is_empty()).then_some(kind))
}

fn session_event(state: zk::SessionState) -> Option<SessionEvent> {
    match state {
        zk::SessionState::SyncConnected => Some(SessionEvent::SyncConnected),
        zk::SessionState::Disconnected => Some(SessionEvent::Disconnected),
        zk::SessionState::Expired => Some(SessionEvent::Expired),
        zk::SessionState::Closed => None,
        other => Some(SessionEvent::Unexpected(format!("{other:?}"))),
    }
}

/// Starts the task of one session; requests go in through the returned sender, events come out
/// through `events` as [`ElectorEvent`]s. Dropping the sender closes the session.
pub fn spawn_session<T: From<ElectorEvent> + Send + 'static>(
    id: ClientId,
    client: zk::Client,
    settings: &ZkSettings,
    events: mpsc::UnboundedSender<T>,
) -> mpsc::UnboundedSender<ZkRequest> {
    let (tx, rx) = mpsc::unbounded_channel();
    let parent = settings.parent_znode.trim_end_matches('/');
    let paths = Paths {
        lock: format!("{parent}/{LOCK_FILENAME}"),
        breadcrumb: format!("{parent}/{BREADCRUMB_FILENAME}"),
        acls: acls(settings),
    };
    tokio::spawn(session_task(id, client, paths, rx, events));
    tx
}

async fn session_task<T: From<ElectorEvent>>(
    id: ClientId,
    client: zk::Client,
    paths: Paths,
    mut requests: mpsc::UnboundedReceiver<ZkRequest>,
    events: mpsc::UnboundedSender<T>,
) {
    let mut state = client.state_watcher();
    let mut lock_watch: Option<Pin<Box<dyn Future<Output = zk::WatchedEvent> + Send>>> = None;
    let mut answers: FuturesUnordered<Answer<'_>> = FuturesUnordered::new();
    loop {
        tokio::select! {
            biased;
            event = async { lock_watch.as_mut().expect("guarded").await }, if lock_watch.is_some() => {
                lock_watch = None;
                if let Some(event) = node_event(&event)
                    && events.send(ElectorEvent::LockWatch { client: id, event }.into()).is_err()
                {
                    break;
                }
            }
            changed = state.changed() => {
                if let Some(event) = session_event(changed)
                    && events.send(ElectorEvent::Session { client: id, event }.into()).is_err()
                {
                    break;
                }
            }
            Some((event, watcher)) = answers.next(), if !answers.is_empty() => {
                if let Some(watcher) = watcher {
                    // Only the newest watch counts: one change, one notification.
                    lock_watch = Some(Box::pin(watcher.changed()));
                }
                if events.send(event.into()).is_err() {
                    break;
                }
            }
            request = requests.recv() => match request {
                Some(request) => answers.push(send(&client, id, &paths, request)),
                None => break,
            },
        }
    }
    tracing::debug!(target: LOG, "Closing ZooKeeper session {}", client.session_id());
}

/// `parentZNodeExists`.
pub async fn parent_exists(client: &zk::Client, parent: &str) -> Result<bool, ZkError> {
    client
        .check_stat(parent)
        .await
        .map(|stat| stat.is_some())
        .map_err(|source| ZkError::Exists {
            path: parent.to_string(),
            source,
        })
}

/// Runs `op` again while it fails with a lost connection, up to `retries` attempts in all
/// (Hadoop's `zkDoWithRetries`).
async fn with_retries<T, F, Fut>(retries: u32, mut op: F) -> Result<T, zk::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, zk::Error>>,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Err(e) if code_of(&e).should_retry() && attempt + 1 < retries.max(1) => attempt += 1,
            other => return other,
        }
    }
}

/// `ensureParentZNode`: creates every component of the parent znode, PERSISTENT with the
/// configured ACL; a component that exists gets its ACL reset when it differs.
pub async fn ensure_parent(client: &zk::Client, settings: &ZkSettings) -> Result<(), ZkError> {
    let acl = acls(settings);
    let options = zk::CreateMode::Persistent.with_acls(zk::Acls::new(&acl));
    let parent = settings.parent_znode.trim_end_matches('/');
    let mut prefix = String::new();
    for part in parent.split('/').skip(1) {
        prefix.push('/');
        prefix.push_str(part);
        tracing::debug!(target: LOG, "Ensuring existence of {prefix}");
        match with_retries(settings.op_retries, || {
            client.create(&prefix, &[], &options)
        })
        .await
        {
            Ok(_) => {}
            Err(zk::Error::NodeExists) => {
                let set_acl = |source| ZkError::SetAcl {
                    path: prefix.clone(),
                    source,
                };
                let (current, stat) = with_retries(settings.op_retries, || client.get_acl(&prefix))
                    .await
                    .map_err(set_acl)?;
                let same = current.len() == acl.len() && current.iter().all(|a| acl.contains(a));
                if !same {
                    client
                        .set_acl(&prefix, &acl, Some(stat.aversion))
                        .await
                        .map_err(set_acl)?;
                }
            }
            Err(source) => {
                return Err(ZkError::Create {
                    path: prefix,
                    source,
                });
            }
        }
    }
    tracing::info!(target: LOG, "Successfully created {parent} in ZK.");
    Ok(())
}

/// `clearParentZNode`: deletes the parent znode and everything under it.
pub async fn clear_parent(client: &zk::Client, settings: &ZkSettings) -> Result<(), ZkError> {
    let parent = settings.parent_znode.trim_end_matches('/').to_string();
    tracing::info!(target: LOG, "Recursively deleting {parent} from ZK...");
    let fail = |source| ZkError::Clear {
        path: parent.clone(),
        source,
    };
    // Breadth-first listing, then deletion deepest first (ZooKeeper's ZKUtil.deleteRecursive).
    let mut tree = vec![parent.clone()];
    let mut i = 0;
    while i < tree.len() {
        let path = tree[i].clone();
        match with_retries(settings.op_retries, || client.list_children(&path)).await {
            Ok(children) => {
                for child in children {
                    tree.push(format!("{path}/{child}"));
                }
            }
            Err(zk::Error::NoNode) => {}
            Err(e) => return Err(fail(e)),
        }
        i += 1;
    }
    for path in tree.iter().rev() {
        match with_retries(settings.op_retries, || client.delete(path, None)).await {
            Ok(()) | Err(zk::Error::NoNode) => {}
            Err(e) => return Err(fail(e)),
        }
    }
    tracing::info!(target: LOG, "Successfully deleted {parent} from ZK.");
    Ok(())
}

/// `getActiveData`: the lock's data, `None` when nobody holds it.
pub async fn active_data(
    client: &zk::Client,
    settings: &ZkSettings,
) -> Result<Option<Vec<u8>>, zk::Error> {
    let lock = format!(
        "{}/{LOCK_FILENAME}",
        settings.parent_znode.trim_end_matches('/')
    );
    match with_retries(settings.op_retries, || client.get_data(&lock)).await {
        Ok((data, _)) => Ok(Some(data)),
        Err(zk::Error::NoNode) => Ok(None),
        Err(e) => Err(e),
    }
}

//! The client port, shared by both server roles (standalone in `server`, a member of an
//! ensemble in `ensemble`): the listener with ZooKeeper's protocol and four-letter words on
//! one port, each connection's read and write loops, the registry through which the core's
//! frames reach connections, the core's clock and ticker, and the `/metrics` endpoint.
//!
//! Invariants: bytes of one connection are read, decoded and fed to the core in order, and
//! its replies are written in the order the core produced them; a bad frame closes only its
//! own connection.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::four_letter::{self, ServerInfo, Telemetry};
use super::jute::{self, ConnectRequest, FrameError, Jute, RequestHeader};
use super::processor::{Action, ConnId, CoreConfig, Input, Now};
use super::store::{StoreConfig, StoreError};
use crate::conf::{ConfError, FOUR_LETTER_WORDS, FourLetterWhitelist, ZooCfg};

/// Everything the server needs, read once from zoo.cfg.
#[derive(Debug, Clone)]
pub struct ServerConf {
    pub core: CoreConfig,
    pub store: StoreConfig,
    pub four_letter_words: FourLetterWhitelist,
    /// Per client IP; 0 = unlimited.
    pub max_client_cnxns: u32,
    /// Txns between snapshots (the roll point is random in (snapCount/2, snapCount]).
    pub snap_count: u64,
    /// Hours between purges; 0 disables.
    pub purge_interval_hours: u32,
    /// Where to listen for clients (clientPortAddress:clientPort).
    pub client_address: SocketAddr,
    /// Where `/metrics` listens (metricsProvider.httpHost:httpPort).
    pub metrics_address: SocketAddr,
    pub tick_time_ms: u32,
    pub server_id: u64,
}

impl ServerConf {
    pub fn from_zoo_cfg(cfg: &ZooCfg) -> Result<ServerConf, ConfError> {
        let fail = |reason: String| ConfError::ZooCfg {
            path: cfg.path.clone(),
            reason,
        };
        let port = cfg
            .client_port
            .ok_or_else(|| fail("clientPort is not set".into()))?;
        let host = cfg
            .client_port_address
            .clone()
            .unwrap_or_else(|| "0.0.0.0".into());
        let ip: IpAddr = host
            .parse()
            .or_else(|_| {
                std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
                    .ok()
                    .and_then(|mut a| a.next())
                    .map(|a| a.ip())
                    .ok_or(())
            })
            .map_err(|_| fail(format!("Address unresolved: {host}:{port}")))?;
        let metrics_host = cfg
            .system_property("metricsProvider.httpHost")
            .unwrap_or("0.0.0.0")
            .to_string();
        let metrics_ip: IpAddr = metrics_host
            .parse()
            .map_err(|_| fail(format!("Address unresolved: {metrics_host}")))?;
        let mut store = StoreConfig::new(&cfg.data_dir, &cfg.data_log_dir);
        store.force_sync = cfg.force_sync();
        store.prealloc_bytes = cfg.pre_alloc_size_kb()? * 1024;
        store.snap_retain_count = cfg.autopurge_snap_retain_count as usize;
        store.max_buffer = cfg.jute_maxbuffer()?;
        let container_check = cfg
            .system_property("znode.container.checkIntervalMs")
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    fail(format!(
                        "For input string: \"{v}\" (property znode.container.checkIntervalMs)"
                    ))
                })
            })
            .transpose()?
            .unwrap_or(60_000);
        let server_id = cfg.myid.unwrap_or(0);
        Ok(ServerConf {
            core: CoreConfig {
                // Standalone ZooKeeper gives its session tracker server id 1 (session ids
                // 0x01...); a quorum member uses its myid.
                server_id: u8::try_from(cfg.myid.unwrap_or(1)).unwrap_or(1),
                tick_ms: cfg.tick_time_ms,
                min_session_timeout_ms: cfg.min_session_timeout_ms,
                max_session_timeout_ms: cfg.max_session_timeout_ms,
                max_buffer: cfg.jute_maxbuffer()?,
                super_digest: cfg.super_digest().map(str::to_string),
                extended_types: cfg.extended_types_enabled(),
                reconfig_enabled: false,
                acl_rules: super::tree::AclRules {
                    skip_acl: cfg.system_property("skipACL") == Some("yes"),
                    digest_disabled: cfg
                        .system_property("DigestAuthenticationProvider.enabled")
                        .is_some_and(|v| !v.eq_ignore_ascii_case("true")),
                },
                container_check_interval_ms: container_check,
            },
            store,
            four_letter_words: cfg.four_letter_words(),
            max_client_cnxns: cfg.max_client_cnxns,
            snap_count: cfg.snap_count()?,
            purge_interval_hours: cfg.autopurge_purge_interval_hours,
            client_address: SocketAddr::new(ip, port),
            metrics_address: SocketAddr::new(metrics_ip, cfg.metrics_http_port()?),
            tick_time_ms: cfg.tick_time_ms,
            server_id,
        })
    }
}

/// The sockets `run` serves (bound by the caller, so tests can use port 0).
pub struct Listeners {
    pub client: std::net::TcpListener,
    /// `/metrics`; `None` serves no metrics.
    pub metrics: Option<std::net::TcpListener>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("Unable to load database on disk: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The txn log could not be written or synced: nothing more may be acknowledged.
    #[error("Severe unrecoverable error writing the txn log: {0}")]
    Log(String),
}

/// A message to the core thread.
pub(super) enum CoreMsg {
    Input(Input),
    /// Quorum mode: an input for the ZAB peer (a standalone core ignores it).
    Zab(super::zab::Input),
    FourLetter {
        word: String,
        conn: ConnId,
        addr: SocketAddr,
        /// `stmk`'s new trace mask.
        mask: Option<i64>,
        reply: oneshot::Sender<String>,
    },
    Metrics {
        reply: oneshot::Sender<String>,
    },
    /// Quorum mode: the syncer made more of the peer's store ops durable (how far is in the
    /// pipeline's `Durable`); a standalone core ignores it.
    Persisted,
    Stop,
}

pub(super) enum Outbound {
    Frame(Vec<u8>),
    Close,
}

/// Where a connection's outgoing frames go, and how many bytes wait there unwritten.
#[derive(Clone)]
pub(super) struct Outlet {
    tx: mpsc::UnboundedSender<Outbound>,
    queued: Arc<std::sync::atomic::AtomicUsize>,
}

/// A client that stops reading while replies and events pile up for it is cut off once this
/// many jute.maxbuffer-sized frames' worth of bytes wait for it (64 MiB by default), rather
/// than growing the server's memory without bound.
pub(super) const MAX_QUEUED_FRAMES: usize = 64;

pub(super) type Registry = Arc<Mutex<HashMap<ConnId, Outlet>>>;

pub(super) struct Shared {
    pub(super) core: mpsc::Sender<CoreMsg>,
    pub(super) registry: Registry,
    pub(super) telemetry: Arc<Telemetry>,
    pub(super) whitelist: FourLetterWhitelist,
    pub(super) max_buffer: usize,
    pub(super) max_client_cnxns: u32,
    pub(super) per_ip: Mutex<HashMap<IpAddr, u32>>,
    pub(super) shutdown: CancellationToken,
}

/// What the four-letter words report of a standalone server (a quorum member adds its role
/// and ensemble).
pub(super) fn standalone_info(conf: &ServerConf, client_port: u16, start: Instant) -> ServerInfo {
    ServerInfo {
        client_port,
        snap_dir: conf.store.snap_dir.clone(),
        log_dir: conf.store.log_dir.clone(),
        tick_time_ms: conf.tick_time_ms,
        max_client_cnxns: conf.max_client_cnxns,
        min_session_timeout_ms: conf.core.min_session_timeout_ms,
        max_session_timeout_ms: conf.core.max_session_timeout_ms,
        server_id: conf.server_id,
        started: start,
        observer: false,
        quorum: None,
        ensemble: None,
    }
}

impl Shared {
    /// What every client connection of a server (standalone or quorum member) shares.
    pub(super) fn new(
        core: mpsc::Sender<CoreMsg>,
        registry: Registry,
        telemetry: Arc<Telemetry>,
        conf: &ServerConf,
        shutdown: CancellationToken,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            core,
            registry,
            telemetry,
            whitelist: conf.four_letter_words.clone(),
            max_buffer: conf.core.max_buffer,
            max_client_cnxns: conf.max_client_cnxns,
            per_ip: Mutex::new(HashMap::new()),
            shutdown,
        })
    }
}

/// Sends the core a tick every `period` (a late tick is not made up for) until `token` is
/// cancelled or the core is gone.
pub(super) fn spawn_ticker(
    core: mpsc::Sender<CoreMsg>,
    token: CancellationToken,
    period: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = token.cancelled() => break,
                _ = interval.tick() => {
                    if core.send(CoreMsg::Input(Input::Tick)).await.is_err() {
                        break;
                    }
                }
            }
        }
    })
}

pub(super) fn clock(start: Instant) -> Now {
    Now {
        mono_ms: start.elapsed().as_millis() as i64,
        wall_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
    }
}

/// Serves `/metrics` from the core's figures until `token` is cancelled.
pub(super) fn serve_metrics(
    listener: std::net::TcpListener,
    core_tx: mpsc::Sender<CoreMsg>,
    token: CancellationToken,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let core_tx = core_tx.clone();
            async move {
                let (reply, rx) = oneshot::channel();
                let _ = core_tx.send(CoreMsg::Metrics { reply }).await;
                let body = rx.await.unwrap_or_default();
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    body,
                )
            }
        }),
    );
    Ok(tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await;
    }))
}

/// Accepts clients until `shutdown` completes or `fatal` is cancelled.
pub(super) async fn serve_clients(
    client: tokio::net::TcpListener,
    shared: &Arc<Shared>,
    shutdown: impl Future<Output = ()>,
    fatal: &CancellationToken,
) {
    let mut next_conn: ConnId = 1;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => {
                tracing::info!("shutting down");
                break;
            }
            _ = fatal.cancelled() => break,
            accepted = client.accept() => match accepted {
                Ok((stream, addr)) => {
                    let conn = next_conn;
                    next_conn += 1;
                    if !admit(shared, addr.ip()) {
                        tracing::warn!(
                            "Too many connections from /{} - max is {}",
                            addr.ip(),
                            shared.max_client_cnxns
                        );
                        continue;
                    }
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        serve_connection(stream, addr, conn, &shared).await;
                        release(&shared, addr.ip());
                    });
                }
                Err(e) => {
                    tracing::warn!("Ignoring unexpected exception during socket accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// Hands one client action to its connection's writer (cutting off a client that does not
/// read); false for a reply whose connection is gone.
pub(super) fn deliver(
    registry: &HashMap<ConnId, Outlet>,
    action: Action,
    max_queued: usize,
) -> bool {
    match action {
        Action::Send { conn, frame } => {
            let Some(out) = registry.get(&conn) else {
                return false;
            };
            let len = frame.len();
            let queued = out.queued.fetch_add(len, Ordering::Relaxed) + len;
            if queued > max_queued {
                tracing::warn!(
                    "Closing connection {conn}: {queued} bytes queued for a client that does not read"
                );
                let _ = out.tx.send(Outbound::Close);
            } else {
                let _ = out.tx.send(Outbound::Frame(frame));
            }
            true
        }
        Action::Close { conn } => {
            if let Some(out) = registry.get(&conn) {
                let _ = out.tx.send(Outbound::Close);
            }
            true
        }
    }
}

fn admit(shared: &Shared, ip: IpAddr) -> bool {
    let mut per_ip = shared.per_ip.lock().expect("per-ip lock");
    let n = per_ip.entry(ip).or_insert(0);
    if shared.max_client_cnxns > 0 && *n >= shared.max_client_cnxns {
        return false;
    }
    *n += 1;
    true
}

fn release(shared: &Shared, ip: IpAddr) {
    let mut per_ip = shared.per_ip.lock().expect("per-ip lock");
    if let Some(n) = per_ip.get_mut(&ip) {
        *n -= 1;
        if *n == 0 {
            per_ip.remove(&ip);
        }
    }
}

/// The four-letter word these bytes spell, if any.
fn four_letter_word(prefix: &[u8]) -> Option<&'static str> {
    FOUR_LETTER_WORDS
        .iter()
        .copied()
        .find(|w| w.as_bytes() == prefix)
}

async fn serve_connection(stream: TcpStream, addr: SocketAddr, conn: ConnId, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let (reader, writer) = stream.into_split();
    let (tx, rx) = mpsc::unbounded_channel();
    let outlet = Outlet {
        tx: tx.clone(),
        queued: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
    };
    let closed = CancellationToken::new();
    let writer_task = tokio::spawn(write_loop(
        writer,
        rx,
        outlet.queued.clone(),
        closed.clone(),
    ));
    let opened = read_loop(reader, addr, conn, shared, &outlet, &closed).await;
    if opened {
        shared.registry.lock().expect("registry lock").remove(&conn);
        shared.telemetry.forget_connection(conn);
        let _ = shared
            .core
            .send(CoreMsg::Input(Input::Closed { conn }))
            .await;
    }
    let _ = tx.send(Outbound::Close);
    drop(tx);
    let _ = writer_task.await;
}

async fn write_loop(
    writer: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Outbound>,
    queued: Arc<std::sync::atomic::AtomicUsize>,
    closed: CancellationToken,
) {
    let mut w = BufWriter::with_capacity(64 * 1024, writer);
    while let Some(msg) = rx.recv().await {
        match msg {
            Outbound::Frame(frame) => {
                if w.write_all(&frame).await.is_err() {
                    break;
                }
                queued.fetch_sub(frame.len(), Ordering::Relaxed);
                if rx.is_empty() && w.flush().await.is_err() {
                    break;
                }
            }
            Outbound::Close => {
                let _ = w.flush().await;
                let _ = w.shutdown().await;
                break;
            }
        }
    }
    closed.cancel();
}

/// Reads frames until EOF, a bad frame, or a close; returns whether the core knew the
/// connection (so it must be told it closed).
async fn read_loop(
    mut reader: OwnedReadHalf,
    addr: SocketAddr,
    conn: ConnId,
    shared: &Shared,
    outlet: &Outlet,
    closed: &CancellationToken,
) -> bool {
    let tx = &outlet.tx;
    let mut buf = BytesMut::with_capacity(4096);
    let mut opened = false;
    loop {
        // Decode every whole frame in the buffer.
        loop {
            if !opened
                && buf.len() >= 4
                && let Some(word) = four_letter_word(&buf[..4])
            {
                // stmk carries an 8-byte mask after the word.
                if word == "stmk" && buf.len() < 12 {
                    break;
                }
                let mask = (word == "stmk").then(|| {
                    let mut m = [0u8; 8];
                    m.copy_from_slice(&buf[4..12]);
                    i64::from_be_bytes(m)
                });
                let text = if !shared.whitelist.allows(word) {
                    four_letter::not_whitelisted(word)
                } else {
                    let (reply, rx) = oneshot::channel();
                    let msg = CoreMsg::FourLetter {
                        word: word.to_string(),
                        conn,
                        addr,
                        mask,
                        reply,
                    };
                    if shared.core.send(msg).await.is_err() {
                        return false;
                    }
                    rx.await.unwrap_or_default()
                };
                let _ = tx.send(Outbound::Frame(text.into_bytes()));
                let _ = tx.send(Outbound::Close);
                return false;
            }
            let len = match jute::check_frame(&buf, shared.max_buffer) {
                Ok(len) => len,
                Err(FrameError::Incomplete) => break,
                Err(FrameError::BadLength(len)) => {
                    tracing::warn!(
                        "Closing connection to /{addr}: Len error {len} (jute.maxbuffer {})",
                        shared.max_buffer
                    );
                    return opened;
                }
            };
            let frame = buf.split_to(4 + len);
            let payload = &frame[4..];
            if !opened {
                let request = match ConnectRequest::from_bytes(payload, shared.max_buffer) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!("Closing connection to /{addr}: bad connect request: {e}");
                        return false;
                    }
                };
                shared
                    .registry
                    .lock()
                    .expect("registry lock")
                    .insert(conn, outlet.clone());
                opened = true;
                for input in [Input::Open { conn, addr }, Input::Connect { conn, request }] {
                    if shared.core.send(CoreMsg::Input(input)).await.is_err() {
                        return opened;
                    }
                }
                continue;
            }
            let mut r = jute::Reader::new(payload, shared.max_buffer);
            let header = match RequestHeader::read(&mut r) {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!("Closing connection to /{addr}: bad request header: {e}");
                    return opened;
                }
            };
            let body = payload[r.position()..].to_vec();
            shared.telemetry.outstanding.fetch_add(1, Ordering::Relaxed);
            let input = Input::Request { conn, header, body };
            if shared.core.send(CoreMsg::Input(input)).await.is_err() {
                return opened;
            }
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(64 * 1024);
        }
        tokio::select! {
            _ = closed.cancelled() => return opened,
            _ = shared.shutdown.cancelled() => return opened,
            read = reader.read_buf(&mut buf) => match read {
                Ok(0) | Err(_) => return opened,
                Ok(_) => {}
            }
        }
    }
}

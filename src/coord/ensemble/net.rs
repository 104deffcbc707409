//! The quorum shell's sockets: one election link per other server (dialled only by the
//! larger id; the newest notification wins), the quorum-port connections between a leader
//! and its learners, and the 4-byte-length framing of both.
//!
//! Invariants: every frame's length is checked against a limit before anything is
//! allocated; a frame that does not decode ends its connection (reported to the core as
//! `Disconnected` when it was the current one) and never panics; each peer has at most one
//! current quorum-port connection, and only the current one's end is reported.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use super::{HANDSHAKE_TIMEOUT, MAX_ELECTION_FRAME, PeerAddrs, QuorumConf};
use crate::coord::client_port::CoreMsg;
use crate::coord::zab::{self, Input, PeerMsg, Sid, wire};

/// An open quorum-port connection.
struct PeerLink {
    id: u64,
    tx: mpsc::UnboundedSender<Outbound>,
    closed: CancellationToken,
}

/// What a connection sends next: a frame, or one that is still being made (a SNAP being
/// built between batches) and that everything queued after it waits for.
pub(super) enum Outbound {
    Frame(Vec<u8>),
    Later(oneshot::Receiver<Vec<u8>>),
}

/// The sockets to the other servers.
pub(super) struct Net {
    my_id: Sid,
    servers: BTreeMap<Sid, PeerAddrs>,
    core: mpsc::Sender<CoreMsg>,
    /// The newest notification for each other server (older unsent ones are dropped).
    votes: HashMap<Sid, watch::Sender<Option<Vec<u8>>>>,
    /// Election connections from servers with a larger id, handed to their link.
    incoming: HashMap<Sid, mpsc::Sender<TcpStream>>,
    links: Mutex<HashMap<Sid, PeerLink>>,
    next_link: AtomicU64,
    token: CancellationToken,
    max_frame: usize,
    /// How long a learner keeps trying to reach its leader (initLimit ticks).
    connect_deadline: Duration,
    handle: tokio::runtime::Handle,
}

pub(super) fn frame_of(fill: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = vec![0; 4];
    fill(&mut out);
    let len = (out.len() - 4) as u32;
    out[..4].copy_from_slice(&len.to_be_bytes());
    out
}

pub(super) async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> std::io::Result<Vec<u8>> {
    let len = r.read_u32().await? as usize;
    if len > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("frame of {len} bytes is over the limit of {max}"),
        ));
    }
    let mut buf = vec![0; len];
    r.read_exact(&mut buf).await?;
    Ok(buf)
}

/// Writes what is queued in order, flushing whenever the queue runs dry; a frame that was
/// never made (its maker gave up) ends the connection, as nothing after it may go out.
pub(super) async fn write_frames<W: AsyncWrite + Unpin>(
    w: W,
    rx: &mut mpsc::UnboundedReceiver<Outbound>,
) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(64 * 1024, w);
    while let Some(next) = rx.recv().await {
        let frame = match next {
            Outbound::Frame(frame) => frame,
            Outbound::Later(made) => {
                w.flush().await?;
                made.await.map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::Interrupted,
                        "a frame queued on the connection was given up",
                    )
                })?
            }
        };
        w.write_all(&frame).await?;
        if rx.is_empty() {
            w.flush().await?;
        }
    }
    Ok(())
}

impl Net {
    pub(super) fn start(
        quorum: &QuorumConf,
        core: mpsc::Sender<CoreMsg>,
        token: CancellationToken,
        max_frame: usize,
        quorum_listener: std::net::TcpListener,
        election_listener: std::net::TcpListener,
    ) -> std::io::Result<Arc<Net>> {
        let my_id = quorum.zab.my_id;
        let mut votes = HashMap::new();
        let mut vote_rx = HashMap::new();
        let mut incoming = HashMap::new();
        let mut incoming_rx = HashMap::new();
        for sid in quorum.servers.keys().copied().filter(|s| *s != my_id) {
            let (tx, rx) = watch::channel(None);
            votes.insert(sid, tx);
            vote_rx.insert(sid, rx);
            if sid > my_id {
                let (tx, rx) = mpsc::channel(4);
                incoming.insert(sid, tx);
                incoming_rx.insert(sid, rx);
            }
        }
        let net = Arc::new(Net {
            my_id,
            servers: quorum.servers.clone(),
            core,
            votes,
            incoming,
            links: Mutex::new(HashMap::new()),
            next_link: AtomicU64::new(1),
            token,
            max_frame,
            connect_deadline: Duration::from_millis(
                quorum.zab.tick_ms * quorum.zab.init_limit.max(1),
            ),
            handle: tokio::runtime::Handle::current(),
        });
        for (sid, rx) in vote_rx {
            let incoming = incoming_rx.remove(&sid);
            tokio::spawn(election_link(net.clone(), sid, rx, incoming));
        }
        quorum_listener.set_nonblocking(true)?;
        let quorum_listener = tokio::net::TcpListener::from_std(quorum_listener)?;
        election_listener.set_nonblocking(true)?;
        let election_listener = tokio::net::TcpListener::from_std(election_listener)?;
        tokio::spawn(accept_learners(net.clone(), quorum_listener));
        tokio::spawn(accept_election(net.clone(), election_listener));
        Ok(net)
    }

    pub(super) fn send(&self, to: Sid, msg: &PeerMsg) {
        let links = self.links.lock().expect("links lock");
        if let Some(link) = links.get(&to) {
            let _ = link
                .tx
                .send(Outbound::Frame(frame_of(|out| wire::encode_peer(msg, out))));
        }
    }

    /// Queues a frame still to be made on the connection with `to` (everything sent after
    /// it waits for it); where to put it once made, or `None` without a connection.
    pub(super) fn send_later(&self, to: Sid) -> Option<oneshot::Sender<Vec<u8>>> {
        let links = self.links.lock().expect("links lock");
        let link = links.get(&to)?;
        let (tx, rx) = oneshot::channel();
        link.tx.send(Outbound::Later(rx)).ok()?;
        Some(tx)
    }

    pub(super) fn elect(&self, to: Sid, note: &zab::Notification) {
        if let Some(tx) = self.votes.get(&to) {
            tx.send_replace(Some(frame_of(|out| wire::encode_notification(note, out))));
        }
    }

    pub(super) fn disconnect(&self, peer: Sid) {
        if let Some(link) = self.links.lock().expect("links lock").remove(&peer) {
            link.closed.cancel();
        }
    }

    /// Whether a connection with `peer` is current (open or being dialled).
    pub(super) fn has_link(&self, peer: Sid) -> bool {
        self.links.lock().expect("links lock").contains_key(&peer)
    }

    pub(super) fn disconnect_all(&self) {
        for (_, link) in self.links.lock().expect("links lock").drain() {
            link.closed.cancel();
        }
    }

    /// Registers a new connection with `peer` (replacing any); its id and outbound queue.
    fn register(&self, peer: Sid) -> (u64, mpsc::UnboundedReceiver<Outbound>, CancellationToken) {
        let id = self.next_link.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let closed = self.token.child_token();
        let old = self.links.lock().expect("links lock").insert(
            peer,
            PeerLink {
                id,
                tx,
                closed: closed.clone(),
            },
        );
        if let Some(old) = old {
            old.closed.cancel();
        }
        (id, rx, closed)
    }

    /// Forgets connection `id` with `peer` if it is still the current one; whether it was.
    fn unregister(&self, peer: Sid, id: u64) -> bool {
        let mut links = self.links.lock().expect("links lock");
        if links.get(&peer).is_some_and(|l| l.id == id) {
            links.remove(&peer);
            return true;
        }
        false
    }

    /// Learner: dials the leader's quorum port until it answers or initLimit passes.
    pub(super) fn connect_leader(self: &Arc<Self>, leader: Sid) {
        let Some(addr) = self.servers.get(&leader).map(|a| a.quorum.clone()) else {
            return;
        };
        let (id, rx, closed) = self.register(leader);
        let net = self.clone();
        self.handle.spawn(async move {
            let deadline = tokio::time::Instant::now() + net.connect_deadline;
            let stream = loop {
                let attempt = tokio::select! {
                    _ = closed.cancelled() => return,
                    r = tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(&addr)) => r,
                };
                match attempt {
                    Ok(Ok(s)) => break s,
                    Ok(Err(e)) if tokio::time::Instant::now() >= deadline => {
                        tracing::info!(
                            sid = net.my_id,
                            "cannot reach leader {leader} at {addr}: {e}"
                        );
                        break_link(&net, leader, id).await;
                        return;
                    }
                    _ if tokio::time::Instant::now() >= deadline => {
                        break_link(&net, leader, id).await;
                        return;
                    }
                    _ => {
                        tokio::select! {
                            _ = closed.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                        }
                    }
                }
            };
            let _ = stream.set_nodelay(true);
            tracing::info!(sid = net.my_id, "connected to leader {leader} at {addr}");
            if net
                .core
                .send(CoreMsg::Zab(Input::Connected { peer: leader }))
                .await
                .is_err()
            {
                return;
            }
            peer_connection(net, leader, id, stream, rx, closed).await;
        });
    }
}

/// Reports the end of connection `id` with `peer` to the core if it was the current one.
async fn break_link(net: &Arc<Net>, peer: Sid, id: u64) {
    if net.unregister(peer, id) {
        let _ = net
            .core
            .send(CoreMsg::Zab(Input::Disconnected { peer }))
            .await;
    }
}

/// Carries one quorum-port connection until either side ends it or it is replaced.
async fn peer_connection(
    net: Arc<Net>,
    peer: Sid,
    id: u64,
    stream: TcpStream,
    mut rx: mpsc::UnboundedReceiver<Outbound>,
    closed: CancellationToken,
) {
    let (mut reader, writer) = stream.into_split();
    let reading = async {
        loop {
            let frame = match read_frame(&mut reader, net.max_frame).await {
                Ok(f) => f,
                Err(e) => {
                    tracing::debug!(sid = net.my_id, peer, "peer connection ended: {e}");
                    return;
                }
            };
            match wire::decode_peer(&frame) {
                Ok(msg) => {
                    let input = Input::Peer { from: peer, msg };
                    if net.core.send(CoreMsg::Zab(input)).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(sid = net.my_id, peer, "closing the connection: {e}");
                    return;
                }
            }
        }
    };
    tokio::select! {
        _ = closed.cancelled() => {}
        _ = reading => {}
        _ = write_frames(writer, &mut rx) => {}
    }
    break_link(&net, peer, id).await;
}

/// The next connection on `listener`; `None` once the server stops. A failed accept (out of
/// file descriptors, …) is logged and retried after a pause instead of spinning.
async fn accept(
    net: &Net,
    listener: &tokio::net::TcpListener,
    port: &str,
) -> Option<(tokio::net::TcpStream, std::net::SocketAddr)> {
    loop {
        tokio::select! {
            _ = net.token.cancelled() => return None,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => return Some(accepted),
                Err(e) => {
                    tracing::warn!("{port} port accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

/// Leader side of the quorum port: a learner's first frame names it.
async fn accept_learners(net: Arc<Net>, listener: tokio::net::TcpListener) {
    while let Some((mut stream, addr)) = accept(&net, &listener, "quorum").await {
        let net = net.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let first = tokio::time::timeout(
                HANDSHAKE_TIMEOUT,
                read_frame(&mut stream, MAX_ELECTION_FRAME),
            )
            .await;
            let msg = match first.map(|r| r.map(|f| wire::decode_peer(&f))) {
                Ok(Ok(Ok(msg))) => msg,
                _ => {
                    tracing::warn!("dropping a quorum connection from {addr}: no learner info");
                    return;
                }
            };
            let sid = match &msg {
                PeerMsg::FollowerInfo { sid, .. } | PeerMsg::ObserverInfo { sid, .. } => *sid,
                other => {
                    tracing::warn!(
                        "dropping a quorum connection from {addr}: {} before learner info",
                        other.name()
                    );
                    return;
                }
            };
            if sid == net.my_id || !net.servers.contains_key(&sid) {
                tracing::warn!("dropping a quorum connection from {addr}: unknown server {sid}");
                return;
            }
            let (id, rx, closed) = net.register(sid);
            tracing::info!(sid = net.my_id, "learner {sid} connected from {addr}");
            let input = Input::Peer { from: sid, msg };
            if net.core.send(CoreMsg::Zab(input)).await.is_err() {
                return;
            }
            peer_connection(net, sid, id, stream, rx, closed).await;
        });
    }
}

/// The election port: only servers with a larger id dial us (ZooKeeper's rule, so each
/// pair keeps one connection); a hello from a smaller id is dropped, it waits for our dial.
async fn accept_election(net: Arc<Net>, listener: tokio::net::TcpListener) {
    while let Some((mut stream, addr)) = accept(&net, &listener, "election").await {
        let net = net.clone();
        tokio::spawn(async move {
            let hello = tokio::time::timeout(
                HANDSHAKE_TIMEOUT,
                read_frame(&mut stream, MAX_ELECTION_FRAME),
            )
            .await;
            let sid = match hello.map(|r| r.map(|f| wire::decode_hello(&f))) {
                Ok(Ok(Ok(sid))) => sid,
                _ => {
                    tracing::warn!("dropping an election connection from {addr}: bad hello");
                    return;
                }
            };
            match net.incoming.get(&sid) {
                Some(tx) => {
                    let _ = stream.set_nodelay(true);
                    let _ = tx.send(stream).await;
                }
                None => tracing::info!(
                    sid = net.my_id,
                    "dropping an election connection from {sid} at {addr}: the larger id dials"
                ),
            }
        });
    }
}

/// The election link with `peer`: dials it (when our id is larger) or takes its dials, and
/// carries notifications both ways, reconnecting for as long as the server runs.
async fn election_link(
    net: Arc<Net>,
    peer: Sid,
    mut votes: watch::Receiver<Option<Vec<u8>>>,
    mut incoming: Option<mpsc::Receiver<TcpStream>>,
) {
    let Some(addr) = net.servers.get(&peer).map(|a| a.election.clone()) else {
        return;
    };
    let my_addr = net
        .servers
        .get(&net.my_id)
        .map(|a| a.election.clone())
        .unwrap_or_default();
    let mut next: Option<TcpStream> = None;
    loop {
        let stream = match next.take() {
            Some(s) => s,
            None => match incoming.as_mut() {
                Some(rx) => tokio::select! {
                    _ = net.token.cancelled() => return,
                    s = rx.recv() => match s {
                        Some(s) => s,
                        None => return,
                    },
                },
                None => {
                    let dial = async {
                        let mut s =
                            tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(&addr))
                                .await
                                .map_err(|_| {
                                    std::io::Error::from(std::io::ErrorKind::TimedOut)
                                })??;
                        let _ = s.set_nodelay(true);
                        let hello = frame_of(|out| wire::encode_hello(net.my_id, &my_addr, out));
                        s.write_all(&hello).await?;
                        Ok::<_, std::io::Error>(s)
                    };
                    match dial.await {
                        Ok(s) => s,
                        Err(_) => {
                            tokio::select! {
                                _ = net.token.cancelled() => return,
                                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                            }
                            continue;
                        }
                    }
                }
            },
        };
        tracing::debug!(sid = net.my_id, peer, "election link up");
        // Whatever is pending may be stale; the core resends its vote on ElectionConnected.
        votes.mark_unchanged();
        if net
            .core
            .send(CoreMsg::Zab(Input::ElectionConnected { peer }))
            .await
            .is_err()
        {
            return;
        }
        let (mut reader, writer) = stream.into_split();
        let reading = async {
            loop {
                let frame = match read_frame(&mut reader, MAX_ELECTION_FRAME).await {
                    Ok(f) => f,
                    Err(_) => return,
                };
                match wire::decode_notification(&frame) {
                    Ok(note) => {
                        let input = Input::Notification { from: peer, note };
                        if net.core.send(CoreMsg::Zab(input)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(sid = net.my_id, peer, "closing the election link: {e}");
                        return;
                    }
                }
            }
        };
        let writing = async {
            let mut w = writer;
            while votes.changed().await.is_ok() {
                let frame = votes.borrow_and_update().clone();
                if let Some(frame) = frame
                    && w.write_all(&frame).await.is_err()
                {
                    return;
                }
            }
        };
        let replaced = async {
            match incoming.as_mut() {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = net.token.cancelled() => return,
            _ = reading => {}
            _ = writing => {}
            s = replaced => next = s,
        }
        if next.is_none() && incoming.is_none() {
            tokio::select! {
                _ = net.token.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_queued_behind_one_being_made_wait_for_it_and_a_given_up_one_ends_the_link() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (made_tx, made_rx) = oneshot::channel();
        tx.send(Outbound::Frame(b"a".to_vec())).unwrap();
        tx.send(Outbound::Later(made_rx)).unwrap();
        tx.send(Outbound::Frame(b"c".to_vec())).unwrap();
        drop(tx);
        let (w, mut r) = tokio::io::duplex(1024);
        let writer = tokio::spawn(async move { write_frames(w, &mut rx).await });
        let mut got = [0u8; 1];
        r.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"a", "flushed before waiting");
        made_tx.send(b"b".to_vec()).unwrap();
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"bc");
        writer.await.unwrap().unwrap();

        let (tx, mut rx) = mpsc::unbounded_channel();
        let (made_tx, made_rx) = oneshot::channel::<Vec<u8>>();
        tx.send(Outbound::Later(made_rx)).unwrap();
        tx.send(Outbound::Frame(b"c".to_vec())).unwrap();
        drop(made_tx);
        let (w, mut r) = tokio::io::duplex(1024);
        let err = write_frames(w, &mut rx).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::Interrupted);
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "nothing after a given-up frame goes out");
    }
}

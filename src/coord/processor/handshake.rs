//! The connect handshake: a new session, the resumption of a live one, or a refusal
//! (ZooKeeper's `ZooKeeperServer.processConnectRequest`).

use super::*;

impl Processor {
    pub(super) fn connect(&mut self, conn: ConnId, req: ConnectRequest, now: Now) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.stats.received += 1;
        self.stats.packets_received += 1;
        if req.last_zxid_seen > self.last_zxid {
            tracing::info!(
                "Refusing session request for client {} as it has seen zxid 0x{:x} our last zxid is 0x{:x} client must try another server",
                c.stats.addr,
                req.last_zxid_seen,
                self.last_zxid
            );
            self.close(conn);
            return;
        }
        let read_only = req.read_only.map(|_| false);
        if self.quorum_connect(conn, &req, read_only, now) {
            return;
        }
        self.handshake(conn, req, read_only, now);
    }

    /// Answers a connect request from the local session table: a new session, or the
    /// resumption of a live one (a wrong password or an unknown session gets timeOut 0).
    pub(super) fn handshake(
        &mut self,
        conn: ConnId,
        req: ConnectRequest,
        read_only: Option<bool>,
        now: Now,
    ) {
        let timeout = SessionTable::negotiate(
            req.timeout,
            self.config.min_session_timeout_ms,
            self.config.max_session_timeout_ms,
        );
        if req.session_id == 0 {
            let id = self.sessions.allocate_id();
            self.sessions.add(id, timeout, now.mono_ms);
            self.submit(
                id,
                0,
                Txn::CreateSession {
                    timeout_ms: timeout,
                },
                now,
            );
            tracing::info!("Established session 0x{id:x} with negotiated timeout {timeout}");
            self.welcome(conn, id, timeout, read_only, now);
            return;
        }
        let id = req.session_id;
        let valid = self.sessions.is_live(id) && req.passwd == SessionTable::password(id);
        if !valid {
            tracing::info!("Invalid session 0x{id:x} for client, probably expired");
            let resp = ConnectResponse {
                protocol_version: 0,
                timeout: 0,
                session_id: 0,
                passwd: vec![0; 16],
                read_only,
            };
            self.send(conn, jute::frame(|o| jute::Jute::write(&resp, o)));
            self.close(conn);
            return;
        }
        if let Some(old) = self.session_conn.get(&id).copied()
            && old != conn
        {
            self.close(old);
        }
        self.sessions.touch(id, now.mono_ms);
        let timeout = self.sessions.get(id).map_or(timeout, |s| s.timeout_ms);
        self.welcome(conn, id, timeout, read_only, now);
    }

    /// Binds `conn` to session `id` and answers its connect request with the session.
    pub(super) fn welcome(
        &mut self,
        conn: ConnId,
        id: i64,
        timeout: i32,
        read_only: Option<bool>,
        now: Now,
    ) {
        self.bind(conn, id, timeout, now);
        let resp = ConnectResponse {
            protocol_version: 0,
            timeout,
            session_id: id,
            passwd: SessionTable::password(id),
            read_only,
        };
        self.send(conn, jute::frame(|o| jute::Jute::write(&resp, o)));
    }

    pub(super) fn bind(&mut self, conn: ConnId, id: i64, timeout: i32, now: Now) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.stats.session_id = id;
            c.stats.timeout_ms = timeout;
            c.stats.last_op = "SESS";
            c.stats.last_response_ms = now.mono_ms;
            c.handshaken = true;
        }
        self.session_conn.insert(id, conn);
    }
}

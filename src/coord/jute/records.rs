//! The records of `zookeeper.jute` our server reads and writes: ids, ACLs and stats, the
//! request and reply records of the client protocol, the txn log records, the quorum
//! records, and the connect handshake.

use super::codec::{Jute, JuteError, Reader, VectorElement, record};

/// An identity: `world:anyone`, `digest:user:hash`, `ip:10.0.0.0/8`, `auth:`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Id {
    pub scheme: String,
    pub id: String,
}

/// Reads nulls as Apache's ACL checks treat them: a null scheme is no scheme (InvalidACL), a
/// null `auth` id or one of an unknown scheme is never looked at (kazoo writes
/// `CREATOR_ALL_ACL`'s empty id as null), and a null `world`, `digest` or `ip` id is
/// [`JuteError::Null`] (Apache's checks throw NullPointerException: MarshallingError).
impl Jute for Id {
    const MIN_SIZE: usize = 8;
    fn write(&self, out: &mut Vec<u8>) {
        self.scheme.write(out);
        self.id.write(out);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        let scheme = r.ustring()?.unwrap_or_default();
        let id = match r.ustring()? {
            Some(id) => id,
            None if matches!(scheme.as_str(), "world" | "digest" | "ip") => {
                return Err(JuteError::Null);
            }
            None => String::new(),
        };
        Ok(Id { scheme, id })
    }
}
impl VectorElement for Id {}
record!(
    /// One ACL entry: permission bits (rwcda = 1, 2, 4, 8, 16) granted to an identity.
    Acl { perms: i32, id: Id }
);
record!(
    /// The 11-field Stat a client sees (68 bytes).
    Stat {
        czxid: i64,
        mzxid: i64,
        ctime: i64,
        mtime: i64,
        version: i32,
        /// Client-visible: creates + deletes of children (see `tree`).
        cversion: i32,
        aversion: i32,
        ephemeral_owner: i64,
        data_length: i32,
        num_children: i32,
        pzxid: i64,
    }
);
record!(RequestHeader { xid: i32, op: i32 });
record!(ReplyHeader {
    xid: i32,
    zxid: i64,
    err: i32
});
record!(CreateRequest { path: String, data: Option<Vec<u8>>, acl: Vec<Acl>, flags: i32 });
record!(CreateTtlRequest { path: String, data: Option<Vec<u8>>, acl: Vec<Acl>, flags: i32, ttl: i64 });
record!(CreateResponse { path: String });
record!(Create2Response {
    path: String,
    stat: Stat
});
record!(DeleteRequest {
    path: String,
    version: i32
});
record!(
    /// exists, getData, getChildren and getChildren2 requests share this layout.
    PathWatchRequest { path: String, watch: bool }
);
record!(
    /// sync, getACL, getEphemerals and getAllChildrenNumber requests share this layout.
    PathRequest { path: String }
);
record!(SetDataRequest { path: String, data: Option<Vec<u8>>, version: i32 });
record!(StatResponse { stat: Stat });
record!(GetDataResponse { data: Option<Vec<u8>>, stat: Stat });
record!(GetChildrenResponse { children: Vec<String> });
record!(GetChildren2Response { children: Vec<String>, stat: Stat });
record!(CheckVersionRequest {
    path: String,
    version: i32
});
record!(GetAclResponse { acl: Vec<Acl>, stat: Stat });
record!(SetAclRequest { path: String, acl: Vec<Acl>, version: i32 });
record!(MultiHeader {
    op: i32,
    done: bool,
    err: i32
});
record!(ErrorResponse { err: i32 });
record!(WatcherEvent {
    event_type: i32,
    state: i32,
    path: String
});
record!(SetWatches {
    relative_zxid: i64,
    data_watches: Vec<String>,
    exist_watches: Vec<String>,
    child_watches: Vec<String>,
});
record!(SetWatches2 {
    relative_zxid: i64,
    data_watches: Vec<String>,
    exist_watches: Vec<String>,
    child_watches: Vec<String>,
    persistent_watches: Vec<String>,
    persistent_recursive_watches: Vec<String>,
});
record!(AddWatchRequest {
    path: String,
    mode: i32
});
record!(
    /// checkWatches and removeWatches share this layout; type 1 children, 2 data, 3 any.
    WatchTypeRequest { path: String, watcher_type: i32 }
);
record!(
    /// addauth; the credentials are null-able (a null `digest` credential fails, as the
    /// NullPointerException it is in Apache's provider).
    AuthPacket { auth_type: i32, scheme: String, auth: Option<Vec<u8>> }
);
record!(ClientInfo {
    auth_scheme: String,
    user: String
});
record!(WhoAmIResponse { client_info: Vec<ClientInfo> });
record!(CountResponse { total: i32 });
record!(PathsResponse { paths: Vec<String> });
record!(ReconfigRequest {
    joining_servers: String,
    leaving_servers: String,
    new_members: String,
    cur_config_id: i64,
});
record!(SaslRequest { token: Vec<u8> });

// Txn log records (our on-disk form mirrors ZooKeeper's zookeeper.jute txn records).
record!(TxnHeader {
    client_id: i64,
    cxid: i32,
    zxid: i64,
    time: i64,
    txn_type: i32
});
record!(CreateTxn {
    path: String,
    data: Option<Vec<u8>>,
    acl: Vec<Acl>,
    /// The owner: a session id, the container marker or a TTL encoding (see `tree`).
    ephemeral_owner: i64,
    /// The parent's stored cversion after this create.
    parent_cversion: i32,
});
record!(DeleteTxn { path: String });
record!(SetDataTxn { path: String, data: Option<Vec<u8>>, version: i32 });
record!(SetAclTxn { path: String, acl: Vec<Acl>, version: i32 });
record!(CreateSessionTxn { timeout: i32 });
record!(CloseSessionTxn { paths_to_delete: Vec<String> });
record!(ErrorTxn { err: i32 });
record!(SubTxn { txn_type: i32, data: Vec<u8> });
record!(MultiTxn { txns: Vec<SubTxn> });

// Quorum (server-to-server) records, as zookeeper.jute defines them.
record!(
    /// Every message on the peer port: `type` is ZooKeeper's packet type (reference §4.3).
    QuorumPacket { packet_type: i32, zxid: i64, data: Vec<u8>, authinfo: Vec<Id> }
);
record!(
    /// FOLLOWERINFO / OBSERVERINFO payload.
    LearnerInfo { serverid: i64, protocol_version: i32, config_version: i64 }
);
record!(
    /// A FastLeaderElection notification (version 2 layout, then the config bytes).
    ElectionNotification {
        state: i32,
        leader: i64,
        zxid: i64,
        election_epoch: i64,
        peer_epoch: i64,
        version: i32,
        config: Vec<u8>,
    }
);
record!(
    /// The first bytes on an election connection: protocol version, sender id, address.
    ElectionHello { protocol_version: i64, sid: i64, address: String }
);

record!(
    /// A client request a learner forwards to the leader (REQUEST's data): the session, the
    /// client's xid, the op code and request body, and what the connection authenticated as.
    /// Op createSession carries the negotiated timeout as its body; op ping carries the
    /// sessions touched since the last report (`vector<long>`).
    ForwardedRequest { session: i64, cxid: i32, op: i32, body: Vec<u8>, auth: Vec<Id>, is_super: bool }
);

/// The first frame from a client (no request header). `read_only` is absent from old clients.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    pub protocol_version: i32,
    pub last_zxid_seen: i64,
    pub timeout: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub read_only: Option<bool>,
}

impl Jute for ConnectRequest {
    fn write(&self, out: &mut Vec<u8>) {
        self.protocol_version.write(out);
        self.last_zxid_seen.write(out);
        self.timeout.write(out);
        self.session_id.write(out);
        self.passwd.write(out);
        if let Some(ro) = self.read_only {
            ro.write(out);
        }
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        Ok(ConnectRequest {
            protocol_version: r.i32()?,
            last_zxid_seen: r.i64()?,
            timeout: r.i32()?,
            session_id: r.i64()?,
            passwd: Vec::<u8>::read(r)?,
            read_only: if r.remaining() > 0 {
                Some(r.bool()?)
            } else {
                None
            },
        })
    }
}

/// The server's answer to a [`ConnectRequest`]; `read_only` only when the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectResponse {
    pub protocol_version: i32,
    pub timeout: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub read_only: Option<bool>,
}

impl Jute for ConnectResponse {
    fn write(&self, out: &mut Vec<u8>) {
        self.protocol_version.write(out);
        self.timeout.write(out);
        self.session_id.write(out);
        self.passwd.write(out);
        if let Some(ro) = self.read_only {
            ro.write(out);
        }
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        Ok(ConnectResponse {
            protocol_version: r.i32()?,
            timeout: r.i32()?,
            session_id: r.i64()?,
            passwd: Vec::<u8>::read(r)?,
            read_only: if r.remaining() > 0 {
                Some(r.bool()?)
            } else {
                None
            },
        })
    }
}

/// How a create names and owns its node (`CreateMode`, from the request flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateMode {
    Persistent,
    Ephemeral,
    PersistentSequential,
    EphemeralSequential,
    Container,
    PersistentWithTtl,
    PersistentSequentialWithTtl,
}

impl CreateMode {
    pub fn from_flags(flags: i32) -> Option<CreateMode> {
        Some(match flags {
            0 => CreateMode::Persistent,
            1 => CreateMode::Ephemeral,
            2 => CreateMode::PersistentSequential,
            3 => CreateMode::EphemeralSequential,
            4 => CreateMode::Container,
            5 => CreateMode::PersistentWithTtl,
            6 => CreateMode::PersistentSequentialWithTtl,
            _ => return None,
        })
    }

    pub fn is_ephemeral(self) -> bool {
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
    }

    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }

    pub fn is_ttl(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl
        )
    }
}

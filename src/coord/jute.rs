//! Jute, ZooKeeper's binary encoding, and every record the client protocol and our txn log use.
//! This is the only module that knows byte layouts.
//!
//! Decoding is pure and never panics: [`check_frame`] over a buffer says `Incomplete` until a
//! whole length-prefixed frame is there, refuses lengths that are negative or above
//! `jute.maxbuffer`, and [`Reader`] refuses any buffer, string or vector longer than the limit
//! or than the bytes that remain (so a hostile length never allocates).

use super::Code;

/// ZooKeeper's default `jute.maxbuffer` (0xfffff bytes).
pub const DEFAULT_MAX_BUFFER: usize = 0xfffff;

/// Op codes (`ZooDefs.OpCode`).
pub mod op {
    pub const NOTIFICATION: i32 = 0;
    pub const CREATE: i32 = 1;
    pub const DELETE: i32 = 2;
    pub const EXISTS: i32 = 3;
    pub const GET_DATA: i32 = 4;
    pub const SET_DATA: i32 = 5;
    pub const GET_ACL: i32 = 6;
    pub const SET_ACL: i32 = 7;
    pub const GET_CHILDREN: i32 = 8;
    pub const SYNC: i32 = 9;
    pub const PING: i32 = 11;
    pub const GET_CHILDREN2: i32 = 12;
    pub const CHECK: i32 = 13;
    pub const MULTI: i32 = 14;
    pub const CREATE2: i32 = 15;
    pub const RECONFIG: i32 = 16;
    pub const CHECK_WATCHES: i32 = 17;
    pub const REMOVE_WATCHES: i32 = 18;
    pub const CREATE_CONTAINER: i32 = 19;
    pub const DELETE_CONTAINER: i32 = 20;
    pub const CREATE_TTL: i32 = 21;
    pub const MULTI_READ: i32 = 22;
    pub const AUTH: i32 = 100;
    pub const SET_WATCHES: i32 = 101;
    pub const SASL: i32 = 102;
    pub const GET_EPHEMERALS: i32 = 103;
    pub const GET_ALL_CHILDREN_NUMBER: i32 = 104;
    pub const SET_WATCHES2: i32 = 105;
    pub const ADD_WATCH: i32 = 106;
    pub const WHO_AM_I: i32 = 107;
    pub const CREATE_SESSION: i32 = -10;
    pub const CLOSE_SESSION: i32 = -11;
    pub const ERROR: i32 = -1;
}

/// Special xids (`ClientCnxn`).
pub mod xid {
    pub const NOTIFICATION: i32 = -1;
    pub const PING: i32 = -2;
    pub const AUTH: i32 = -4;
    pub const SET_WATCHES: i32 = -8;
}

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JuteError {
    /// The record ends before its last field.
    #[error("record truncated")]
    Truncated,
    /// A buffer, string or vector length that is negative (other than -1) or too large.
    #[error("Unreasonable length = {0}")]
    BadLength(i64),
    /// A string that is neither UTF-8 nor Java's modified UTF-8.
    #[error("string is not UTF-8")]
    BadString,
    /// A null where the protocol needs a value.
    #[error("unexpected null")]
    Null,
    /// Bytes left over after the record.
    #[error("{0} trailing bytes after the record")]
    Trailing(usize),
    /// An op code we do not know (answered with UNIMPLEMENTED).
    #[error("unknown op code {0}")]
    UnknownOp(i32),
    /// A sub-op a multi may not carry (or reads mixed with writes).
    #[error("invalid op {0} in a multi")]
    BadMultiOp(i32),
}

/// What the frame check found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Not a whole frame yet: read more.
    #[error("incomplete frame")]
    Incomplete,
    /// ZooKeeper's "Len error": the connection must be closed.
    #[error("Len error {0}")]
    BadLength(i64),
}

/// Checks for one whole frame at the start of `buf`: `Ok(n)` means the payload is
/// `buf[4..4 + n]`.
pub fn check_frame(buf: &[u8], max_buffer: usize) -> Result<usize, FrameError> {
    if buf.len() < 4 {
        return Err(FrameError::Incomplete);
    }
    let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if len < 0 || len as usize > max_buffer {
        return Err(FrameError::BadLength(len.into()));
    }
    if buf.len() < 4 + len as usize {
        return Err(FrameError::Incomplete);
    }
    Ok(len as usize)
}

/// Appends a length-prefixed frame whose payload `fill` writes.
pub fn frame(fill: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = vec![0u8; 4];
    fill(&mut out);
    let len = (out.len() - 4) as i32;
    out[..4].copy_from_slice(&len.to_be_bytes());
    out
}

/// A cursor over one record's bytes with the length limit.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    max: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], max: usize) -> Self {
        Reader { buf, pos: 0, max }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], JuteError> {
        if self.remaining() < n {
            return Err(JuteError::Truncated);
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn i32(&mut self) -> Result<i32, JuteError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn i64(&mut self) -> Result<i64, JuteError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    pub fn bool(&mut self) -> Result<bool, JuteError> {
        Ok(self.take(1)?[0] != 0)
    }

    /// A length for `count` items of at least `unit` bytes each; `None` for -1 (null).
    fn length(&mut self, unit: usize) -> Result<Option<usize>, JuteError> {
        let len = self.i32()?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 || len as usize > self.max {
            return Err(JuteError::BadLength(len.into()));
        }
        let len = len as usize;
        if len.saturating_mul(unit) > self.remaining() {
            return Err(JuteError::Truncated);
        }
        Ok(Some(len))
    }

    /// A `buffer`; `None` for null.
    pub fn buffer(&mut self) -> Result<Option<Vec<u8>>, JuteError> {
        match self.length(1)? {
            None => Ok(None),
            Some(n) => Ok(Some(self.take(n)?.to_vec())),
        }
    }

    /// A `ustring`; `None` for null.
    pub fn ustring(&mut self) -> Result<Option<String>, JuteError> {
        match self.length(1)? {
            None => Ok(None),
            Some(n) => decode_string(self.take(n)?).map(Some),
        }
    }

    /// A `vector<T>`; `None` for null.
    pub fn vector<T: Jute>(&mut self) -> Result<Option<Vec<T>>, JuteError> {
        match self.length(T::MIN_SIZE)? {
            None => Ok(None),
            Some(n) => {
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    out.push(T::read(self)?);
                }
                Ok(Some(out))
            }
        }
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), JuteError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(JuteError::Trailing(n)),
        }
    }
}

/// UTF-8, or Java's modified UTF-8 (CESU-8 surrogate pairs) converted to UTF-8.
fn decode_string(bytes: &[u8]) -> Result<String, JuteError> {
    crate::java_data::decode_modified_utf8(bytes).ok_or(JuteError::BadString)
}

/// A value with a jute encoding.
pub trait Jute: Sized {
    /// The fewest bytes one encoded value takes (bounds vector counts before allocating).
    const MIN_SIZE: usize = 1;
    fn write(&self, out: &mut Vec<u8>);
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError>;

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    /// Decodes exactly one value from `bytes`.
    fn from_bytes(bytes: &[u8], max: usize) -> Result<Self, JuteError> {
        let mut r = Reader::new(bytes, max);
        let v = Self::read(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

impl Jute for i32 {
    const MIN_SIZE: usize = 4;
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.i32()
    }
}

impl Jute for i64 {
    const MIN_SIZE: usize = 8;
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.i64()
    }
}

impl Jute for bool {
    fn write(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.bool()
    }
}

/// A `buffer`; null reads as empty (ZooKeeper stores null data as empty).
impl Jute for Vec<u8> {
    const MIN_SIZE: usize = 4;
    fn write(&self, out: &mut Vec<u8>) {
        (self.len() as i32).write(out);
        out.extend_from_slice(self);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        Ok(r.buffer()?.unwrap_or_default())
    }
}

/// A `buffer` that may be null (znode data: ZooKeeper keeps null apart from empty).
impl Jute for Option<Vec<u8>> {
    const MIN_SIZE: usize = 4;
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Some(bytes) => bytes.write(out),
            None => (-1i32).write(out),
        }
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.buffer()
    }
}

/// A `ustring` that must not be null.
impl Jute for String {
    const MIN_SIZE: usize = 4;
    fn write(&self, out: &mut Vec<u8>) {
        (self.len() as i32).write(out);
        out.extend_from_slice(self.as_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        r.ustring()?.ok_or(JuteError::Null)
    }
}

/// A `vector<T>`; null reads as empty.
impl<T: Jute> Jute for Vec<T>
where
    T: VectorElement,
{
    const MIN_SIZE: usize = 4;
    fn write(&self, out: &mut Vec<u8>) {
        (self.len() as i32).write(out);
        for item in self {
            item.write(out);
        }
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
        Ok(r.vector::<T>()?.unwrap_or_default())
    }
}

/// Marks the types that appear as `vector<T>` elements (keeps `Vec<u8>` a buffer).
pub trait VectorElement {}
impl VectorElement for String {}
impl VectorElement for i64 {}

macro_rules! record {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
        pub struct $name { $($(#[$fm])* pub $field: $ty),* }
        impl Jute for $name {
            fn write(&self, out: &mut Vec<u8>) { $(self.$field.write(out);)* }
            fn read(r: &mut Reader<'_>) -> Result<Self, JuteError> {
                Ok($name { $($field: <$ty as Jute>::read(r)?),* })
            }
        }
        impl VectorElement for $name {}
    };
}

record!(
    /// An identity: `world:anyone`, `digest:user:hash`, `ip:10.0.0.0/8`, `auth:`.
    Id { scheme: String, id: String }
);
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
record!(AuthPacket { auth_type: i32, scheme: String, auth: Vec<u8> });
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

/// A decoded client request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// create (1), create2 (15), createContainer (19), createTTL (21): `op` says which.
    Create {
        op: i32,
        path: String,
        data: Option<Vec<u8>>,
        acl: Vec<Acl>,
        flags: i32,
        ttl: i64,
    },
    Delete {
        path: String,
        version: i32,
    },
    Exists {
        path: String,
        watch: bool,
    },
    GetData {
        path: String,
        watch: bool,
    },
    SetData {
        path: String,
        data: Option<Vec<u8>>,
        version: i32,
    },
    GetAcl {
        path: String,
    },
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        version: i32,
    },
    /// getChildren (8) or getChildren2 (12, `with_stat`).
    GetChildren {
        path: String,
        watch: bool,
        with_stat: bool,
    },
    Sync {
        path: String,
    },
    Ping,
    Check {
        path: String,
        version: i32,
    },
    Multi(Vec<Request>),
    MultiRead(Vec<Request>),
    Reconfig(ReconfigRequest),
    CheckWatches {
        path: String,
        watcher_type: i32,
    },
    RemoveWatches {
        path: String,
        watcher_type: i32,
    },
    DeleteContainer {
        path: String,
    },
    Auth(AuthPacket),
    SetWatches(SetWatches2),
    Sasl(SaslRequest),
    GetEphemerals {
        prefix: String,
    },
    GetAllChildrenNumber {
        path: String,
    },
    AddWatch {
        path: String,
        mode: i32,
    },
    WhoAmI,
    CloseSession,
}

impl Request {
    /// Decodes the body of a request of type `op`.
    pub fn decode(op: i32, body: &[u8], max: usize) -> Result<Request, JuteError> {
        let mut r = Reader::new(body, max);
        let req = Self::read_op(op, &mut r)?;
        // Java ignores trailing bytes after a request record; so do we.
        Ok(req)
    }

    fn read_op(op_code: i32, r: &mut Reader<'_>) -> Result<Request, JuteError> {
        use op::*;
        Ok(match op_code {
            CREATE | CREATE2 | CREATE_CONTAINER => {
                let c = CreateRequest::read(r)?;
                Request::Create {
                    op: op_code,
                    path: c.path,
                    data: c.data,
                    acl: c.acl,
                    flags: c.flags,
                    ttl: -1,
                }
            }
            CREATE_TTL => {
                let c = CreateTtlRequest::read(r)?;
                Request::Create {
                    op: op_code,
                    path: c.path,
                    data: c.data,
                    acl: c.acl,
                    flags: c.flags,
                    ttl: c.ttl,
                }
            }
            DELETE => {
                let d = DeleteRequest::read(r)?;
                Request::Delete {
                    path: d.path,
                    version: d.version,
                }
            }
            EXISTS => {
                let p = PathWatchRequest::read(r)?;
                Request::Exists {
                    path: p.path,
                    watch: p.watch,
                }
            }
            GET_DATA => {
                let p = PathWatchRequest::read(r)?;
                Request::GetData {
                    path: p.path,
                    watch: p.watch,
                }
            }
            SET_DATA => {
                let s = SetDataRequest::read(r)?;
                Request::SetData {
                    path: s.path,
                    data: s.data,
                    version: s.version,
                }
            }
            GET_ACL => Request::GetAcl {
                path: PathRequest::read(r)?.path,
            },
            SET_ACL => {
                let s = SetAclRequest::read(r)?;
                Request::SetAcl {
                    path: s.path,
                    acl: s.acl,
                    version: s.version,
                }
            }
            GET_CHILDREN | GET_CHILDREN2 => {
                let p = PathWatchRequest::read(r)?;
                Request::GetChildren {
                    path: p.path,
                    watch: p.watch,
                    with_stat: op_code == GET_CHILDREN2,
                }
            }
            SYNC => Request::Sync {
                path: PathRequest::read(r)?.path,
            },
            PING => Request::Ping,
            CHECK => {
                let c = CheckVersionRequest::read(r)?;
                Request::Check {
                    path: c.path,
                    version: c.version,
                }
            }
            MULTI | MULTI_READ => {
                let read_only = op_code == MULTI_READ;
                let mut ops = Vec::new();
                loop {
                    let h = MultiHeader::read(r)?;
                    if h.done {
                        break;
                    }
                    let allowed = if read_only {
                        matches!(h.op, GET_CHILDREN | GET_DATA)
                    } else {
                        matches!(
                            h.op,
                            CREATE
                                | CREATE2
                                | CREATE_CONTAINER
                                | CREATE_TTL
                                | DELETE
                                | SET_DATA
                                | CHECK
                        )
                    };
                    if !allowed {
                        return Err(JuteError::BadMultiOp(h.op));
                    }
                    ops.push(Self::read_op(h.op, r)?);
                }
                if read_only {
                    Request::MultiRead(ops)
                } else {
                    Request::Multi(ops)
                }
            }
            RECONFIG => Request::Reconfig(ReconfigRequest::read(r)?),
            CHECK_WATCHES | REMOVE_WATCHES => {
                let w = WatchTypeRequest::read(r)?;
                if op_code == CHECK_WATCHES {
                    Request::CheckWatches {
                        path: w.path,
                        watcher_type: w.watcher_type,
                    }
                } else {
                    Request::RemoveWatches {
                        path: w.path,
                        watcher_type: w.watcher_type,
                    }
                }
            }
            DELETE_CONTAINER => {
                let rest = r.remaining();
                let bytes = r.take(rest)?;
                Request::DeleteContainer {
                    path: decode_string(bytes)?,
                }
            }
            AUTH => Request::Auth(AuthPacket::read(r)?),
            SET_WATCHES => {
                let s = SetWatches::read(r)?;
                Request::SetWatches(SetWatches2 {
                    relative_zxid: s.relative_zxid,
                    data_watches: s.data_watches,
                    exist_watches: s.exist_watches,
                    child_watches: s.child_watches,
                    persistent_watches: Vec::new(),
                    persistent_recursive_watches: Vec::new(),
                })
            }
            SET_WATCHES2 => Request::SetWatches(SetWatches2::read(r)?),
            SASL => Request::Sasl(SaslRequest::read(r)?),
            GET_EPHEMERALS => Request::GetEphemerals {
                prefix: PathRequest::read(r)?.path,
            },
            GET_ALL_CHILDREN_NUMBER => Request::GetAllChildrenNumber {
                path: PathRequest::read(r)?.path,
            },
            ADD_WATCH => {
                let a = AddWatchRequest::read(r)?;
                Request::AddWatch {
                    path: a.path,
                    mode: a.mode,
                }
            }
            WHO_AM_I => Request::WhoAmI,
            CLOSE_SESSION => Request::CloseSession,
            other => return Err(JuteError::UnknownOp(other)),
        })
    }

    /// Encodes the body (the client side of [`Request::decode`]); `op` is the code to send.
    pub fn encode(&self, out: &mut Vec<u8>) -> i32 {
        use op::*;
        match self {
            Request::Create {
                op,
                path,
                data,
                acl,
                flags,
                ttl,
            } => {
                let c = CreateRequest {
                    path: path.clone(),
                    data: data.clone(),
                    acl: acl.clone(),
                    flags: *flags,
                };
                c.write(out);
                if *op == CREATE_TTL {
                    ttl.write(out);
                }
                *op
            }
            Request::Delete { path, version } => {
                DeleteRequest {
                    path: path.clone(),
                    version: *version,
                }
                .write(out);
                DELETE
            }
            Request::Exists { path, watch } => {
                path_watch(out, path, *watch);
                EXISTS
            }
            Request::GetData { path, watch } => {
                path_watch(out, path, *watch);
                GET_DATA
            }
            Request::SetData {
                path,
                data,
                version,
            } => {
                SetDataRequest {
                    path: path.clone(),
                    data: data.clone(),
                    version: *version,
                }
                .write(out);
                SET_DATA
            }
            Request::GetAcl { path } => {
                path.write(out);
                GET_ACL
            }
            Request::SetAcl { path, acl, version } => {
                SetAclRequest {
                    path: path.clone(),
                    acl: acl.clone(),
                    version: *version,
                }
                .write(out);
                SET_ACL
            }
            Request::GetChildren {
                path,
                watch,
                with_stat,
            } => {
                path_watch(out, path, *watch);
                if *with_stat {
                    GET_CHILDREN2
                } else {
                    GET_CHILDREN
                }
            }
            Request::Sync { path } => {
                path.write(out);
                SYNC
            }
            Request::Ping => PING,
            Request::Check { path, version } => {
                CheckVersionRequest {
                    path: path.clone(),
                    version: *version,
                }
                .write(out);
                CHECK
            }
            Request::Multi(ops) | Request::MultiRead(ops) => {
                for sub in ops {
                    let mut body = Vec::new();
                    let code = sub.encode(&mut body);
                    MultiHeader {
                        op: code,
                        done: false,
                        err: -1,
                    }
                    .write(out);
                    out.extend_from_slice(&body);
                }
                MultiHeader {
                    op: -1,
                    done: true,
                    err: -1,
                }
                .write(out);
                if matches!(self, Request::Multi(_)) {
                    MULTI
                } else {
                    MULTI_READ
                }
            }
            Request::Reconfig(r) => {
                r.write(out);
                RECONFIG
            }
            Request::CheckWatches { path, watcher_type } => {
                WatchTypeRequest {
                    path: path.clone(),
                    watcher_type: *watcher_type,
                }
                .write(out);
                CHECK_WATCHES
            }
            Request::RemoveWatches { path, watcher_type } => {
                WatchTypeRequest {
                    path: path.clone(),
                    watcher_type: *watcher_type,
                }
                .write(out);
                REMOVE_WATCHES
            }
            Request::DeleteContainer { path } => {
                out.extend_from_slice(path.as_bytes());
                DELETE_CONTAINER
            }
            Request::Auth(a) => {
                a.write(out);
                AUTH
            }
            Request::SetWatches(s) => {
                s.write(out);
                SET_WATCHES2
            }
            Request::Sasl(s) => {
                s.write(out);
                SASL
            }
            Request::GetEphemerals { prefix } => {
                prefix.write(out);
                GET_EPHEMERALS
            }
            Request::GetAllChildrenNumber { path } => {
                path.write(out);
                GET_ALL_CHILDREN_NUMBER
            }
            Request::AddWatch { path, mode } => {
                AddWatchRequest {
                    path: path.clone(),
                    mode: *mode,
                }
                .write(out);
                ADD_WATCH
            }
            Request::WhoAmI => WHO_AM_I,
            Request::CloseSession => CLOSE_SESSION,
        }
    }

    /// Whether this request changes the tree or the session table (goes to the txn log).
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Request::Create { .. }
                | Request::Delete { .. }
                | Request::SetData { .. }
                | Request::SetAcl { .. }
                | Request::Check { .. }
                | Request::Multi(_)
                | Request::DeleteContainer { .. }
                | Request::Reconfig(_)
                | Request::CloseSession
        )
    }
}

fn path_watch(out: &mut Vec<u8>, path: &str, watch: bool) {
    path.to_string().write(out);
    watch.write(out);
}

/// One sub-result of a multi or multiRead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiResult {
    Create { path: String },
    Create2 { path: String, stat: Stat },
    Delete,
    SetData { stat: Stat },
    Check,
    GetData { data: Option<Vec<u8>>, stat: Stat },
    GetChildren { children: Vec<String> },
    Error(i32),
}

/// A successful reply body (errors are header-only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// No body (delete, setWatches, auth, removeWatches, ping, close).
    Empty,
    Create(CreateResponse),
    Create2(Create2Response),
    /// exists, setData, setACL.
    Stat(Stat),
    GetData(GetDataResponse),
    GetAcl(GetAclResponse),
    GetChildren(GetChildrenResponse),
    GetChildren2(GetChildren2Response),
    Sync(PathRequest),
    Multi(Vec<MultiResult>),
    /// addWatch's 4-byte `ErrorResponse{0}` body, and check's.
    ErrorBody(i32),
    Count(i32),
    Paths(Vec<String>),
    WhoAmI(WhoAmIResponse),
}

impl Response {
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Response::Empty => {}
            Response::Create(c) => c.write(out),
            Response::Create2(c) => c.write(out),
            Response::Stat(s) => s.write(out),
            Response::GetData(g) => g.write(out),
            Response::GetAcl(g) => g.write(out),
            Response::GetChildren(g) => g.write(out),
            Response::GetChildren2(g) => g.write(out),
            Response::Sync(p) => p.write(out),
            Response::Multi(results) => {
                for result in results {
                    let (op_code, err) = match result {
                        MultiResult::Create { .. } => (op::CREATE, 0),
                        MultiResult::Create2 { .. } => (op::CREATE2, 0),
                        MultiResult::Delete => (op::DELETE, 0),
                        MultiResult::SetData { .. } => (op::SET_DATA, 0),
                        MultiResult::Check => (op::CHECK, 0),
                        MultiResult::GetData { .. } => (op::GET_DATA, 0),
                        MultiResult::GetChildren { .. } => (op::GET_CHILDREN, 0),
                        MultiResult::Error(e) => (op::ERROR, *e),
                    };
                    MultiHeader {
                        op: op_code,
                        done: false,
                        err,
                    }
                    .write(out);
                    match result {
                        MultiResult::Create { path } => path.write(out),
                        MultiResult::Create2 { path, stat } => {
                            path.write(out);
                            stat.write(out);
                        }
                        MultiResult::Delete | MultiResult::Check => {}
                        MultiResult::SetData { stat } => stat.write(out),
                        MultiResult::GetData { data, stat } => {
                            data.write(out);
                            stat.write(out);
                        }
                        MultiResult::GetChildren { children } => children.write(out),
                        MultiResult::Error(e) => e.write(out),
                    }
                }
                MultiHeader {
                    op: -1,
                    done: true,
                    err: -1,
                }
                .write(out);
            }
            Response::ErrorBody(e) => e.write(out),
            Response::Count(n) => n.write(out),
            Response::Paths(p) => p.write(out),
            Response::WhoAmI(w) => w.write(out),
        }
    }

    /// Decodes the body of a successful reply to a request of type `op_code` (client side).
    pub fn decode(op_code: i32, body: &[u8], max: usize) -> Result<Response, JuteError> {
        let mut r = Reader::new(body, max);
        let resp = match op_code {
            op::CREATE => Response::Create(CreateResponse::read(&mut r)?),
            op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => {
                Response::Create2(Create2Response::read(&mut r)?)
            }
            op::EXISTS | op::SET_DATA | op::SET_ACL => Response::Stat(Stat::read(&mut r)?),
            op::GET_DATA => Response::GetData(GetDataResponse::read(&mut r)?),
            op::GET_ACL => Response::GetAcl(GetAclResponse::read(&mut r)?),
            op::GET_CHILDREN => Response::GetChildren(GetChildrenResponse::read(&mut r)?),
            op::GET_CHILDREN2 => Response::GetChildren2(GetChildren2Response::read(&mut r)?),
            op::SYNC => Response::Sync(PathRequest::read(&mut r)?),
            op::MULTI | op::MULTI_READ => {
                let mut results = Vec::new();
                loop {
                    let h = MultiHeader::read(&mut r)?;
                    if h.done {
                        break;
                    }
                    results.push(match h.op {
                        op::CREATE => MultiResult::Create {
                            path: String::read(&mut r)?,
                        },
                        op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => {
                            MultiResult::Create2 {
                                path: String::read(&mut r)?,
                                stat: Stat::read(&mut r)?,
                            }
                        }
                        op::DELETE => MultiResult::Delete,
                        op::CHECK => MultiResult::Check,
                        op::SET_DATA => MultiResult::SetData {
                            stat: Stat::read(&mut r)?,
                        },
                        op::GET_DATA => MultiResult::GetData {
                            data: Option::<Vec<u8>>::read(&mut r)?,
                            stat: Stat::read(&mut r)?,
                        },
                        op::GET_CHILDREN => MultiResult::GetChildren {
                            children: Vec::<String>::read(&mut r)?,
                        },
                        op::ERROR => MultiResult::Error(r.i32()?),
                        other => return Err(JuteError::BadMultiOp(other)),
                    });
                }
                Response::Multi(results)
            }
            op::ADD_WATCH => Response::ErrorBody(r.i32()?),
            op::GET_ALL_CHILDREN_NUMBER => Response::Count(r.i32()?),
            op::GET_EPHEMERALS => Response::Paths(Vec::<String>::read(&mut r)?),
            op::WHO_AM_I => Response::WhoAmI(WhoAmIResponse::read(&mut r)?),
            _ => Response::Empty,
        };
        r.finish()?;
        Ok(resp)
    }
}

/// Encodes a whole reply frame: header, then the body only when `err` is 0.
pub fn reply_frame(xid: i32, zxid: i64, err: Code, body: &Response) -> Vec<u8> {
    frame(|out| {
        ReplyHeader {
            xid,
            zxid,
            err: err.as_i32(),
        }
        .write(out);
        if err == Code::Ok {
            body.write(out);
        }
    })
}

/// Encodes a watch notification frame (xid -1; zxid -1 as in 3.8).
pub fn notification_frame(event: &WatcherEvent) -> Vec<u8> {
    frame(|out| {
        ReplyHeader {
            xid: xid::NOTIFICATION,
            zxid: -1,
            err: 0,
        }
        .write(out);
        event.write(out);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: usize = DEFAULT_MAX_BUFFER;

    fn stat() -> Stat {
        Stat {
            czxid: 1,
            mzxid: 2,
            ctime: 3,
            mtime: 4,
            version: 5,
            cversion: -1,
            aversion: 7,
            ephemeral_owner: 0x100_0000_0000_0001,
            data_length: 9,
            num_children: 10,
            pzxid: 11,
        }
    }

    fn acl() -> Vec<Acl> {
        vec![
            Acl {
                perms: 31,
                id: Id {
                    scheme: "world".into(),
                    id: "anyone".into(),
                },
            },
            Acl {
                perms: 1,
                id: Id {
                    scheme: "digest".into(),
                    id: "u:hash=".into(),
                },
            },
        ]
    }

    fn roundtrip<T: Jute + PartialEq + std::fmt::Debug>(value: T) {
        let bytes = value.to_bytes();
        assert_eq!(T::from_bytes(&bytes, MAX).unwrap(), value);
        // Every strict prefix is truncated, never a panic or a wrong value.
        for cut in 0..bytes.len() {
            assert!(T::from_bytes(&bytes[..cut], MAX).is_err(), "prefix {cut}");
        }
    }

    #[test]
    fn stat_is_68_bytes() {
        assert_eq!(stat().to_bytes().len(), 68);
    }

    #[test]
    fn every_record_round_trips() {
        roundtrip(stat());
        roundtrip(acl()[1].clone());
        roundtrip(Id {
            scheme: "ip".into(),
            id: "10.0.0.0/8".into(),
        });
        roundtrip(RequestHeader { xid: 7, op: 4 });
        roundtrip(ReplyHeader {
            xid: -1,
            zxid: -1,
            err: -101,
        });
        roundtrip(CreateRequest {
            path: "/a".into(),
            data: Some(b"x".to_vec()),
            acl: acl(),
            flags: 3,
        });
        roundtrip(CreateTtlRequest {
            path: "/t".into(),
            data: Some(vec![]),
            acl: acl(),
            flags: 5,
            ttl: 1000,
        });
        roundtrip(CreateResponse { path: "/a".into() });
        roundtrip(Create2Response {
            path: "/a".into(),
            stat: stat(),
        });
        roundtrip(DeleteRequest {
            path: "/a".into(),
            version: -1,
        });
        roundtrip(PathWatchRequest {
            path: "/a".into(),
            watch: true,
        });
        roundtrip(PathRequest { path: "/".into() });
        roundtrip(SetDataRequest {
            path: "/a".into(),
            data: Some(vec![0; 100]),
            version: 3,
        });
        roundtrip(StatResponse { stat: stat() });
        roundtrip(GetDataResponse {
            data: Some(b"hello".to_vec()),
            stat: stat(),
        });
        roundtrip(GetChildrenResponse {
            children: vec!["a".into(), "b".into()],
        });
        roundtrip(GetChildren2Response {
            children: vec!["zookeeper".into()],
            stat: stat(),
        });
        roundtrip(CheckVersionRequest {
            path: "/a".into(),
            version: 1,
        });
        roundtrip(GetAclResponse {
            acl: acl(),
            stat: stat(),
        });
        roundtrip(SetAclRequest {
            path: "/a".into(),
            acl: acl(),
            version: 0,
        });
        roundtrip(MultiHeader {
            op: 1,
            done: false,
            err: -1,
        });
        roundtrip(ErrorResponse { err: -110 });
        roundtrip(WatcherEvent {
            event_type: 1,
            state: 3,
            path: "/a".into(),
        });
        roundtrip(SetWatches {
            relative_zxid: 5,
            data_watches: vec!["/a".into()],
            exist_watches: vec!["/b".into()],
            child_watches: vec![],
        });
        roundtrip(SetWatches2 {
            relative_zxid: 5,
            data_watches: vec!["/a".into()],
            exist_watches: vec![],
            child_watches: vec!["/c".into()],
            persistent_watches: vec!["/p".into()],
            persistent_recursive_watches: vec!["/r".into()],
        });
        roundtrip(AddWatchRequest {
            path: "/a".into(),
            mode: 1,
        });
        roundtrip(WatchTypeRequest {
            path: "/a".into(),
            watcher_type: 3,
        });
        roundtrip(AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: b"u:p".to_vec(),
        });
        roundtrip(WhoAmIResponse {
            client_info: vec![ClientInfo {
                auth_scheme: "ip".into(),
                user: "127.0.0.1".into(),
            }],
        });
        roundtrip(CountResponse { total: 4 });
        roundtrip(PathsResponse {
            paths: vec!["/e".into()],
        });
        roundtrip(ReconfigRequest {
            joining_servers: "a".into(),
            leaving_servers: "b".into(),
            new_members: "c".into(),
            cur_config_id: -1,
        });
        roundtrip(SaslRequest {
            token: vec![1, 2, 3],
        });
        roundtrip(TxnHeader {
            client_id: 1,
            cxid: 2,
            zxid: 3,
            time: 4,
            txn_type: 1,
        });
        roundtrip(CreateTxn {
            path: "/a".into(),
            data: Some(b"d".to_vec()),
            acl: acl(),
            ephemeral_owner: 9,
            parent_cversion: 1,
        });
        roundtrip(DeleteTxn { path: "/a".into() });
        roundtrip(SetDataTxn {
            path: "/a".into(),
            data: Some(vec![]),
            version: 1,
        });
        roundtrip(SetAclTxn {
            path: "/a".into(),
            acl: acl(),
            version: 1,
        });
        roundtrip(CreateSessionTxn { timeout: 30000 });
        roundtrip(CloseSessionTxn {
            paths_to_delete: vec!["/e".into()],
        });
        roundtrip(ErrorTxn { err: -101 });
        roundtrip(MultiTxn {
            txns: vec![SubTxn {
                txn_type: 2,
                data: DeleteTxn { path: "/a".into() }.to_bytes(),
            }],
        });
        // The connect records with and without the trailing readOnly flag.
        for read_only in [None, Some(false), Some(true)] {
            let req = ConnectRequest {
                protocol_version: 0,
                last_zxid_seen: 5,
                timeout: 30000,
                session_id: 0,
                passwd: vec![0; 16],
                read_only,
            };
            assert_eq!(
                ConnectRequest::from_bytes(&req.to_bytes(), MAX).unwrap(),
                req
            );
            let resp = ConnectResponse {
                protocol_version: 0,
                timeout: 4000,
                session_id: 77,
                passwd: vec![1; 16],
                read_only,
            };
            assert_eq!(
                ConnectResponse::from_bytes(&resp.to_bytes(), MAX).unwrap(),
                resp
            );
        }
    }

    fn request_roundtrip(req: Request) {
        let mut body = Vec::new();
        let code = req.encode(&mut body);
        assert_eq!(Request::decode(code, &body, MAX).unwrap(), req);
    }

    #[test]
    fn every_request_round_trips() {
        let create = Request::Create {
            op: op::CREATE2,
            path: "/a".into(),
            data: Some(b"v".to_vec()),
            acl: acl(),
            flags: 0,
            ttl: -1,
        };
        let reqs = vec![
            create.clone(),
            Request::Create {
                op: op::CREATE_TTL,
                path: "/t".into(),
                data: Some(vec![]),
                acl: acl(),
                flags: 5,
                ttl: 500,
            },
            Request::Delete {
                path: "/a".into(),
                version: 2,
            },
            Request::Exists {
                path: "/a".into(),
                watch: true,
            },
            Request::GetData {
                path: "/a".into(),
                watch: false,
            },
            Request::SetData {
                path: "/a".into(),
                data: Some(b"x".to_vec()),
                version: -1,
            },
            Request::GetAcl { path: "/a".into() },
            Request::SetAcl {
                path: "/a".into(),
                acl: acl(),
                version: 0,
            },
            Request::GetChildren {
                path: "/".into(),
                watch: true,
                with_stat: true,
            },
            Request::GetChildren {
                path: "/".into(),
                watch: false,
                with_stat: false,
            },
            Request::Sync { path: "/".into() },
            Request::Ping,
            Request::Check {
                path: "/a".into(),
                version: 1,
            },
            Request::Multi(vec![
                create,
                Request::Check {
                    path: "/a".into(),
                    version: 0,
                },
                Request::Delete {
                    path: "/a".into(),
                    version: -1,
                },
            ]),
            Request::MultiRead(vec![
                Request::GetData {
                    path: "/a".into(),
                    watch: false,
                },
                Request::GetChildren {
                    path: "/".into(),
                    watch: false,
                    with_stat: false,
                },
            ]),
            Request::CheckWatches {
                path: "/a".into(),
                watcher_type: 1,
            },
            Request::RemoveWatches {
                path: "/a".into(),
                watcher_type: 3,
            },
            Request::DeleteContainer { path: "/c".into() },
            Request::Auth(AuthPacket {
                auth_type: 0,
                scheme: "digest".into(),
                auth: b"u:p".to_vec(),
            }),
            Request::SetWatches(SetWatches2 {
                relative_zxid: 1,
                data_watches: vec!["/a".into()],
                exist_watches: vec![],
                child_watches: vec![],
                persistent_watches: vec!["/p".into()],
                persistent_recursive_watches: vec![],
            }),
            Request::GetEphemerals { prefix: "/".into() },
            Request::GetAllChildrenNumber { path: "/".into() },
            Request::AddWatch {
                path: "/a".into(),
                mode: 0,
            },
            Request::WhoAmI,
            Request::CloseSession,
        ];
        for req in reqs {
            request_roundtrip(req);
        }
        // SetWatches (101) decodes into the SetWatches2 form with no persistent watches.
        let old = SetWatches {
            relative_zxid: 3,
            data_watches: vec!["/d".into()],
            exist_watches: vec!["/e".into()],
            child_watches: vec!["/c".into()],
        };
        match Request::decode(op::SET_WATCHES, &old.to_bytes(), MAX).unwrap() {
            Request::SetWatches(s) => {
                assert_eq!(s.exist_watches, ["/e"]);
                assert!(s.persistent_watches.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_response_round_trips() {
        let responses = vec![
            (
                op::CREATE,
                Response::Create(CreateResponse { path: "/a".into() }),
            ),
            (
                op::CREATE2,
                Response::Create2(Create2Response {
                    path: "/a".into(),
                    stat: stat(),
                }),
            ),
            (op::EXISTS, Response::Stat(stat())),
            (
                op::GET_DATA,
                Response::GetData(GetDataResponse {
                    data: Some(b"d".to_vec()),
                    stat: stat(),
                }),
            ),
            (
                op::GET_ACL,
                Response::GetAcl(GetAclResponse {
                    acl: acl(),
                    stat: stat(),
                }),
            ),
            (
                op::GET_CHILDREN,
                Response::GetChildren(GetChildrenResponse {
                    children: vec!["x".into()],
                }),
            ),
            (
                op::GET_CHILDREN2,
                Response::GetChildren2(GetChildren2Response {
                    children: vec![],
                    stat: stat(),
                }),
            ),
            (op::SYNC, Response::Sync(PathRequest { path: "/".into() })),
            (
                op::MULTI,
                Response::Multi(vec![
                    MultiResult::Create { path: "/a".into() },
                    MultiResult::Create2 {
                        path: "/b".into(),
                        stat: stat(),
                    },
                    MultiResult::Delete,
                    MultiResult::SetData { stat: stat() },
                    MultiResult::Check,
                    MultiResult::Error(-2),
                ]),
            ),
            (
                op::MULTI_READ,
                Response::Multi(vec![
                    MultiResult::GetData {
                        data: Some(vec![1]),
                        stat: stat(),
                    },
                    MultiResult::GetChildren {
                        children: vec!["c".into()],
                    },
                    MultiResult::Error(-101),
                ]),
            ),
            (op::ADD_WATCH, Response::ErrorBody(0)),
            (op::GET_ALL_CHILDREN_NUMBER, Response::Count(3)),
            (op::GET_EPHEMERALS, Response::Paths(vec!["/e".into()])),
            (
                op::WHO_AM_I,
                Response::WhoAmI(WhoAmIResponse {
                    client_info: vec![],
                }),
            ),
            (op::DELETE, Response::Empty),
        ];
        for (code, resp) in responses {
            let mut body = Vec::new();
            resp.write(&mut body);
            assert_eq!(Response::decode(code, &body, MAX).unwrap(), resp);
        }
    }

    #[test]
    fn frames_are_checked_before_reading() {
        assert_eq!(check_frame(&[0, 0], MAX), Err(FrameError::Incomplete));
        assert_eq!(
            check_frame(&[0, 0, 0, 2, 1], MAX),
            Err(FrameError::Incomplete)
        );
        assert_eq!(check_frame(&[0, 0, 0, 2, 1, 2, 3], MAX), Ok(2));
        assert_eq!(
            check_frame(&[0xff, 0xff, 0xff, 0xff], MAX),
            Err(FrameError::BadLength(-1))
        );
        assert_eq!(
            check_frame(&0x10_0000i32.to_be_bytes(), MAX),
            Err(FrameError::BadLength(0x10_0000))
        );
        assert_eq!(
            check_frame(&0xfffffi32.to_be_bytes(), MAX),
            Err(FrameError::Incomplete)
        );
        let f = reply_frame(1, 2, Code::NoNode, &Response::Stat(stat()));
        // Error replies carry the header only.
        assert_eq!(f.len(), 4 + 16);
    }

    #[test]
    fn malformed_bodies_are_errors() {
        // A string length beyond the bytes present.
        let mut body = Vec::new();
        100i32.write(&mut body);
        body.extend_from_slice(b"/a");
        assert_eq!(
            Request::decode(op::DELETE, &body, MAX),
            Err(JuteError::Truncated)
        );
        // A negative length other than -1.
        let mut body = Vec::new();
        (-5i32).write(&mut body);
        assert_eq!(
            Request::decode(op::GET_DATA, &body, MAX),
            Err(JuteError::BadLength(-5))
        );
        // A null path.
        let mut body = Vec::new();
        (-1i32).write(&mut body);
        false.write(&mut body);
        assert_eq!(
            Request::decode(op::EXISTS, &body, MAX),
            Err(JuteError::Null)
        );
        // A length above jute.maxbuffer even though the bytes could be there.
        let mut body = Vec::new();
        20i32.write(&mut body);
        body.extend_from_slice(&[b'a'; 20]);
        assert_eq!(
            Request::decode(op::SYNC, &body, 10),
            Err(JuteError::BadLength(20))
        );
        // A huge vector count with no elements allocates nothing and fails.
        let mut body = Vec::new();
        "/a".to_string().write(&mut body);
        Vec::<u8>::new().write(&mut body);
        (i32::MAX).write(&mut body);
        assert!(Request::decode(op::CREATE, &body, usize::MAX).is_err());
        // Unknown op codes and a read inside a write multi.
        assert_eq!(Request::decode(10, &[], MAX), Err(JuteError::UnknownOp(10)));
        let mut body = Vec::new();
        MultiHeader {
            op: op::GET_DATA,
            done: false,
            err: -1,
        }
        .write(&mut body);
        assert_eq!(
            Request::decode(op::MULTI, &body, MAX),
            Err(JuteError::BadMultiOp(op::GET_DATA))
        );
        // Bad UTF-8.
        let mut body = Vec::new();
        2i32.write(&mut body);
        body.extend_from_slice(&[0xff, 0xfe]);
        assert_eq!(
            Request::decode(op::SYNC, &body, MAX),
            Err(JuteError::BadString)
        );
    }

    #[test]
    fn java_modified_utf8_is_accepted() {
        // U+1F600 as a CESU-8 surrogate pair, as Java's encoder writes it.
        let cesu = [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80];
        assert_eq!(decode_string(&cesu).unwrap(), "\u{1F600}");
        assert_eq!(decode_string("/é".as_bytes()).unwrap(), "/é");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(code in prop_oneof![-12i32..23, 99i32..108], body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Request::decode(code, &body, MAX);
            let _ = Response::decode(code, &body, MAX);
            let _ = ConnectRequest::from_bytes(&body, MAX);
            let _ = check_frame(&body, MAX);
            let _ = MultiTxn::from_bytes(&body, MAX);
        }

        #[test]
        fn create_requests_round_trip(path in "/[a-z]{1,8}", data in proptest::collection::vec(any::<u8>(), 0..64), flags in 0i32..7, perms in 0i32..32) {
            request_roundtrip(Request::Create {
                op: op::CREATE,
                path,
                data: Some(data),
                acl: vec![Acl { perms, id: Id { scheme: "world".into(), id: "anyone".into() } }],
                flags,
                ttl: -1,
            });
        }
    }
}

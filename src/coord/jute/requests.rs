//! A client request, decoded from its op code and body ([`Request`]), and encoded back (the
//! quorum forwards requests to its leader as their bytes).

use super::*;

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
            // Apache validates these paths before anything else: null fails as "" does,
            // with BadArguments.
            SET_DATA => Request::SetData {
                path: string_or_empty(r)?,
                data: Jute::read(r)?,
                version: r.i32()?,
            },
            GET_ACL => Request::GetAcl {
                path: PathRequest::read(r)?.path,
            },
            SET_ACL => Request::SetAcl {
                path: string_or_empty(r)?,
                acl: Jute::read(r)?,
                version: r.i32()?,
            },
            GET_CHILDREN | GET_CHILDREN2 => {
                let p = PathWatchRequest::read(r)?;
                Request::GetChildren {
                    path: p.path,
                    watch: p.watch,
                    with_stat: op_code == GET_CHILDREN2,
                }
            }
            // Apache answers a sync, an addWatch and a getEphemerals of a null path (all
            // ephemerals) without looking at it.
            SYNC => Request::Sync {
                path: string_or_empty(r)?,
            },
            PING => Request::Ping,
            CHECK => Request::Check {
                path: string_or_empty(r)?,
                version: r.i32()?,
            },
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
            // Null is how clients (kazoo) leave a reconfig string out.
            RECONFIG => Request::Reconfig(ReconfigRequest {
                joining_servers: string_or_empty(r)?,
                leaving_servers: string_or_empty(r)?,
                new_members: string_or_empty(r)?,
                cur_config_id: r.i64()?,
            }),
            CHECK_WATCHES | REMOVE_WATCHES => {
                // Apache's removeWatches of a null path finds no watcher; checkWatches throws.
                let w = if op_code == REMOVE_WATCHES {
                    WatchTypeRequest {
                        path: string_or_empty(r)?,
                        watcher_type: r.i32()?,
                    }
                } else {
                    WatchTypeRequest::read(r)?
                };
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
            // A null scheme names no provider: AuthFailed, as in Apache.
            AUTH => Request::Auth(AuthPacket {
                auth_type: r.i32()?,
                scheme: string_or_empty(r)?,
                auth: Jute::read(r)?,
            }),
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
                prefix: string_or_empty(r)?,
            },
            GET_ALL_CHILDREN_NUMBER => Request::GetAllChildrenNumber {
                path: PathRequest::read(r)?.path,
            },
            ADD_WATCH => Request::AddWatch {
                path: string_or_empty(r)?,
                mode: r.i32()?,
            },
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

/// A string (a path, a reconfig list, an auth scheme) where Apache treats null as empty or
/// never looks at it; elsewhere a null string is [`JuteError::Null`], answered with
/// MarshallingError as Apache's NullPointerException is.
fn string_or_empty(r: &mut Reader<'_>) -> Result<String, JuteError> {
    Ok(r.ustring()?.unwrap_or_default())
}

fn path_watch(out: &mut Vec<u8>, path: &str, watch: bool) {
    path.to_string().write(out);
    watch.write(out);
}

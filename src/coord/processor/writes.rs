//! Writes: a request is checked against the tree as it will be after every write already
//! ordered (`prep`), becomes a txn (`make_txn`), and once logged is applied, answered and
//! turned into watch events (`apply_record`).

use super::*;

impl Processor {
    /// Standalone: takes the next zxid for `txn` and applies it. Quorum leader: proposes it.
    pub(super) fn submit(&mut self, session: i64, cxid: i32, txn: Txn, now: Now) {
        if self.quorum.is_some() {
            self.propose(session, cxid, txn, HashMap::new(), now);
        } else {
            self.last_zxid += 1;
            let rec = TxnRecord {
                session,
                cxid,
                zxid: self.last_zxid,
                time_ms: now.wall_ms,
                txn,
            };
            self.apply_record(rec, None, now);
        }
    }

    /// Applies a committed txn: the tree, the session table, watch events, then the reply
    /// to the request it came from when that request is `origin` (connection, xid, request).
    pub(super) fn apply_record(
        &mut self,
        rec: TxnRecord,
        origin: Option<(ConnId, i32, &Request)>,
        now: Now,
    ) {
        let zxid = rec.zxid;
        self.last_zxid = self.last_zxid.max(zxid);
        let mut changes = Vec::new();
        let mut results = Vec::new();
        match (&rec.txn, origin.map(|(_, _, r)| r)) {
            (Txn::Multi(subs), Some(Request::Multi(ops)))
                if !subs.iter().all(|t| matches!(t, Txn::Error { .. })) =>
            {
                // Sub-txn by sub-txn, so each result sees the state after its own step.
                for (sub, op) in subs.iter().zip(ops.iter()) {
                    self.tree.apply(zxid, rec.time_ms, sub, &mut changes);
                    let reply = reply_of(sub, op);
                    results.push(reply.map_or(MultiResult::Check, |r| self.multi_result(&r)));
                }
            }
            _ => self.tree.apply(zxid, rec.time_ms, &rec.txn, &mut changes),
        }
        match &rec.txn {
            Txn::CreateSession { timeout_ms } if self.sessions.get(rec.session).is_none() => {
                self.sessions.add(rec.session, *timeout_ms, now.mono_ms);
            }
            Txn::CloseSession { .. } => self.sessions.remove(rec.session),
            _ => {}
        }
        self.notify(&changes);
        self.txns_since_snapshot += 1;
        let closes = matches!(rec.txn, Txn::CloseSession { .. });
        if let Some((conn, xid, req)) = origin {
            let (code, body) = match (&rec.txn, req) {
                (Txn::Error { code }, _) => (
                    Code::from_i32(*code).unwrap_or(Code::SystemError),
                    Response::Empty,
                ),
                (Txn::Multi(subs), Request::Multi(_)) if results.is_empty() => (
                    Code::Ok,
                    Response::Multi(
                        subs.iter()
                            .map(|t| match t {
                                Txn::Error { code } => MultiResult::Error(*code),
                                _ => MultiResult::Error(Code::SystemError.as_i32()),
                            })
                            .collect(),
                    ),
                ),
                (Txn::Multi(_), Request::Multi(_)) => (Code::Ok, Response::Multi(results)),
                (txn, req) => (
                    Code::Ok,
                    reply_of(txn, req).map_or(Response::Empty, |r| self.single_result(&r)),
                ),
            };
            self.reply(conn, xid, zxid, code, &body, now);
            if closes {
                tracing::info!("Closed session 0x{:x}", rec.session);
                self.close(conn);
            }
        }
        if closes && let Some(conn) = self.session_conn.get(&rec.session).copied() {
            self.close(conn);
        }
        if self.quorum.is_none() {
            self.out.txns.push(rec);
        }
    }

    pub(super) fn notify(&mut self, changes: &[Change]) {
        for change in changes {
            for fired in self.watches.trigger(change) {
                let frame = jute::notification_frame(&WatcherEvent {
                    event_type: fired.event as i32,
                    state: 3,
                    path: fired.path,
                });
                self.send(fired.watcher, frame);
            }
        }
    }

    pub(super) fn write(&mut self, conn: ConnId, session: i64, xid: i32, req: Request, now: Now) {
        if self.quorum.is_some() {
            self.quorum_write(conn, session, xid, req, now);
            return;
        }
        let auth = self.auth(conn);
        let mut pending = Pending::new(&self.tree);
        let txn = self.make_txn(&mut pending, session, &auth, &req);
        if matches!(req, Request::CloseSession) {
            self.sessions.set_closing(session);
        }
        self.last_zxid += 1;
        let rec = TxnRecord {
            session,
            cxid: xid,
            zxid: self.last_zxid,
            time_ms: now.wall_ms,
            txn,
        };
        self.apply_record(rec, Some((conn, xid, &req)), now);
    }

    /// The txn a write request becomes, validated against `pending` in ZooKeeper's check
    /// order: a failed write is an error txn (a failed multi, one error per sub-op: 0 before
    /// the failing one, its code, RUNTIMEINCONSISTENCY after), and still takes a zxid.
    pub(super) fn make_txn(
        &self,
        pending: &mut Pending<'_>,
        session: i64,
        auth: &AuthInfo,
        req: &Request,
    ) -> Txn {
        match req {
            Request::CloseSession => {
                let paths = pending.ephemerals_of(session);
                for path in &paths {
                    pending.mark_deleted(path);
                }
                Txn::CloseSession { paths }
            }
            Request::Multi(ops) => {
                let mut txns = Vec::new();
                for (i, op) in ops.iter().enumerate() {
                    match self.prep(pending, session, auth, op) {
                        Ok((txn, _)) => txns.push(txn),
                        Err(code) => {
                            pending.changes.clear();
                            return Txn::Multi(
                                (0..ops.len())
                                    .map(|j| Txn::Error {
                                        code: match j.cmp(&i) {
                                            std::cmp::Ordering::Less => 0,
                                            std::cmp::Ordering::Equal => code.as_i32(),
                                            std::cmp::Ordering::Greater => {
                                                Code::RuntimeInconsistency.as_i32()
                                            }
                                        },
                                    })
                                    .collect(),
                            );
                        }
                    }
                }
                Txn::Multi(txns)
            }
            other => match self.prep(pending, session, auth, other) {
                Ok((txn, _)) => txn,
                Err(code) => {
                    pending.changes.clear();
                    Txn::Error {
                        code: code.as_i32(),
                    }
                }
            },
        }
    }

    pub(super) fn multi_result(&self, reply: &Reply) -> MultiResult {
        match reply {
            Reply::Create { path, op } if *op == jute::op::CREATE => {
                MultiResult::Create { path: path.clone() }
            }
            Reply::Create { path, .. } => MultiResult::Create2 {
                path: path.clone(),
                stat: self.tree.stat(path).unwrap_or_default(),
            },
            Reply::Delete => MultiResult::Delete,
            Reply::SetData { path } | Reply::SetAcl { path } => MultiResult::SetData {
                stat: self.tree.stat(path).unwrap_or_default(),
            },
            Reply::Check => MultiResult::Check,
        }
    }

    pub(super) fn single_result(&self, reply: &Reply) -> Response {
        match reply {
            Reply::Create { path, op } if *op == jute::op::CREATE => {
                Response::Create(CreateResponse { path: path.clone() })
            }
            Reply::Create { path, .. } => Response::Create2(Create2Response {
                path: path.clone(),
                stat: self.tree.stat(path).unwrap_or_default(),
            }),
            Reply::Delete => Response::Empty,
            Reply::SetData { path } | Reply::SetAcl { path } => {
                Response::Stat(self.tree.stat(path).unwrap_or_default())
            }
            Reply::Check => Response::ErrorBody(0),
        }
    }

    /// Validates one write against the tentative state, in ZooKeeper's check order, and
    /// records its effect there.
    pub(super) fn prep(
        &self,
        pending: &mut Pending<'_>,
        session: i64,
        auth: &AuthInfo,
        req: &Request,
    ) -> Result<(Txn, Reply), Code> {
        match req {
            Request::Create {
                op,
                path,
                data,
                acl,
                flags,
                ttl,
            } => {
                let mode = CreateMode::from_flags(*flags).ok_or(Code::BadArguments)?;
                if mode.is_ttl() || *op == jute::op::CREATE_TTL {
                    if !self.config.extended_types {
                        return Err(Code::Unimplemented);
                    }
                    if *op != jute::op::CREATE_TTL || !mode.is_ttl() || *ttl <= 0 || *ttl > MAX_TTL
                    {
                        return Err(Code::BadArguments);
                    }
                }
                if (*op == jute::op::CREATE_CONTAINER) != (mode == CreateMode::Container) {
                    return Err(Code::BadArguments);
                }
                let last_slash = path.rfind('/').ok_or(Code::BadArguments)?;
                if path.contains('\0') {
                    return Err(Code::BadArguments);
                }
                let acl = tree::fixup_acl(acl, auth)?;
                let parent_path = if last_slash == 0 {
                    "/".to_string()
                } else {
                    path[..last_slash].to_string()
                };
                let mut parent = pending.get(&parent_path).ok_or(Code::NoNode)?;
                tree::check_acl(&parent.acl, perms::CREATE, auth)?;
                let full = if mode.is_sequential() {
                    format!("{path}{:010}", parent.stat.cversion)
                } else {
                    path.clone()
                };
                tree::validate_path(&full)?;
                if pending.get(&full).is_some() {
                    return Err(Code::NodeExists);
                }
                if matches!(
                    Owner::decode(parent.stat.ephemeral_owner),
                    Owner::Session(_)
                ) {
                    return Err(Code::NoChildrenForEphemerals);
                }
                let owner = match mode {
                    m if m.is_ephemeral() => Owner::Session(session),
                    CreateMode::Container => Owner::Container,
                    m if m.is_ttl() => Owner::Ttl(*ttl),
                    _ => Owner::None,
                }
                .encode();
                parent.stat.cversion += 1;
                parent.num_children += 1;
                let parent_cversion = parent.stat.cversion;
                pending.changes.insert(parent_path, Some(parent));
                pending.changes.insert(
                    full.clone(),
                    Some(View {
                        stat: StatPersisted {
                            ephemeral_owner: owner,
                            ..StatPersisted::default()
                        },
                        num_children: 0,
                        acl: Arc::from(acl.as_slice()),
                    }),
                );
                Ok((
                    Txn::Create {
                        path: full.clone(),
                        data: data.clone(),
                        acl,
                        ephemeral_owner: owner,
                        parent_cversion,
                    },
                    Reply::Create {
                        path: full,
                        op: *op,
                    },
                ))
            }
            Request::Delete { path, version } => {
                tree::validate_path(path)?;
                if is_special(path) {
                    return Err(Code::BadArguments);
                }
                let parent_path = parent_of(path).ok_or(Code::BadArguments)?.to_string();
                let mut parent = pending.get(&parent_path).ok_or(Code::NoNode)?;
                tree::check_acl(&parent.acl, perms::DELETE, auth)?;
                let node = pending.get(path).ok_or(Code::NoNode)?;
                if !version_ok(*version, node.stat.version) {
                    return Err(Code::BadVersion);
                }
                if node.num_children > 0 {
                    return Err(Code::NotEmpty);
                }
                parent.num_children -= 1;
                pending.changes.insert(parent_path, Some(parent));
                pending.changes.insert(path.clone(), None);
                Ok((Txn::Delete { path: path.clone() }, Reply::Delete))
            }
            Request::SetData {
                path,
                data,
                version,
            } => {
                tree::validate_path(path)?;
                let mut node = pending.get(path).ok_or(Code::NoNode)?;
                tree::check_acl(&node.acl, perms::WRITE, auth)?;
                if !version_ok(*version, node.stat.version) {
                    return Err(Code::BadVersion);
                }
                node.stat.version = node.stat.version.wrapping_add(1);
                let new_version = node.stat.version;
                pending.changes.insert(path.clone(), Some(node));
                Ok((
                    Txn::SetData {
                        path: path.clone(),
                        data: data.clone(),
                        version: new_version,
                    },
                    Reply::SetData { path: path.clone() },
                ))
            }
            Request::SetAcl { path, acl, version } => {
                tree::validate_path(path)?;
                let acl = tree::fixup_acl(acl, auth)?;
                let mut node = pending.get(path).ok_or(Code::NoNode)?;
                tree::check_acl(&node.acl, perms::ADMIN, auth)?;
                if !version_ok(*version, node.stat.aversion) {
                    return Err(Code::BadVersion);
                }
                node.stat.aversion = node.stat.aversion.wrapping_add(1);
                let new_version = node.stat.aversion;
                node.acl = Arc::from(acl.as_slice());
                pending.changes.insert(path.clone(), Some(node));
                Ok((
                    Txn::SetAcl {
                        path: path.clone(),
                        acl,
                        version: new_version,
                    },
                    Reply::SetAcl { path: path.clone() },
                ))
            }
            Request::Check { path, version } => {
                tree::validate_path(path)?;
                let node = pending.get(path).ok_or(Code::NoNode)?;
                tree::check_acl(&node.acl, perms::READ, auth)?;
                if !version_ok(*version, node.stat.version) {
                    return Err(Code::BadVersion);
                }
                Ok((Txn::Check { path: path.clone() }, Reply::Check))
            }
            // A write to ZooKeeper: refused in the pipeline, so it still takes a zxid.
            Request::Reconfig(_) => Err(if self.config.reconfig_enabled {
                Code::Unimplemented
            } else {
                Code::ReconfigDisabled
            }),
            Request::DeleteContainer { path } => {
                let node = pending.get(path).ok_or(Code::NoNode)?;
                if !matches!(
                    Owner::decode(node.stat.ephemeral_owner),
                    Owner::Container | Owner::Ttl(_)
                ) {
                    return Err(Code::BadArguments);
                }
                if node.num_children > 0 {
                    return Err(Code::NotEmpty);
                }
                pending.changes.insert(path.clone(), None);
                Ok((Txn::Delete { path: path.clone() }, Reply::Delete))
            }
            _ => Err(Code::BadArguments),
        }
    }
}

//! Reads: answered from the tree at once, in order with the connection's writes, setting the
//! watches they ask for.

use super::*;

impl Processor {
    pub(super) fn read(&mut self, conn: ConnId, session: i64, xid: i32, req: Request, now: Now) {
        let zxid = self.last_zxid;
        let auth = self.auth(conn);
        let result: Result<Response, Code> = match req {
            Request::Ping => Ok(Response::Empty),
            Request::Exists { path, watch } => (|| match self.tree.get(&path) {
                Some(node) => {
                    tree::check_acl(node.acl(), perms::READ, &auth)?;
                    let stat = node.client_stat();
                    if watch {
                        self.watches.add_data(&path, conn);
                    }
                    Ok(Response::Stat(stat))
                }
                None => {
                    if watch {
                        self.watches.add_data(&path, conn);
                    }
                    Err(Code::NoNode)
                }
            })(),
            Request::GetData { path, watch } => self.get_data(conn, &path, watch, &auth),
            Request::GetChildren {
                path,
                watch,
                with_stat,
            } => self.get_children(conn, &path, watch, with_stat, &auth),
            Request::GetAcl { path } => (|| {
                let node = self.tree.get(&path).ok_or(Code::NoNode)?;
                tree::check_acl(node.acl(), perms::READ | perms::ADMIN, &auth)?;
                let acl = if tree::check_acl(node.acl(), perms::ADMIN, &auth).is_ok() {
                    node.acl().to_vec()
                } else {
                    tree::mask_digests(node.acl())
                };
                Ok(Response::GetAcl(GetAclResponse {
                    acl,
                    stat: node.client_stat(),
                }))
            })(),
            Request::Sync { path } => Ok(Response::Sync(PathRequest { path })),
            Request::MultiRead(ops) => {
                let mut results = Vec::new();
                for op in ops {
                    let r = match op {
                        Request::GetData { path, watch } => {
                            self.get_data(conn, &path, watch, &auth).map(|r| match r {
                                Response::GetData(g) => MultiResult::GetData {
                                    data: g.data,
                                    stat: g.stat,
                                },
                                _ => MultiResult::Error(Code::SystemError.as_i32()),
                            })
                        }
                        Request::GetChildren { path, watch, .. } => self
                            .get_children(conn, &path, watch, false, &auth)
                            .map(|r| match r {
                                Response::GetChildren(g) => MultiResult::GetChildren {
                                    children: g.children,
                                },
                                _ => MultiResult::Error(Code::SystemError.as_i32()),
                            }),
                        _ => Err(Code::BadArguments),
                    };
                    results.push(r.unwrap_or_else(|code| MultiResult::Error(code.as_i32())));
                }
                Ok(Response::Multi(results))
            }
            Request::CheckWatches { path, watcher_type } => {
                match WatcherType::from_i32(watcher_type) {
                    None => Err(Code::BadArguments),
                    Some(kind) if self.watches.has(&path, kind, conn) => Ok(Response::Empty),
                    Some(_) => Err(Code::NoWatcher),
                }
            }
            Request::RemoveWatches { path, watcher_type } => {
                match WatcherType::from_i32(watcher_type) {
                    None => Err(Code::BadArguments),
                    Some(kind) => {
                        if self.watches.remove(&path, kind, conn).is_empty() {
                            Err(Code::NoWatcher)
                        } else {
                            Ok(Response::Empty)
                        }
                    }
                }
            }
            Request::Auth(packet) => {
                let ok = match packet.scheme.as_str() {
                    "digest" if !self.config.acl_rules.digest_disabled => {
                        // Null credentials fail (Apache's provider throws on them).
                        let Some(clear) = packet.auth.as_deref() else {
                            self.auth_failed(conn, xid, now);
                            return;
                        };
                        let clear = String::from_utf8_lossy(clear).to_string();
                        let id = tree::digest_id(&clear);
                        let is_super = self.config.super_digest.as_deref() == Some(id.as_str());
                        if let Some(c) = self.conns.get_mut(&conn) {
                            if is_super {
                                // As Apache's provider does: `super:` first, then the digest.
                                c.auth.is_super = true;
                                c.auth.add(Id {
                                    scheme: "super".into(),
                                    id: String::new(),
                                });
                            }
                            c.auth.add(Id {
                                scheme: "digest".into(),
                                id,
                            });
                        }
                        true
                    }
                    "ip" => true,
                    _ => false,
                };
                if ok {
                    self.reply(conn, xid, 0, Code::Ok, &Response::Empty, now);
                } else {
                    self.auth_failed(conn, xid, now);
                }
                return;
            }
            Request::SetWatches(sw) => {
                self.set_watches(conn, &sw);
                Ok(Response::Empty)
            }
            Request::Sasl(_) => Err(Code::Unimplemented),
            Request::GetEphemerals { prefix } => {
                let mut paths: Vec<String> = self
                    .tree
                    .ephemerals_of(session)
                    .into_iter()
                    // Apache lists them all for a blank prefix or "/".
                    .filter(|p| matches!(prefix.trim(), "" | "/") || p.starts_with(&prefix))
                    .collect();
                paths.sort();
                Ok(Response::Paths(paths))
            }
            Request::GetAllChildrenNumber { path } => (|| {
                let node = self.tree.get(&path).ok_or(Code::NoNode)?;
                tree::check_acl(node.acl(), perms::READ, &auth)?;
                Ok(Response::Count(
                    self.tree.descendant_count(&path).unwrap_or(0),
                ))
            })(),
            Request::AddWatch { path, mode } => (|| {
                // ZooKeeper fails to map an unknown mode while deserializing.
                if mode != 0 && mode != 1 {
                    return Err(Code::MarshallingError);
                }
                self.watches.add_persistent(&path, conn, mode == 1);
                Ok(Response::ErrorBody(0))
            })(),
            Request::WhoAmI => Ok(Response::WhoAmI(WhoAmIResponse {
                client_info: auth
                    .ids
                    .iter()
                    .map(|id| jute::ClientInfo {
                        auth_scheme: id.scheme.clone(),
                        // The digest provider names the user, not the hash.
                        user: match id.scheme.as_str() {
                            "digest" => id.id.split(':').next().unwrap_or("").to_string(),
                            _ => id.id.clone(),
                        },
                    })
                    .collect(),
            })),
            // Writes never get here.
            _ => Err(Code::BadArguments),
        };
        match result {
            Ok(body) => self.reply(conn, xid, zxid, Code::Ok, &body, now),
            Err(code) => self.reply(conn, xid, zxid, code, &Response::Empty, now),
        }
    }

    /// Apache's answer to failed credentials: AuthFailed, then the connection is closed.
    fn auth_failed(&mut self, conn: ConnId, xid: i32, now: Now) {
        self.stats.auth_failed += 1;
        self.reply(conn, xid, 0, Code::AuthFailed, &Response::Empty, now);
        self.close(conn);
    }

    pub(super) fn get_data(
        &mut self,
        conn: ConnId,
        path: &str,
        watch: bool,
        auth: &AuthInfo,
    ) -> Result<Response, Code> {
        let node = self.tree.get(path).ok_or(Code::NoNode)?;
        tree::check_acl(node.acl(), perms::READ, auth)?;
        let resp = Response::GetData(GetDataResponse {
            data: node.data().map(<[u8]>::to_vec),
            stat: node.client_stat(),
        });
        if watch {
            self.watches.add_data(path, conn);
        }
        Ok(resp)
    }

    pub(super) fn get_children(
        &mut self,
        conn: ConnId,
        path: &str,
        watch: bool,
        with_stat: bool,
        auth: &AuthInfo,
    ) -> Result<Response, Code> {
        let node = self.tree.get(path).ok_or(Code::NoNode)?;
        tree::check_acl(node.acl(), perms::READ, auth)?;
        let mut children: Vec<String> = node.children().map(str::to_string).collect();
        children.sort();
        let stat = node.client_stat();
        if watch {
            self.watches.add_child(path, conn);
        }
        Ok(if with_stat {
            Response::GetChildren2(GetChildren2Response { children, stat })
        } else {
            Response::GetChildren(GetChildrenResponse { children })
        })
    }

    /// setWatches: catch up on what changed since `relative_zxid`, register the rest.
    pub(super) fn set_watches(&mut self, conn: ConnId, sw: &jute::SetWatches2) {
        let rel = sw.relative_zxid;
        let mut events: Vec<(String, EventType)> = Vec::new();
        for path in &sw.data_watches {
            match self.tree.get(path) {
                None => events.push((path.clone(), EventType::NodeDeleted)),
                Some(n) if n.stat().mzxid > rel => {
                    events.push((path.clone(), EventType::NodeDataChanged))
                }
                Some(_) => self.watches.add_data(path, conn),
            }
        }
        for path in &sw.exist_watches {
            if self.tree.get(path).is_some() {
                events.push((path.clone(), EventType::NodeCreated));
            } else {
                self.watches.add_data(path, conn);
            }
        }
        for path in &sw.child_watches {
            match self.tree.get(path) {
                None => events.push((path.clone(), EventType::NodeDeleted)),
                Some(n) if n.stat().pzxid > rel => {
                    events.push((path.clone(), EventType::NodeChildrenChanged))
                }
                Some(_) => self.watches.add_child(path, conn),
            }
        }
        for path in &sw.persistent_watches {
            self.watches.add_persistent(path, conn, false);
        }
        for path in &sw.persistent_recursive_watches {
            self.watches.add_persistent(path, conn, true);
        }
        for (path, event) in events {
            let frame = jute::notification_frame(&WatcherEvent {
                event_type: event as i32,
                state: 3,
                path,
            });
            self.send(conn, frame);
        }
    }
}

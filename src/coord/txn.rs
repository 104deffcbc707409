//! The transaction: one state change as the processor makes it, the tree applies it, the log
//! stores it and ZAB replicates it — [`Txn`], the [`TxnRecord`] that carries it with its zxid,
//! session and time, and its bytes (ZooKeeper's `TxnHeader` followed by the txn's jute record,
//! as Apache ZooKeeper writes them in `log.<zxid>` files and proposals).

use super::jute::{
    self, Acl, CloseSessionTxn, CreateSessionTxn, CreateTxn, DeleteTxn, ErrorTxn, Jute, MultiTxn,
    PathRequest, Reader, SetAclTxn, SetDataTxn, SubTxn, TxnHeader,
};

/// Bytes that are not a txn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxnError {
    #[error("bad txn header: {0}")]
    Header(#[source] jute::JuteError),

    #[error("bad txn body: {0}")]
    Body(#[source] jute::JuteError),
}

/// A state change, as logged and replicated (the tree never sees jute records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Txn {
    CreateSession {
        timeout_ms: i32,
    },
    /// Deletes the listed ephemerals and ends the session.
    CloseSession {
        paths: Vec<String>,
    },
    Create {
        path: String,
        data: Option<Vec<u8>>,
        acl: Vec<Acl>,
        ephemeral_owner: i64,
        /// The parent's stored cversion after this create.
        parent_cversion: i32,
    },
    Delete {
        path: String,
    },
    SetData {
        path: String,
        data: Option<Vec<u8>>,
        /// The version after this change.
        version: i32,
    },
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        /// The aversion after this change.
        version: i32,
    },
    /// A version check inside a multi; changes nothing.
    Check {
        path: String,
    },
    /// A failed write still takes a zxid.
    Error {
        code: i32,
    },
    Multi(Vec<Txn>),
}

/// A txn to append to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnRecord {
    pub session: i64,
    pub cxid: i32,
    pub zxid: i64,
    pub time_ms: i64,
    pub txn: Txn,
}

impl TxnRecord {
    /// The txn as bytes: the jute `TxnHeader` then the txn record (the payload of a log
    /// record and the data of a ZAB proposal).
    pub fn encode(&self) -> Vec<u8> {
        let (txn_type, body) = txn_type_and_body(&self.txn);
        let mut payload = TxnHeader {
            client_id: self.session,
            cxid: self.cxid,
            zxid: self.zxid,
            time: self.time_ms,
            txn_type,
        }
        .to_bytes();
        payload.extend_from_slice(&body);
        payload
    }

    /// The zxid in the header of [`TxnRecord::encode`]'s bytes, without decoding the txn.
    pub fn zxid_of(payload: &[u8]) -> Result<i64, TxnError> {
        let mut r = Reader::new(payload, usize::MAX);
        Ok(TxnHeader::read(&mut r).map_err(TxnError::Header)?.zxid)
    }

    /// Decodes [`TxnRecord::encode`]'s bytes.
    pub fn decode(payload: &[u8]) -> Result<TxnRecord, TxnError> {
        let mut r = Reader::new(payload, usize::MAX);
        let hdr = TxnHeader::read(&mut r).map_err(TxnError::Header)?;
        let txn = txn_from(hdr.txn_type, &payload[r.position()..]).map_err(TxnError::Body)?;
        Ok(TxnRecord {
            session: hdr.client_id,
            cxid: hdr.cxid,
            zxid: hdr.zxid,
            time_ms: hdr.time,
            txn,
        })
    }
}

/// Txn type numbers in the log (ZooKeeper's op codes).
fn txn_type_and_body(txn: &Txn) -> (i32, Vec<u8>) {
    use jute::op;
    match txn {
        Txn::CreateSession { timeout_ms } => (
            op::CREATE_SESSION,
            CreateSessionTxn {
                timeout: *timeout_ms,
            }
            .to_bytes(),
        ),
        Txn::CloseSession { paths } => (
            op::CLOSE_SESSION,
            CloseSessionTxn {
                paths_to_delete: paths.clone(),
            }
            .to_bytes(),
        ),
        Txn::Create {
            path,
            data,
            acl,
            ephemeral_owner,
            parent_cversion,
        } => (
            op::CREATE,
            CreateTxn {
                path: path.clone(),
                data: data.clone(),
                acl: acl.clone(),
                ephemeral_owner: *ephemeral_owner,
                parent_cversion: *parent_cversion,
            }
            .to_bytes(),
        ),
        Txn::Delete { path } => (op::DELETE, DeleteTxn { path: path.clone() }.to_bytes()),
        Txn::SetData {
            path,
            data,
            version,
        } => (
            op::SET_DATA,
            SetDataTxn {
                path: path.clone(),
                data: data.clone(),
                version: *version,
            }
            .to_bytes(),
        ),
        Txn::SetAcl { path, acl, version } => (
            op::SET_ACL,
            SetAclTxn {
                path: path.clone(),
                acl: acl.clone(),
                version: *version,
            }
            .to_bytes(),
        ),
        Txn::Check { path } => (op::CHECK, PathRequest { path: path.clone() }.to_bytes()),
        Txn::Error { code } => (op::ERROR, ErrorTxn { err: *code }.to_bytes()),
        Txn::Multi(txns) => (
            op::MULTI,
            MultiTxn {
                txns: txns
                    .iter()
                    .map(|t| {
                        let (txn_type, data) = txn_type_and_body(t);
                        SubTxn { txn_type, data }
                    })
                    .collect(),
            }
            .to_bytes(),
        ),
    }
}

fn txn_from(txn_type: i32, body: &[u8]) -> Result<Txn, jute::JuteError> {
    use jute::op;
    let max = usize::MAX;
    Ok(match txn_type {
        op::CREATE_SESSION => Txn::CreateSession {
            timeout_ms: CreateSessionTxn::from_bytes(body, max)?.timeout,
        },
        op::CLOSE_SESSION => Txn::CloseSession {
            paths: CloseSessionTxn::from_bytes(body, max)?.paths_to_delete,
        },
        op::CREATE => {
            let c = CreateTxn::from_bytes(body, max)?;
            Txn::Create {
                path: c.path,
                data: c.data,
                acl: c.acl,
                ephemeral_owner: c.ephemeral_owner,
                parent_cversion: c.parent_cversion,
            }
        }
        op::DELETE => Txn::Delete {
            path: DeleteTxn::from_bytes(body, max)?.path,
        },
        op::SET_DATA => {
            let s = SetDataTxn::from_bytes(body, max)?;
            Txn::SetData {
                path: s.path,
                data: s.data,
                version: s.version,
            }
        }
        op::SET_ACL => {
            let s = SetAclTxn::from_bytes(body, max)?;
            Txn::SetAcl {
                path: s.path,
                acl: s.acl,
                version: s.version,
            }
        }
        op::CHECK => Txn::Check {
            path: PathRequest::from_bytes(body, max)?.path,
        },
        op::ERROR => Txn::Error {
            code: ErrorTxn::from_bytes(body, max)?.err,
        },
        op::MULTI => Txn::Multi(
            MultiTxn::from_bytes(body, max)?
                .txns
                .into_iter()
                .map(|s| txn_from(s.txn_type, &s.data))
                .collect::<Result<_, _>>()?,
        ),
        other => return Err(jute::JuteError::UnknownOp(other)),
    })
}

//! Edit ops: every namespace change as it is logged, and their encoding into edit-record
//! payloads (the protobuf `EditOpProto`, converted here and nowhere else).

use prost::Message;

use crate::proto::namenode as pb;

/// Who made a change and when: the attributes a new inode gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    /// Permission bits (e.g. 0o755).
    pub permission: u16,
    pub owner: String,
    pub group: String,
    /// Milliseconds since the epoch.
    pub mtime: u64,
}

/// One namespace change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditOp {
    /// The first edit of every segment.
    StartLogSegment,
    /// The last edit of a segment its writer closed.
    EndLogSegment,
    /// Creates one directory.
    Mkdir {
        path: String,
        attrs: Attributes,
    },
    /// Creates a file, replacing an existing one when `overwrite`.
    Add {
        path: String,
        attrs: Attributes,
        replication: u16,
        length: u64,
        block_size: u64,
        overwrite: bool,
    },
    /// Grows a file to `new_length`.
    Append {
        path: String,
        new_length: u64,
        mtime: u64,
    },
    Delete {
        path: String,
        mtime: u64,
    },
    Rename {
        src: String,
        dst: String,
        mtime: u64,
    },
}

/// The client call an op answers (for the retry cache).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallId {
    pub client_id: Vec<u8>,
    pub call_id: i32,
}

/// An op as logged: the change and, for client changes, the call it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedOp {
    pub op: EditOp,
    pub call: Option<CallId>,
}

impl LoggedOp {
    pub fn encode(&self) -> Vec<u8> {
        use pb::edit_op_proto::Op;
        let op = match &self.op {
            EditOp::StartLogSegment => Op::StartLogSegment(pb::StartLogSegmentOp {}),
            EditOp::EndLogSegment => Op::EndLogSegment(pb::EndLogSegmentOp {}),
            EditOp::Mkdir { path, attrs } => Op::Mkdir(pb::MkdirOp {
                path: path.clone(),
                permission: u32::from(attrs.permission),
                owner: attrs.owner.clone(),
                group: attrs.group.clone(),
                mtime: attrs.mtime,
            }),
            EditOp::Add {
                path,
                attrs,
                replication,
                length,
                block_size,
                overwrite,
            } => Op::Add(pb::AddOp {
                path: path.clone(),
                replication: u32::from(*replication),
                length: *length,
                permission: u32::from(attrs.permission),
                owner: attrs.owner.clone(),
                group: attrs.group.clone(),
                mtime: attrs.mtime,
                overwrite: *overwrite,
                block_size: *block_size,
            }),
            EditOp::Append {
                path,
                new_length,
                mtime,
            } => Op::Append(pb::AppendOp {
                path: path.clone(),
                new_length: *new_length,
                mtime: *mtime,
            }),
            EditOp::Delete { path, mtime } => Op::Delete(pb::DeleteOp {
                path: path.clone(),
                mtime: *mtime,
            }),
            EditOp::Rename { src, dst, mtime } => Op::Rename(pb::RenameOp {
                src: src.clone(),
                dst: dst.clone(),
                mtime: *mtime,
            }),
        };
        pb::EditOpProto {
            op: Some(op),
            rpc_client_id: self
                .call
                .as_ref()
                .map(|c| c.client_id.clone())
                .unwrap_or_default(),
            rpc_call_id: self.call.as_ref().map_or(0, |c| c.call_id),
        }
        .encode_to_vec()
    }

    /// Decodes an edit payload; the error says what is wrong with it.
    pub fn decode(payload: &[u8]) -> Result<LoggedOp, String> {
        use pb::edit_op_proto::Op;
        let proto =
            pb::EditOpProto::decode(payload).map_err(|e| format!("undecodable edit op: {e}"))?;
        let attrs = |permission: u32, owner: String, group: String, mtime: u64| Attributes {
            permission: (permission & 0o7777) as u16,
            owner,
            group,
            mtime,
        };
        let op = match proto.op.ok_or("edit op without an operation")? {
            Op::StartLogSegment(_) => EditOp::StartLogSegment,
            Op::EndLogSegment(_) => EditOp::EndLogSegment,
            Op::Mkdir(m) => EditOp::Mkdir {
                path: m.path,
                attrs: attrs(m.permission, m.owner, m.group, m.mtime),
            },
            Op::Add(a) => EditOp::Add {
                path: a.path,
                attrs: attrs(a.permission, a.owner, a.group, a.mtime),
                replication: a.replication.min(u32::from(u16::MAX)) as u16,
                length: a.length,
                block_size: a.block_size,
                overwrite: a.overwrite,
            },
            Op::Append(a) => EditOp::Append {
                path: a.path,
                new_length: a.new_length,
                mtime: a.mtime,
            },
            Op::Delete(d) => EditOp::Delete {
                path: d.path,
                mtime: d.mtime,
            },
            Op::Rename(r) => EditOp::Rename {
                src: r.src,
                dst: r.dst,
                mtime: r.mtime,
            },
        };
        let call = (!proto.rpc_client_id.is_empty()).then_some(CallId {
            client_id: proto.rpc_client_id,
            call_id: proto.rpc_call_id,
        });
        Ok(LoggedOp { op, call })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_round_trips() {
        let attrs = Attributes {
            permission: 0o755,
            owner: "hdfs".into(),
            group: "supergroup".into(),
            mtime: 1_700_000_000_000,
        };
        let ops = vec![
            EditOp::StartLogSegment,
            EditOp::EndLogSegment,
            EditOp::Mkdir {
                path: "/a".into(),
                attrs: attrs.clone(),
            },
            EditOp::Add {
                path: "/a/f".into(),
                attrs: attrs.clone(),
                replication: 3,
                length: 42,
                block_size: 128 << 20,
                overwrite: true,
            },
            EditOp::Append {
                path: "/a/f".into(),
                new_length: 84,
                mtime: 5,
            },
            EditOp::Delete {
                path: "/a/f".into(),
                mtime: 6,
            },
            EditOp::Rename {
                src: "/a".into(),
                dst: "/b".into(),
                mtime: 7,
            },
        ];
        for op in ops {
            for call in [
                None,
                Some(CallId {
                    client_id: vec![1, 2, 3],
                    call_id: -5,
                }),
            ] {
                let logged = LoggedOp {
                    op: op.clone(),
                    call,
                };
                assert_eq!(LoggedOp::decode(&logged.encode()).unwrap(), logged);
            }
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(LoggedOp::decode(&[0xff, 0xff, 0xff]).is_err());
        assert!(
            LoggedOp::decode(&[])
                .unwrap_err()
                .contains("without an operation")
        );
    }
}

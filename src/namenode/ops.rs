//! Edit ops: every namespace change as it is logged, encoded as Hadoop 3.3 encodes its ops
//! (`FSEditLogOp.writeFields` at NameNode layout versions -64 to -66), so that a real
//! NameNode, JournalNode or `hdfs oev` reads our edits and we read theirs. Converted here
//! and nowhere else; the framing around a body (opcode, length, txid, checksum) is
//! `journal::edits`'.
//!
//! A payload is the opcode byte followed by the body. Each `EditOp` is one Hadoop op:
//!
//! | op | opcode | body |
//! |----|--------|------|
//! | `StartLogSegment` | `OP_START_LOG_SEGMENT` (24) | empty |
//! | `EndLogSegment` | `OP_END_LOG_SEGMENT` (23) | empty |
//! | `Mkdir` | `OP_MKDIR` (3) | inode id, path, mtime, atime, permission status, ACL entries, xattrs |
//! | `Add` | `OP_ADD` (0) | inode id, path, replication, mtime, atime, block size, blocks, permission status, ACL entries, xattrs, client name, client machine, overwrite, storage policy, erasure coding policy, rpc ids |
//! | `Close` | `OP_CLOSE` (9) | inode id (0), path, replication, mtime, atime, block size, blocks, permission status |
//! | `Append` | `OP_APPEND` (47) | path, client name, client machine, new block, rpc ids |
//! | `Delete` | `OP_DELETE` (2) | path, timestamp, rpc ids |
//! | `Rename` | `OP_RENAME_OLD` (1) | source, destination, timestamp, rpc ids |
//! | `RenameWithOptions` | `OP_RENAME` (15) | source, destination, timestamp, options (`BytesWritable` of `Rename` values), rpc ids |
//! | `SetPermissions` | `OP_SET_PERMISSIONS` (7) | path, permission |
//! | `SetOwner` | `OP_SET_OWNER` (8) | path, user name, group name ("" for unchanged) |
//! | `Times` | `OP_TIMES` (13) | path, mtime, atime (-1 for unchanged) |
//! | `SetReplication` | `OP_SET_REPLICATION` (4) | path, replication |
//!
//! Strings are `writeUTF`'s (16-bit length, modified UTF-8), owner and group `Text`, times
//! and ids 64-bit. The mock namespace has no ACLs or xattrs: it writes none and refuses an op
//! that carries some rather than drop them.

use crate::java_data::{DataError, DataInput, DataOutput};

/// Hadoop's opcodes (`FSEditLogOpCodes`) of the ops this NameNode logs.
pub mod opcode {
    pub const OP_ADD: u8 = 0;
    pub const OP_RENAME_OLD: u8 = 1;
    pub const OP_DELETE: u8 = 2;
    pub const OP_MKDIR: u8 = 3;
    pub const OP_SET_REPLICATION: u8 = 4;
    pub const OP_SET_PERMISSIONS: u8 = 7;
    pub const OP_SET_OWNER: u8 = 8;
    pub const OP_CLOSE: u8 = 9;
    pub const OP_TIMES: u8 = 13;
    pub const OP_RENAME: u8 = 15;
    pub const OP_END_LOG_SEGMENT: u8 = 23;
    pub const OP_START_LOG_SEGMENT: u8 = 24;
    pub const OP_APPEND: u8 = 47;
}

/// The call id Hadoop logs for an op no client call answers (`RpcConstants.INVALID_CALL_ID`).
const INVALID_CALL_ID: i32 = -2;

/// `Options.Rename`'s values, as `OP_RENAME` lists them.
const RENAME_NONE: u8 = 0;
const RENAME_OVERWRITE: u8 = 1;
const RENAME_TO_TRASH: u8 = 2;

/// What `OP_TIMES` logs for a time left as it is.
pub const UNCHANGED_TIME: u64 = u64::MAX;

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

/// One block of a file, as an op lists it (`Block.write`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub id: u64,
    pub num_bytes: u64,
    pub genstamp: u64,
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
        inode_id: u64,
        path: String,
        attrs: Attributes,
    },
    /// Creates a file open for writing by `client_name`, replacing an existing one when
    /// `overwrite`.
    Add {
        inode_id: u64,
        path: String,
        attrs: Attributes,
        replication: u16,
        block_size: u64,
        overwrite: bool,
        client_name: String,
        client_machine: String,
    },
    /// Completes a file: its blocks (their lengths make its length) and times.
    Close {
        path: String,
        attrs: Attributes,
        atime: u64,
        replication: u16,
        block_size: u64,
        blocks: Vec<Block>,
    },
    /// Reopens a file for appending by `client_name`.
    Append {
        path: String,
        client_name: String,
        client_machine: String,
    },
    Delete {
        path: String,
        mtime: u64,
    },
    /// The rename that answers a boolean (`OP_RENAME_OLD`).
    Rename {
        src: String,
        dst: String,
        mtime: u64,
    },
    /// `rename2` (`OP_RENAME`): with `overwrite`, an existing destination is replaced.
    RenameWithOptions {
        src: String,
        dst: String,
        mtime: u64,
        overwrite: bool,
        to_trash: bool,
    },
    SetPermissions {
        path: String,
        permission: u16,
    },
    /// A new owner and/or group; `None` leaves it as it is.
    SetOwner {
        path: String,
        owner: Option<String>,
        group: Option<String>,
    },
    /// New times; [`UNCHANGED_TIME`] leaves one as it is.
    Times {
        path: String,
        mtime: u64,
        atime: u64,
    },
    SetReplication {
        path: String,
        replication: u16,
    },
}

impl EditOp {
    /// Whether Hadoop logs the client call this op answers with it (the retry cache's ops).
    pub fn logs_call(&self) -> bool {
        matches!(
            self,
            EditOp::Add { .. }
                | EditOp::Append { .. }
                | EditOp::Delete { .. }
                | EditOp::Rename { .. }
                | EditOp::RenameWithOptions { .. }
        )
    }

    /// Hadoop's name of the op (`OP_MKDIR`, ...).
    pub fn name(&self) -> &'static str {
        opcode_name(self.opcode())
    }

    fn opcode(&self) -> u8 {
        match self {
            EditOp::StartLogSegment => opcode::OP_START_LOG_SEGMENT,
            EditOp::EndLogSegment => opcode::OP_END_LOG_SEGMENT,
            EditOp::Mkdir { .. } => opcode::OP_MKDIR,
            EditOp::Add { .. } => opcode::OP_ADD,
            EditOp::Close { .. } => opcode::OP_CLOSE,
            EditOp::Append { .. } => opcode::OP_APPEND,
            EditOp::Delete { .. } => opcode::OP_DELETE,
            EditOp::Rename { .. } => opcode::OP_RENAME_OLD,
            EditOp::RenameWithOptions { .. } => opcode::OP_RENAME,
            EditOp::SetPermissions { .. } => opcode::OP_SET_PERMISSIONS,
            EditOp::SetOwner { .. } => opcode::OP_SET_OWNER,
            EditOp::Times { .. } => opcode::OP_TIMES,
            EditOp::SetReplication { .. } => opcode::OP_SET_REPLICATION,
        }
    }
}

/// Hadoop's name of an opcode, for messages.
pub fn opcode_name(code: u8) -> &'static str {
    const NAMES: [&str; 53] = [
        "OP_ADD",
        "OP_RENAME_OLD",
        "OP_DELETE",
        "OP_MKDIR",
        "OP_SET_REPLICATION",
        "OP_DATANODE_ADD",
        "OP_DATANODE_REMOVE",
        "OP_SET_PERMISSIONS",
        "OP_SET_OWNER",
        "OP_CLOSE",
        "OP_SET_GENSTAMP_V1",
        "OP_SET_NS_QUOTA",
        "OP_CLEAR_NS_QUOTA",
        "OP_TIMES",
        "OP_SET_QUOTA",
        "OP_RENAME",
        "OP_CONCAT_DELETE",
        "OP_SYMLINK",
        "OP_GET_DELEGATION_TOKEN",
        "OP_RENEW_DELEGATION_TOKEN",
        "OP_CANCEL_DELEGATION_TOKEN",
        "OP_UPDATE_MASTER_KEY",
        "OP_REASSIGN_LEASE",
        "OP_END_LOG_SEGMENT",
        "OP_START_LOG_SEGMENT",
        "OP_UPDATE_BLOCKS",
        "OP_CREATE_SNAPSHOT",
        "OP_DELETE_SNAPSHOT",
        "OP_RENAME_SNAPSHOT",
        "OP_ALLOW_SNAPSHOT",
        "OP_DISALLOW_SNAPSHOT",
        "OP_SET_GENSTAMP_V2",
        "OP_ALLOCATE_BLOCK_ID",
        "OP_ADD_BLOCK",
        "OP_ADD_CACHE_DIRECTIVE",
        "OP_REMOVE_CACHE_DIRECTIVE",
        "OP_ADD_CACHE_POOL",
        "OP_MODIFY_CACHE_POOL",
        "OP_REMOVE_CACHE_POOL",
        "OP_MODIFY_CACHE_DIRECTIVE",
        "OP_SET_ACL",
        "OP_ROLLING_UPGRADE_START",
        "OP_ROLLING_UPGRADE_FINALIZE",
        "OP_SET_XATTR",
        "OP_REMOVE_XATTR",
        "OP_SET_STORAGE_POLICY",
        "OP_TRUNCATE",
        "OP_APPEND",
        "OP_SET_QUOTA_BY_STORAGETYPE",
        "OP_ADD_ERASURE_CODING_POLICY",
        "OP_ENABLE_ERASURE_CODING_POLICY",
        "OP_DISABLE_ERASURE_CODING_POLICY",
        "OP_REMOVE_ERASURE_CODING_POLICY",
    ];
    match code {
        0xff => "OP_INVALID",
        _ => NAMES
            .get(usize::from(code))
            .copied()
            .unwrap_or("an unknown op"),
    }
}

/// Why an op payload does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    #[error("empty edit op")]
    Empty,
    #[error("{name} (opcode {code}) is not an op this NameNode applies")]
    Unsupported { code: u8, name: &'static str },
    #[error("{op}: {source}")]
    Body {
        op: &'static str,
        #[source]
        source: DataError,
    },
    #[error("{op}: {len} bytes after the end of its body")]
    Trailing { op: &'static str, len: usize },
    #[error("{op}: carries {what}, which this NameNode does not keep")]
    Dropped {
        op: &'static str,
        what: &'static str,
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
    /// Logged only with the ops that log one (`EditOp::logs_call`).
    pub call: Option<CallId>,
}

impl LoggedOp {
    /// The payload of the op's record: its opcode, then its body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.op.opcode()];
        match &self.op {
            EditOp::StartLogSegment | EditOp::EndLogSegment => {}
            EditOp::Mkdir {
                inode_id,
                path,
                attrs,
            } => {
                out.put_i64(*inode_id as i64);
                out.put_utf(path);
                out.put_i64(attrs.mtime as i64);
                out.put_i64(attrs.mtime as i64);
                put_permission_status(&mut out, attrs);
                put_no_acls_or_xattrs(&mut out);
            }
            EditOp::Add {
                inode_id,
                path,
                attrs,
                replication,
                block_size,
                overwrite,
                client_name,
                client_machine,
            } => {
                out.put_i64(*inode_id as i64);
                out.put_utf(path);
                out.put_i16(*replication as i16);
                out.put_i64(attrs.mtime as i64);
                out.put_i64(attrs.mtime as i64);
                out.put_i64(*block_size as i64);
                put_blocks(&mut out, &[]);
                put_permission_status(&mut out, attrs);
                put_no_acls_or_xattrs(&mut out);
                out.put_utf(client_name);
                out.put_utf(client_machine);
                out.put_bool(*overwrite);
                // The default storage policy and no erasure coding policy.
                out.put_u8(0);
                out.put_u8(0);
                self.put_call(&mut out);
            }
            EditOp::Close {
                path,
                attrs,
                atime,
                replication,
                block_size,
                blocks,
            } => {
                // Hadoop logs no inode id with OP_CLOSE.
                out.put_i64(0);
                out.put_utf(path);
                out.put_i16(*replication as i16);
                out.put_i64(attrs.mtime as i64);
                out.put_i64(*atime as i64);
                out.put_i64(*block_size as i64);
                put_blocks(&mut out, blocks);
                put_permission_status(&mut out, attrs);
            }
            EditOp::Append {
                path,
                client_name,
                client_machine,
            } => {
                out.put_utf(path);
                out.put_utf(client_name);
                out.put_utf(client_machine);
                // The appended bytes go into the last block, not a new one.
                out.put_bool(false);
                self.put_call(&mut out);
            }
            EditOp::Delete { path, mtime } => {
                out.put_utf(path);
                out.put_i64(*mtime as i64);
                self.put_call(&mut out);
            }
            EditOp::Rename { src, dst, mtime } => {
                out.put_utf(src);
                out.put_utf(dst);
                out.put_i64(*mtime as i64);
                self.put_call(&mut out);
            }
            EditOp::RenameWithOptions {
                src,
                dst,
                mtime,
                overwrite,
                to_trash,
            } => {
                out.put_utf(src);
                out.put_utf(dst);
                out.put_i64(*mtime as i64);
                let mut options = Vec::new();
                if *overwrite {
                    options.push(RENAME_OVERWRITE);
                }
                if *to_trash {
                    options.push(RENAME_TO_TRASH);
                }
                if options.is_empty() {
                    options.push(RENAME_NONE);
                }
                out.put_i32(options.len() as i32);
                out.extend_from_slice(&options);
                self.put_call(&mut out);
            }
            EditOp::SetPermissions { path, permission } => {
                out.put_utf(path);
                out.put_i16(*permission as i16);
            }
            EditOp::SetOwner { path, owner, group } => {
                out.put_utf(path);
                out.put_utf(owner.as_deref().unwrap_or_default());
                out.put_utf(group.as_deref().unwrap_or_default());
            }
            EditOp::Times { path, mtime, atime } => {
                out.put_utf(path);
                out.put_i64(*mtime as i64);
                out.put_i64(*atime as i64);
            }
            EditOp::SetReplication { path, replication } => {
                out.put_utf(path);
                out.put_i16(*replication as i16);
            }
        }
        out
    }

    /// `FSEditLogOp.writeRpcIds`: the client id and call id, or Hadoop's dummies.
    fn put_call(&self, out: &mut Vec<u8>) {
        match &self.call {
            Some(call) => {
                out.put_short_bytes(&call.client_id);
                out.put_i32(call.call_id);
            }
            None => {
                out.put_short_bytes(&[]);
                out.put_i32(INVALID_CALL_ID);
            }
        }
    }

    /// Decodes an op payload; the error says which op and what is wrong with it.
    pub fn decode(payload: &[u8]) -> Result<LoggedOp, OpError> {
        let (&code, body) = payload.split_first().ok_or(OpError::Empty)?;
        let name = opcode_name(code);
        let mut r = DataInput::new(body);
        let logged = decode_body(code, &mut r).map_err(|e| match e {
            Decode::Data(source) => OpError::Body { op: name, source },
            Decode::Op(err) => err,
        })?;
        match r.remaining() {
            0 => Ok(logged),
            len => Err(OpError::Trailing { op: name, len }),
        }
    }
}

enum Decode {
    Data(DataError),
    Op(OpError),
}

impl From<DataError> for Decode {
    fn from(e: DataError) -> Self {
        Decode::Data(e)
    }
}

fn decode_body(code: u8, r: &mut DataInput<'_>) -> Result<LoggedOp, Decode> {
    let name = opcode_name(code);
    let mut call = None;
    let op = match code {
        opcode::OP_START_LOG_SEGMENT => EditOp::StartLogSegment,
        opcode::OP_END_LOG_SEGMENT => EditOp::EndLogSegment,
        opcode::OP_MKDIR => {
            let inode_id = r.i64("inode id")? as u64;
            let path = r.utf("path")?;
            let mtime = r.i64("mtime")? as u64;
            let _atime = r.i64("atime")?;
            let attrs = permission_status(r, mtime)?;
            no_acls_or_xattrs(r, name)?;
            EditOp::Mkdir {
                inode_id,
                path,
                attrs,
            }
        }
        opcode::OP_ADD => {
            let inode_id = r.i64("inode id")? as u64;
            let path = r.utf("path")?;
            let replication = r.i16("replication")? as u16;
            let mtime = r.i64("mtime")? as u64;
            let _atime = r.i64("atime")?;
            let block_size = r.i64("block size")? as u64;
            if !blocks(r)?.is_empty() {
                return Err(Decode::Op(OpError::Dropped {
                    op: name,
                    what: "blocks of a new file",
                }));
            }
            let attrs = permission_status(r, mtime)?;
            no_acls_or_xattrs(r, name)?;
            let client_name = r.utf("client name")?;
            let client_machine = r.utf("client machine")?;
            let overwrite = r.bool("overwrite")?;
            let _storage_policy = r.u8("storage policy")?;
            let _erasure_coding_policy = r.u8("erasure coding policy")?;
            call = read_call(r)?;
            EditOp::Add {
                inode_id,
                path,
                attrs,
                replication,
                block_size,
                overwrite,
                client_name,
                client_machine,
            }
        }
        opcode::OP_CLOSE => {
            let _inode_id = r.i64("inode id")?;
            let path = r.utf("path")?;
            let replication = r.i16("replication")? as u16;
            let mtime = r.i64("mtime")? as u64;
            let atime = r.i64("atime")? as u64;
            let block_size = r.i64("block size")? as u64;
            let blocks = blocks(r)?;
            let attrs = permission_status(r, mtime)?;
            EditOp::Close {
                path,
                attrs,
                atime,
                replication,
                block_size,
                blocks,
            }
        }
        opcode::OP_APPEND => {
            let path = r.utf("path")?;
            let client_name = r.utf("client name")?;
            let client_machine = r.utf("client machine")?;
            let _new_block = r.bool("new block")?;
            call = read_call(r)?;
            EditOp::Append {
                path,
                client_name,
                client_machine,
            }
        }
        opcode::OP_DELETE => {
            let path = r.utf("path")?;
            let mtime = r.i64("timestamp")? as u64;
            call = read_call(r)?;
            EditOp::Delete { path, mtime }
        }
        opcode::OP_RENAME_OLD => {
            let src = r.utf("source")?;
            let dst = r.utf("destination")?;
            let mtime = r.i64("timestamp")? as u64;
            call = read_call(r)?;
            EditOp::Rename { src, dst, mtime }
        }
        opcode::OP_RENAME => {
            let src = r.utf("source")?;
            let dst = r.utf("destination")?;
            let mtime = r.i64("timestamp")? as u64;
            let count = usize::try_from(r.i32("rename option count")?).unwrap_or(usize::MAX);
            let options = r.take("rename options", count)?;
            if options.iter().any(|o| *o > RENAME_TO_TRASH) {
                return Err(Decode::Op(OpError::Dropped {
                    op: name,
                    what: "an unknown rename option",
                }));
            }
            call = read_call(r)?;
            EditOp::RenameWithOptions {
                src,
                dst,
                mtime,
                overwrite: options.contains(&RENAME_OVERWRITE),
                to_trash: options.contains(&RENAME_TO_TRASH),
            }
        }
        opcode::OP_SET_PERMISSIONS => EditOp::SetPermissions {
            path: r.utf("path")?,
            permission: (r.i16("permission")? as u16) & 0o7777,
        },
        opcode::OP_SET_OWNER => {
            let path = r.utf("path")?;
            let given = |s: String| (!s.is_empty()).then_some(s);
            EditOp::SetOwner {
                path,
                owner: given(r.utf("user name")?),
                group: given(r.utf("group name")?),
            }
        }
        opcode::OP_TIMES => EditOp::Times {
            path: r.utf("path")?,
            mtime: r.i64("mtime")? as u64,
            atime: r.i64("atime")? as u64,
        },
        opcode::OP_SET_REPLICATION => EditOp::SetReplication {
            path: r.utf("path")?,
            replication: r.i16("replication")? as u16,
        },
        _ => return Err(Decode::Op(OpError::Unsupported { code, name })),
    };
    Ok(LoggedOp { op, call })
}

/// `PermissionStatus.write`: owner and group as `Text`, then the permission bits.
fn put_permission_status(out: &mut Vec<u8>, attrs: &Attributes) {
    out.put_text(&attrs.owner);
    out.put_text(&attrs.group);
    out.put_i16(attrs.permission as i16);
}

fn permission_status(r: &mut DataInput<'_>, mtime: u64) -> Result<Attributes, DataError> {
    let owner = r.text("owner")?;
    let group = r.text("group")?;
    let permission = (r.i16("permission")? as u16) & 0o7777;
    Ok(Attributes {
        permission,
        owner,
        group,
        mtime,
    })
}

/// No ACL entries (a count of 0) and no xattrs (an empty delimited `XAttrEditLogProto`).
fn put_no_acls_or_xattrs(out: &mut Vec<u8>) {
    out.put_i32(0);
    out.put_u8(0);
}

fn no_acls_or_xattrs(r: &mut DataInput<'_>, op: &'static str) -> Result<(), Decode> {
    if r.i32("ACL entry count")? != 0 {
        return Err(Decode::Op(OpError::Dropped {
            op,
            what: "ACL entries",
        }));
    }
    if !r.delimited("xattrs")?.is_empty() {
        return Err(Decode::Op(OpError::Dropped { op, what: "xattrs" }));
    }
    Ok(())
}

/// `ArrayWritable` of `Block`s: a count, then id, length and generation stamp of each.
fn put_blocks(out: &mut Vec<u8>, blocks: &[Block]) {
    out.put_i32(i32::try_from(blocks.len()).expect("fewer than 2^31 blocks"));
    for block in blocks {
        out.put_i64(block.id as i64);
        out.put_i64(block.num_bytes as i64);
        out.put_i64(block.genstamp as i64);
    }
}

fn blocks(r: &mut DataInput<'_>) -> Result<Vec<Block>, DataError> {
    let count = r.i32("block count")?;
    // Each block is 24 bytes: a count beyond what is left is garbage, not an allocation.
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count > r.remaining() / 24 {
        r.take("blocks", count.saturating_mul(24))?;
    }
    (0..count)
        .map(|_| {
            Ok(Block {
                id: r.i64("block id")? as u64,
                num_bytes: r.i64("block length")? as u64,
                genstamp: r.i64("generation stamp")? as u64,
            })
        })
        .collect()
}

/// `FSEditLogOp.readRpcIds`: `None` for Hadoop's dummy client id.
fn read_call(r: &mut DataInput<'_>) -> Result<Option<CallId>, DataError> {
    let client_id = r.short_bytes("rpc client id")?.to_vec();
    let call_id = r.i32("rpc call id")?;
    Ok((!client_id.is_empty()).then_some(CallId { client_id, call_id }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::edits::{HEADER_LEN, decode_records};

    /// Edits written by Hadoop 3.3.6's own `hdfs oev -p binary` from
    /// `tests/data/hadoop-3.3.6-edits.xml`.
    const HADOOP_EDITS: &[u8] = include_bytes!("../../tests/data/hadoop-3.3.6-edits.bin");

    fn attrs(permission: u16, mtime: u64) -> Attributes {
        Attributes {
            permission,
            owner: "shv".into(),
            group: "supergroup".into(),
            mtime,
        }
    }

    fn call(call_id: i32) -> Option<CallId> {
        Some(CallId {
            client_id: vec![
                0xcb, 0x20, 0xa9, 0x2a, 0x2c, 0x2f, 0x43, 0x05, 0xa8, 0x38, 0x2a, 0x01, 0xc6, 0xe7,
                0x3e, 0x18,
            ],
            call_id,
        })
    }

    /// The ops of `tests/data/hadoop-3.3.6-edits.xml`, as this module sees them.
    fn hadoop_ops() -> Vec<LoggedOp> {
        let logged = |op, call| LoggedOp { op, call };
        vec![
            logged(EditOp::StartLogSegment, None),
            logged(
                EditOp::Mkdir {
                    inode_id: 16387,
                    path: "/d".into(),
                    attrs: attrs(0o755, 1421135800394),
                },
                None,
            ),
            logged(
                EditOp::Add {
                    inode_id: 16386,
                    path: "/f".into(),
                    attrs: attrs(0o644, 1421135800328),
                    replication: 1,
                    block_size: 512,
                    overwrite: true,
                    client_name: "DFSClient_X".into(),
                    client_machine: "127.0.0.1".into(),
                },
                call(9),
            ),
            logged(
                EditOp::Close {
                    path: "/f".into(),
                    attrs: attrs(0o644, 1421135800357),
                    atime: 1421135800328,
                    replication: 1,
                    block_size: 512,
                    blocks: vec![Block {
                        id: 1073741825,
                        num_bytes: 512,
                        genstamp: 1001,
                    }],
                },
                None,
            ),
            logged(
                EditOp::Append {
                    path: "/f".into(),
                    client_name: "DFSClient_X".into(),
                    client_machine: "127.0.0.1".into(),
                },
                call(10),
            ),
            logged(
                EditOp::Rename {
                    src: "/f".into(),
                    dst: "/g".into(),
                    mtime: 1421135800368,
                },
                call(12),
            ),
        ]
    }

    #[test]
    fn ops_hadoop_wrote_decode_and_encode_to_the_same_bytes() {
        let records = decode_records(&HADOOP_EDITS[HEADER_LEN..]).unwrap();
        let expected = hadoop_ops();
        for (record, want) in records.iter().zip(&expected) {
            let got = LoggedOp::decode(&record.payload).unwrap();
            assert_eq!(&got, want, "txid {}", record.txid);
            assert_eq!(got.encode(), record.payload, "txid {}", record.txid);
        }
        // txid 7 is an OP_RENAME: rename2 with OVERWRITE.
        let rename2 = LoggedOp::decode(&records[6].payload).unwrap();
        assert_eq!(
            rename2,
            LoggedOp {
                op: EditOp::RenameWithOptions {
                    src: "/g".into(),
                    dst: "/h".into(),
                    mtime: 1421135800485,
                    overwrite: true,
                    to_trash: false,
                },
                call: call(28),
            }
        );
        assert_eq!(rename2.encode(), records[6].payload);
        let delete = LoggedOp::decode(&records[7].payload).unwrap();
        assert_eq!(
            delete,
            LoggedOp {
                op: EditOp::Delete {
                    path: "/h".into(),
                    mtime: 1421135800377
                },
                call: None,
            }
        );
        assert_eq!(delete.encode(), records[7].payload);
        assert_eq!(
            LoggedOp::decode(&records[8].payload).unwrap().op,
            EditOp::EndLogSegment
        );
    }

    #[test]
    fn every_op_round_trips_with_and_without_a_call() {
        let mut ops: Vec<EditOp> = hadoop_ops().into_iter().map(|l| l.op).collect();
        ops.push(EditOp::EndLogSegment);
        ops.push(EditOp::Delete {
            path: "/ünïcode\0/😀".into(),
            mtime: 6,
        });
        for (overwrite, to_trash) in [(false, false), (true, false), (true, true), (false, true)] {
            ops.push(EditOp::RenameWithOptions {
                src: "/a".into(),
                dst: "/b".into(),
                mtime: 7,
                overwrite,
                to_trash,
            });
        }
        ops.push(EditOp::SetPermissions {
            path: "/a".into(),
            permission: 0o1750,
        });
        for (owner, group) in [(Some("u"), None), (None, Some("g")), (Some("u"), Some("g"))] {
            ops.push(EditOp::SetOwner {
                path: "/a".into(),
                owner: owner.map(String::from),
                group: group.map(String::from),
            });
        }
        ops.push(EditOp::Times {
            path: "/a".into(),
            mtime: 9,
            atime: UNCHANGED_TIME,
        });
        ops.push(EditOp::SetReplication {
            path: "/a".into(),
            replication: 2,
        });
        for op in ops {
            for call in [None, call(-5)] {
                let call = call.filter(|_| op.logs_call());
                let logged = LoggedOp {
                    op: op.clone(),
                    call,
                };
                assert_eq!(LoggedOp::decode(&logged.encode()).unwrap(), logged);
            }
        }
    }

    #[test]
    fn garbage_is_an_error_that_names_the_op_not_a_panic() {
        assert_eq!(LoggedOp::decode(&[]), Err(OpError::Empty));
        assert_eq!(
            LoggedOp::decode(&[opcode::OP_MKDIR, 0, 0])
                .unwrap_err()
                .to_string(),
            "OP_MKDIR: inode id needs 8 bytes at offset 0, 2 left"
        );
        let mut trailing = LoggedOp {
            op: EditOp::StartLogSegment,
            call: None,
        }
        .encode();
        trailing.push(7);
        assert_eq!(
            LoggedOp::decode(&trailing).unwrap_err().to_string(),
            "OP_START_LOG_SEGMENT: 1 bytes after the end of its body"
        );
        assert!(LoggedOp::decode(&[200]).is_err());
        // A block count far beyond the bytes is refused before anything is allocated.
        let mut close = hadoop_ops()[3].encode();
        let count_at = 1 + 8 + 4 + 2 + 8 + 8 + 8;
        close[count_at..count_at + 4].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(LoggedOp::decode(&close).is_err());
        // Every truncation of every op is an error.
        for logged in hadoop_ops() {
            let bytes = logged.encode();
            for cut in 1..bytes.len() {
                assert!(
                    LoggedOp::decode(&bytes[..cut]).is_err(),
                    "{logged:?} cut {cut}"
                );
            }
        }
    }

    #[test]
    fn acl_entries_are_refused_rather_than_dropped() {
        let mut mkdir = hadoop_ops()[1].encode();
        let acl_at = mkdir.len() - 5;
        mkdir[acl_at..acl_at + 4].copy_from_slice(&1i32.to_be_bytes());
        assert_eq!(
            LoggedOp::decode(&mkdir).unwrap_err().to_string(),
            "OP_MKDIR: carries ACL entries, which this NameNode does not keep"
        );
    }
}

//! A reply body ([`Response`]) and the whole frames a client reads: replies and watch
//! notifications.

use super::*;
use crate::coord::Code;

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

//! A bare ZooKeeper protocol client over a blocking socket, for tests that need to see the
//! exact frames (ordering, error codes, connection closes).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use hdfs_ha::coord::jute::{
    self, ConnectRequest, ConnectResponse, Jute, ReplyHeader, Request, RequestHeader, Response,
    WatcherEvent,
};

pub struct Raw {
    pub stream: TcpStream,
    next_xid: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub timeout: i32,
}

/// A frame from the server after the handshake.
#[derive(Debug)]
pub enum Frame {
    Reply { header: ReplyHeader, body: Vec<u8> },
    Event(WatcherEvent),
}

pub fn read_frame(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let len = i32::from_be_bytes(len) as usize;
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body)?;
    Ok(body)
}

/// Whether the server closed the connection (EOF) within the timeout.
pub fn closed_by_server(stream: &mut TcpStream) -> bool {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

impl Raw {
    pub fn connect(
        addr: &str,
        session_id: i64,
        passwd: Vec<u8>,
        timeout: i32,
    ) -> (Raw, ConnectResponse) {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout,
            session_id,
            passwd,
            read_only: Some(false),
        };
        stream
            .write_all(&jute::frame(|o| req.write(o)))
            .expect("send connect");
        let body = read_frame(&mut stream).expect("connect response");
        let resp = ConnectResponse::from_bytes(&body, usize::MAX).expect("decode connect response");
        (
            Raw {
                stream,
                next_xid: 1,
                session_id: resp.session_id,
                passwd: resp.passwd.clone(),
                timeout: resp.timeout,
            },
            resp,
        )
    }

    pub fn new_session(addr: &str, timeout: i32) -> Raw {
        Raw::connect(addr, 0, vec![0; 16], timeout).0
    }

    /// Sends a request; returns its xid.
    pub fn send(&mut self, req: &Request) -> i32 {
        let xid = match req {
            Request::Ping => -2,
            Request::Auth(_) => -4,
            Request::SetWatches(_) => -8,
            _ => {
                let x = self.next_xid;
                self.next_xid += 1;
                x
            }
        };
        let mut body = Vec::new();
        let op = req.encode(&mut body);
        let frame = jute::frame(|o| {
            RequestHeader { xid, op }.write(o);
            o.extend_from_slice(&body);
        });
        self.stream.write_all(&frame).expect("send");
        xid
    }

    pub fn recv(&mut self) -> Frame {
        let body = read_frame(&mut self.stream).expect("frame");
        let mut r = jute::Reader::new(&body, usize::MAX);
        let header = ReplyHeader::read(&mut r).expect("reply header");
        let rest = body[r.position()..].to_vec();
        if header.xid == -1 {
            Frame::Event(WatcherEvent::from_bytes(&rest, usize::MAX).expect("event"))
        } else {
            Frame::Reply { header, body: rest }
        }
    }

    /// Sends `req` and returns (err, response) for its reply, failing on any event first.
    pub fn call(&mut self, req: &Request) -> (i32, Option<Response>) {
        let mut body = Vec::new();
        let op = req.encode(&mut body);
        let xid = self.send(req);
        match self.recv() {
            Frame::Reply { header, body } => reply_to(op, xid, &header, &body),
            Frame::Event(e) => panic!("unexpected event {e:?} waiting for {req:?}"),
        }
    }
}

/// The (err, decoded body) of the reply to request `xid` of `op`.
fn reply_to(op: i32, xid: i32, header: &ReplyHeader, body: &[u8]) -> (i32, Option<Response>) {
    assert_eq!(header.xid, xid, "replies in order");
    let resp =
        (header.err == 0).then(|| Response::decode(op, body, usize::MAX).expect("decode response"));
    (header.err, resp)
}

pub fn create(path: &str, data: &[u8], flags: i32) -> Request {
    Request::Create {
        op: jute::op::CREATE,
        path: path.into(),
        data: Some(data.to_vec()),
        acl: hdfs_ha::coord::tree::open_acl_unsafe(),
        flags,
        ttl: -1,
    }
}

pub fn get_data(path: &str, watch: bool) -> Request {
    Request::GetData {
        path: path.into(),
        watch,
    }
}

pub fn set_data(path: &str, data: &[u8]) -> Request {
    Request::SetData {
        path: path.into(),
        data: Some(data.to_vec()),
        version: -1,
    }
}

impl Raw {
    /// Like [`Raw::call`], but `None` when the server closed the connection instead of
    /// answering (as after failed credentials).
    pub fn call_or_closed(&mut self, req: &Request) -> Option<(i32, Option<Response>)> {
        let mut body = Vec::new();
        let op = req.encode(&mut body);
        let xid = self.send(req);
        let reply = read_frame(&mut self.stream).ok()?;
        let mut r = jute::Reader::new(&reply, usize::MAX);
        let header = ReplyHeader::read(&mut r).expect("reply header");
        let answer = reply_to(op, xid, &header, &reply[r.position()..]);
        if header.err == -115 {
            // AuthFailed: the server closes the connection right after.
            assert!(closed_by_server(&mut self.stream), "open after AuthFailed");
        }
        Some(answer)
    }

    /// Like [`Raw::call`] but an I/O failure (the server died) is an `Err`, not a panic.
    pub fn try_call(&mut self, req: &Request) -> std::io::Result<i32> {
        let xid = self.next_xid;
        self.next_xid += 1;
        let mut body = Vec::new();
        let op = req.encode(&mut body);
        let frame = jute::frame(|o| {
            RequestHeader { xid, op }.write(o);
            o.extend_from_slice(&body);
        });
        self.stream.write_all(&frame)?;
        loop {
            let body = read_frame(&mut self.stream)?;
            let mut r = jute::Reader::new(&body, usize::MAX);
            let header = ReplyHeader::read(&mut r)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            if header.xid == xid {
                return Ok(header.err);
            }
        }
    }
}

impl Raw {
    /// Like [`Raw::call`], but watch events that arrive before the reply are collected.
    pub fn call_collecting(&mut self, req: &Request, events: &mut Vec<WatcherEvent>) -> i32 {
        let xid = self.send(req);
        loop {
            match self.recv() {
                Frame::Reply { header, .. } => {
                    assert_eq!(header.xid, xid, "replies in order");
                    return header.err;
                }
                Frame::Event(e) => events.push(e),
            }
        }
    }
}

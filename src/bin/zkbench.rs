//! `zkbench`: a load generator speaking the ZooKeeper protocol (our jute codec over plain
//! sockets), for any ZooKeeper-compatible server.
//!
//! ```text
//! zkbench -server host:port -op create|set|get|mixed|fill [-sessions N] [-outstanding M]
//!         [-requests T] [-size BYTES] [-keys K] [-threads W]
//! ```
//!
//! N sessions each keep M requests in flight until T requests completed; it prints one line
//! of `key=value` results (throughput and latency percentiles). `mixed` is 80% getData and
//! 20% setData on K keys; `fill` creates T znodes and is meant for memory measurements.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use hdfs_ha::coord::jute::{
    self, ConnectRequest, ConnectResponse, Jute, ReplyHeader, Request, RequestHeader,
};
use hdfs_ha::coord::tree::open_acl_unsafe;
use hdfs_ha::seeded::SeededRng;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, Semaphore};

#[derive(Debug, Clone)]
struct Args {
    server: String,
    op: String,
    sessions: usize,
    outstanding: usize,
    requests: u64,
    size: usize,
    keys: u64,
    threads: usize,
    /// Distinguishes the znodes of this run from earlier runs' (create, fill).
    run: u64,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        server: "127.0.0.1:2181".into(),
        op: "get".into(),
        sessions: 8,
        outstanding: 50,
        requests: 100_000,
        size: 100,
        keys: 1000,
        threads: 1,
        run: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let v = argv
            .get(i + 1)
            .ok_or(format!("{} needs a value", argv[i]))?;
        let num = || {
            v.parse::<u64>()
                .map_err(|_| format!("{}: not a number: {v}", argv[i]))
        };
        match argv[i].as_str() {
            "-server" => a.server = v.clone(),
            "-op" => a.op = v.clone(),
            "-sessions" => a.sessions = num()? as usize,
            "-outstanding" => a.outstanding = num()? as usize,
            "-requests" => a.requests = num()?,
            "-size" => a.size = num()? as usize,
            "-keys" => a.keys = num()?,
            "-threads" => a.threads = num()? as usize,
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    if !["create", "set", "get", "mixed", "fill"].contains(&a.op.as_str()) {
        return Err(format!("unknown -op {}", a.op));
    }
    Ok(a)
}

struct Session {
    reader: tokio::net::tcp::OwnedReadHalf,
    writer: BufWriter<tokio::net::tcp::OwnedWriteHalf>,
}

async fn read_frame(r: &mut tokio::net::tcp::OwnedReadHalf) -> std::io::Result<Vec<u8>> {
    let len = r.read_i32().await?;
    let mut body = vec![0u8; len.max(0) as usize];
    r.read_exact(&mut body).await?;
    Ok(body)
}

async fn connect(server: &str) -> std::io::Result<Session> {
    let stream = TcpStream::connect(server).await?;
    stream.set_nodelay(true)?;
    let (mut reader, writer) = stream.into_split();
    let mut writer = BufWriter::new(writer);
    let req = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout: 30_000,
        session_id: 0,
        passwd: vec![0; 16],
        read_only: Some(false),
    };
    writer.write_all(&jute::frame(|o| req.write(o))).await?;
    writer.flush().await?;
    let body = read_frame(&mut reader).await?;
    let resp = ConnectResponse::from_bytes(&body, usize::MAX)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    if resp.timeout <= 0 {
        return Err(std::io::Error::other("session refused"));
    }
    Ok(Session { reader, writer })
}

fn encode(xid: i32, req: &Request) -> Vec<u8> {
    let mut body = Vec::new();
    let op = req.encode(&mut body);
    jute::frame(|o| {
        RequestHeader { xid, op }.write(o);
        o.extend_from_slice(&body);
    })
}

fn request_for(
    args: &Args,
    session: usize,
    n: u64,
    rng: &mut SeededRng,
    payload: &[u8],
) -> Request {
    let key = |rng: &mut SeededRng| format!("/bench/k{}", rng.below(args.keys));
    match args.op.as_str() {
        "create" | "fill" => Request::Create {
            op: jute::op::CREATE,
            path: format!("/bench/{}-s{session}-{n}", args.run),
            data: Some(payload.to_vec()),
            acl: open_acl_unsafe(),
            flags: 0,
            ttl: -1,
        },
        "set" => Request::SetData {
            path: key(rng),
            data: Some(payload.to_vec()),
            version: -1,
        },
        "get" => Request::GetData {
            path: key(rng),
            watch: false,
        },
        _ => {
            if rng.below(100) < 80 {
                Request::GetData {
                    path: key(rng),
                    watch: false,
                }
            } else {
                Request::SetData {
                    path: key(rng),
                    data: Some(payload.to_vec()),
                    version: -1,
                }
            }
        }
    }
}

/// Runs one session's share; returns its latencies in microseconds.
async fn drive(
    args: Arc<Args>,
    session: usize,
    issued: Arc<AtomicU64>,
    payload: Arc<Vec<u8>>,
) -> std::io::Result<Vec<u32>> {
    let Session { mut reader, writer } = connect(&args.server).await?;
    let inflight = Arc::new(Semaphore::new(args.outstanding));
    let sent_at: Arc<Mutex<VecDeque<Instant>>> = Arc::new(Mutex::new(VecDeque::new()));
    let writer_task = {
        let args = args.clone();
        let inflight = inflight.clone();
        let sent_at = sent_at.clone();
        let issued = issued.clone();
        tokio::spawn(async move {
            let mut writer = writer;
            let mut rng = SeededRng::new(session as u64 + 1);
            let mut xid = 1;
            let mut mine = 0u64;
            loop {
                let permit = inflight.acquire().await.expect("semaphore");
                permit.forget();
                if issued.fetch_add(1, Ordering::Relaxed) >= args.requests {
                    break;
                }
                let req = request_for(&args, session, mine, &mut rng, &payload);
                mine += 1;
                let frame = encode(xid, &req);
                xid += 1;
                sent_at.lock().await.push_back(Instant::now());
                writer.write_all(&frame).await?;
                if inflight.available_permits() == 0 {
                    writer.flush().await?;
                }
            }
            // A ping last: its reply (FIFO) tells the reader every request was answered.
            writer.write_all(&encode(-2, &Request::Ping)).await?;
            writer.flush().await?;
            // Hand the socket back: dropping it would half-close the connection, and a server
            // closes a connection whose client stopped sending before answering the rest.
            Ok::<_, std::io::Error>(writer)
        })
    };
    let mut latencies = Vec::new();
    loop {
        let body = read_frame(&mut reader).await?;
        let header = ReplyHeader::read(&mut jute::Reader::new(&body, usize::MAX))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        if header.xid == -2 {
            break;
        }
        if header.xid < 0 {
            continue;
        }
        if header.err != 0 {
            return Err(std::io::Error::other(format!(
                "request failed with error {}",
                header.err
            )));
        }
        let at = sent_at.lock().await.pop_front().expect("a sent request");
        latencies.push(at.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
        inflight.add_permits(1);
    }
    let writer = writer_task
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    drop(writer);
    Ok(latencies)
}

async fn prepare(args: &Args, payload: &[u8]) -> std::io::Result<()> {
    let Session {
        mut reader,
        mut writer,
    } = connect(&args.server).await?;
    let mut reqs = vec![Request::Create {
        op: jute::op::CREATE,
        path: "/bench".into(),
        data: Some(Vec::new()),
        acl: open_acl_unsafe(),
        flags: 0,
        ttl: -1,
    }];
    if matches!(args.op.as_str(), "set" | "get" | "mixed") {
        for k in 0..args.keys {
            reqs.push(Request::Create {
                op: jute::op::CREATE,
                path: format!("/bench/k{k}"),
                data: Some(payload.to_vec()),
                acl: open_acl_unsafe(),
                flags: 0,
                ttl: -1,
            });
        }
    }
    for chunk in reqs.chunks(500) {
        for (i, req) in chunk.iter().enumerate() {
            writer.write_all(&encode(i as i32 + 1, req)).await?;
        }
        writer.flush().await?;
        for _ in chunk {
            let body = read_frame(&mut reader).await?;
            let header = ReplyHeader::read(&mut jute::Reader::new(&body, usize::MAX))
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            // -110: already there from an earlier run.
            if header.err != 0 && header.err != -110 {
                return Err(std::io::Error::other(format!(
                    "prepare failed: {}",
                    header.err
                )));
            }
        }
    }
    Ok(())
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[idx]) / 1000.0
}

fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("zkbench: {e}");
            eprintln!(
                "Usage: zkbench -server host:port -op create|set|get|mixed|fill [-sessions N] [-outstanding M] [-requests T] [-size BYTES] [-keys K] [-threads W]"
            );
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
        .expect("runtime");
    let code = runtime.block_on(async {
        let payload = Arc::new(vec![b'x'; args.size]);
        if let Err(e) = prepare(&args, &payload).await {
            eprintln!("zkbench: {e}");
            return 1;
        }
        let args = Arc::new(args);
        let issued = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let tasks: Vec<_> = (0..args.sessions)
            .map(|s| tokio::spawn(drive(args.clone(), s, issued.clone(), payload.clone())))
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            match t.await {
                Ok(Ok(l)) => all.extend(l),
                Ok(Err(e)) => {
                    eprintln!("zkbench: session failed: {e}");
                    return 1;
                }
                Err(e) => {
                    eprintln!("zkbench: {e}");
                    return 1;
                }
            }
        }
        let secs = started.elapsed().as_secs_f64();
        all.sort_unstable();
        println!(
            "op={} sessions={} outstanding={} requests={} size={} seconds={:.2} ops_per_sec={:.0} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
            args.op,
            args.sessions,
            args.outstanding,
            all.len(),
            args.size,
            secs,
            all.len() as f64 / secs,
            percentile(&all, 0.50),
            percentile(&all, 0.99),
            percentile(&all, 1.0),
        );
        0
    });
    std::process::exit(code);
}

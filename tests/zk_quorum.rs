//! A three-server `zkserver` quorum on 127.0.0.1/.2/.3, driven by the `zookeeper-client`
//! crate: the servers elect a leader, a write through a follower is read on the others, the
//! leader is killed with -9 under a write load and every acknowledged write is on the new
//! leader and its follower, and the old leader rejoins as a follower with everything.

mod common;
#[path = "zk/raw.rs"]
mod raw;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::zookeeper::{ELECTION_DEADLINE, Ensemble};
use zookeeper_client as zk;

/// Garbage on a peer port: a length over every limit, a frame that is no record, bytes cut
/// short, an election hello claiming an unknown id. Each connection must just be dropped.
fn send_hostile_bytes(host: &str, port: u16) {
    let junk: [&[u8]; 5] = [
        &[0x7f, 0xff, 0xff, 0xff],
        &[0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8],
        &[0, 0, 0, 40, 0xff, 0xff],
        &[0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef],
        b"GET / HTTP/1.1\r\n\r\n",
    ];
    for bytes in junk {
        if let Ok(mut s) = TcpStream::connect((host, port)) {
            let _ = s.write_all(bytes);
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn client(address: &str) -> zk::Client {
    tokio::time::timeout(
        ELECTION_DEADLINE,
        zk::Client::connector()
            .with_session_timeout(Duration::from_secs(10))
            .connect(address),
    )
    .await
    .unwrap_or_else(|_| panic!("no session with {address} within {ELECTION_DEADLINE:?}"))
    .unwrap_or_else(|e| panic!("cannot connect to {address}: {e}"))
}

/// Waits until `path` holds `want` as `address` serves it (a server catches up by itself;
/// reads are not linearizable, so a read right after another server's write may be stale).
/// Waits until at least `n` writes of a load are acknowledged.
fn wait_for_acks(acked: &Mutex<BTreeSet<String>>, n: usize) {
    let start = Instant::now();
    while acked.lock().unwrap().len() < n {
        assert!(
            start.elapsed() < ELECTION_DEADLINE,
            "only {} writes acknowledged",
            acked.lock().unwrap().len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn wait_for_data(address: &str, path: &str, want: &[u8]) {
    let c = client(address).await;
    let start = Instant::now();
    loop {
        match c.get_data(path).await {
            Ok((data, _)) if data == want => return,
            other => assert!(
                start.elapsed() < ELECTION_DEADLINE,
                "{address}: {path} is {other:?}, not {want:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every name in `want` is a child of `path` on `address` (after a sync through the leader).
async fn assert_children(address: &str, path: &str, want: &BTreeSet<String>) {
    let c = client(address).await;
    c.sync(path).await.expect("sync");
    let have: BTreeSet<String> = c
        .list_children(path)
        .await
        .expect("list")
        .into_iter()
        .collect();
    let missing: Vec<&String> = want.difference(&have).collect();
    assert!(
        missing.is_empty(),
        "{address}: acknowledged writes missing under {path}: {missing:?}"
    );
}

#[test]
fn three_servers_elect_replicate_survive_a_killed_leader_and_take_it_back() {
    let mut ensemble = Ensemble::start(3, 0, "snapCount=40\n");
    let all = [0, 1, 2];
    let leader = ensemble.wait_for_leader(&all);
    // Hostile bytes on the peer ports of the leader and a follower change nothing.
    for i in [leader, (leader + 1) % 3] {
        let host = &ensemble.members[i].host;
        let (quorum, election) = ensemble.peer_ports[i];
        send_hostile_bytes(host, quorum);
        send_hostile_bytes(host, election);
    }
    assert_eq!(ensemble.wait_for_leader(&all), leader);
    let follower = (leader + 1) % 3;
    let other = (leader + 2) % 3;
    let addresses = ensemble.client_addresses();
    let address = |i: usize| addresses[i].clone();
    let persistent = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let rt = runtime();

    // A write through a follower is forwarded, committed, and read everywhere.
    rt.block_on(async {
        let c = client(&address(follower)).await;
        c.create("/q", b"v0", &persistent).await.expect("create /q");
        let (data, _) = c.get_data("/q").await.expect("read own write");
        assert_eq!(data, b"v0");
        c.create("/load", b"", &persistent)
            .await
            .expect("create /load");
        for i in all {
            wait_for_data(&address(i), "/q", b"v0").await;
        }
    });

    // A writer through the surviving follower keeps writing while the leader is killed;
    // every write it saw acknowledged must survive.
    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let acked = acked.clone();
        let stop = stop.clone();
        let target = address(follower);
        let persistent = persistent.clone();
        rt.spawn(async move {
            let c = client(&target).await;
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let name = format!("n-{i:06}");
                i += 1;
                let path = format!("/load/{name}");
                let write = c.create(&path, b"", &persistent);
                if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(5), write).await {
                    acked.lock().unwrap().insert(name);
                }
            }
        })
    };
    let wait_acks = |n: usize| wait_for_acks(&acked, n);
    wait_acks(20);
    ensemble.members[leader].kill9();
    let new_leader = ensemble.wait_for_leader(&[follower, other]);
    // The writer goes on in the new epoch.
    let before = acked.lock().unwrap().len();
    wait_acks(before + 20);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    rt.block_on(writer).expect("writer");
    let acked = acked.lock().unwrap().clone();
    rt.block_on(async {
        for i in [follower, other] {
            assert_children(&address(i), "/load", &acked).await;
        }
        let c = client(&address(new_leader)).await;
        c.set_data("/q", b"v1", None)
            .await
            .expect("write in the new epoch");
    });

    // The old leader restarts, rejoins as a follower, and catches up on everything.
    ensemble.members[leader].launch();
    let settled = ensemble.wait_for_leader(&all);
    assert_eq!(settled, new_leader, "a rejoining server does not take over");
    rt.block_on(async {
        wait_for_data(&address(leader), "/q", b"v1").await;
        assert_children(&address(leader), "/load", &acked).await;
    });
}

#[test]
fn a_follower_past_the_diff_window_gets_a_snapshot_and_an_observer_serves() {
    let mut ensemble = Ensemble::start(3, 1, "commitLogCount=20\n");
    let voters = [0, 1, 2];
    let observer = 3;
    let leader = ensemble.wait_for_leader(&voters);
    assert_eq!(
        ensemble.members[observer].mode().as_deref(),
        Some("observer")
    );
    let behind = (leader + 1) % 3;
    ensemble.members[behind].kill9();
    let addresses = ensemble.client_addresses();
    let persistent = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let rt = runtime();
    // Writes through the observer (forwarded, committed by the two voters left), far more
    // than the leader keeps for a DIFF, and more znodes than the leader puts in its SNAP at
    // one turn of its core loop.
    let mut names: BTreeSet<String> = (0..5000).map(|i| format!("n-{i:04}")).collect();
    rt.block_on(async {
        let c = client(&addresses[observer]).await;
        c.create("/snap", b"", &persistent)
            .await
            .expect("create /snap");
        let names: Vec<&String> = names.iter().collect();
        for batch in names.chunks(250) {
            let writes = batch.iter().map(|n| {
                let c = c.clone();
                let path = format!("/snap/{n}");
                let persistent = persistent.clone();
                async move { c.create(&path, b"", &persistent).await.map(|_| ()) }
            });
            for r in futures_util::future::join_all(writes).await {
                r.expect("acknowledged");
            }
        }
    });
    // The lagging follower comes back while writes go on: the leader syncs it with its
    // state, not a diff, built between the batches of those writes.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = rt.spawn({
        let (address, stop, persistent) = (
            addresses[observer].clone(),
            stop.clone(),
            persistent.clone(),
        );
        async move {
            let c = client(&address).await;
            let mut acked = Vec::new();
            while !stop.load(Ordering::Acquire) {
                let name = format!("late-{}", acked.len());
                c.create(&format!("/snap/{name}"), b"", &persistent)
                    .await
                    .expect("acknowledged");
                acked.push(name);
            }
            acked
        }
    });
    let skip = ensemble.members[leader].log().len();
    ensemble.members[behind].launch();
    assert_eq!(ensemble.wait_for_leader(&voters), leader);
    let behind_id = behind + 1;
    ensemble.members[leader].wait_for_log(
        &format!("Synchronizing with learner {behind_id}: SNAP"),
        skip,
        ELECTION_DEADLINE,
    );
    stop.store(true, Ordering::Release);
    names.extend(rt.block_on(writer).expect("writer"));
    rt.block_on(async {
        assert_children(&addresses[observer], "/snap", &names).await;
        assert_children(&addresses[behind], "/snap", &names).await;
    });
    // And after a restart it recovers from the snapshot it installed.
    ensemble.members[behind].kill9();
    ensemble.members[behind].launch();
    assert_eq!(ensemble.wait_for_leader(&voters), leader);
    rt.block_on(async {
        assert_children(&addresses[behind], "/snap", &names).await;
    });
}

#[test]
fn a_session_on_a_follower_lives_while_it_pings_and_its_ephemeral_goes_when_it_expires() {
    let ensemble = Ensemble::start(3, 0, "");
    let all = [0, 1, 2];
    let leader = ensemble.wait_for_leader(&all);
    let follower = (leader + 1) % 3;
    let addresses = ensemble.client_addresses();
    // A bare client (it never sends closeSession) with a 2 s session on a follower.
    let mut c = raw::Raw::new_session(&addresses[follower], 2_000);
    assert_eq!(c.timeout, 2_000);
    assert_eq!(c.call(&raw::create("/eph", b"", 1)).0, 0);
    // Only the leader expires sessions, from the touches the follower reports: pinging the
    // follower for twice the timeout keeps the session and its ephemeral.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(4_000) {
        assert_eq!(c.call(&hdfs_ha::coord::jute::Request::Ping).0, 0);
        std::thread::sleep(Duration::from_millis(300));
    }
    let rt = runtime();
    rt.block_on(async {
        let l = client(&addresses[leader]).await;
        assert!(
            l.check_stat("/eph").await.expect("stat").is_some(),
            "expired while pinging"
        );
    });
    // Silence: the leader expires the session and the ephemeral goes everywhere.
    drop(c);
    rt.block_on(async {
        for address in &addresses {
            let z = client(address).await;
            let start = Instant::now();
            while z.check_stat("/eph").await.expect("stat").is_some() {
                assert!(
                    start.elapsed() < ELECTION_DEADLINE,
                    "{address}: /eph outlived its session"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
}

#[test]
fn acknowledged_writes_survive_three_leader_kills_in_a_row() {
    let mut ensemble = Ensemble::start(3, 0, "snapCount=30\n");
    let all = [0, 1, 2];
    let mut leader = ensemble.wait_for_leader(&all);
    let addresses = ensemble.client_addresses();
    let persistent = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let rt = runtime();
    rt.block_on(async {
        let c = client(&addresses[leader]).await;
        c.create("/kills", b"", &persistent)
            .await
            .expect("create /kills");
    });
    // One writer per server, each through its own server only: writes through the leader
    // and through followers are all in flight when the leader dies.
    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = addresses
        .iter()
        .enumerate()
        .map(|(w, target)| {
            let acked = acked.clone();
            let stop = stop.clone();
            let target = target.clone();
            let persistent = persistent.clone();
            rt.spawn(async move {
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    // A server being restarted refuses sessions for a while: try again.
                    let connect = zk::Client::connector()
                        .with_session_timeout(Duration::from_secs(10))
                        .connect(&target);
                    let Ok(Ok(c)) = tokio::time::timeout(Duration::from_secs(5), connect).await
                    else {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        let name = format!("w{w}-{i:06}");
                        i += 1;
                        let path = format!("/kills/{name}");
                        let write = c.create(&path, b"", &persistent);
                        match tokio::time::timeout(Duration::from_secs(5), write).await {
                            Ok(Ok(_)) => {
                                acked.lock().unwrap().insert(name);
                            }
                            // The session or its server is gone: start over.
                            _ => break,
                        }
                    }
                }
            })
        })
        .collect();
    let wait_acks = |n: usize| wait_for_acks(&acked, n);
    for round in 0..3 {
        let so_far = acked.lock().unwrap().len();
        wait_acks(so_far + 30);
        ensemble.members[leader].kill9();
        let survivors: Vec<usize> = all.iter().copied().filter(|i| *i != leader).collect();
        let next = ensemble.wait_for_leader(&survivors);
        let so_far = acked.lock().unwrap().len();
        wait_acks(so_far + 10);
        ensemble.members[leader].launch();
        assert_eq!(ensemble.wait_for_leader(&all), next, "round {round}");
        leader = next;
    }
    let so_far = acked.lock().unwrap().len();
    wait_acks(so_far + 10);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in writers {
        rt.block_on(w).expect("writer");
    }
    let acked = acked.lock().unwrap().clone();
    rt.block_on(async {
        for address in &addresses {
            assert_children(address, "/kills", &acked).await;
        }
    });
    // Every server snapshotted while serving (snapCount=30), not only at zxid 0; the
    // restarts above loaded those snapshots and the logs after them.
    for (i, m) in ensemble.members.iter().enumerate() {
        let served: Vec<String> = std::fs::read_dir(m.data_dir().join("version-2"))
            .expect("version-2")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("snapshot.") && n != "snapshot.0")
            .collect();
        assert!(!served.is_empty(), "server.{} took no snapshot", i + 1);
    }
}

#[test]
fn a_paused_leader_is_replaced_and_on_waking_follows_without_acknowledging_alone() {
    let ensemble = Ensemble::start(3, 0, "");
    let all = [0, 1, 2];
    let old = ensemble.wait_for_leader(&all);
    let addresses = ensemble.client_addresses();
    let persistent = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let rt = runtime();
    let on_old = rt.block_on(async {
        let c = client(&addresses[old]).await;
        c.create("/p", b"before", &persistent)
            .await
            .expect("create /p");
        c
    });
    // SIGSTOP: the followers hear nothing for syncLimit ticks and elect a new leader.
    ensemble.members[old].signal("STOP");
    let others: Vec<usize> = all.iter().copied().filter(|i| *i != old).collect();
    let new = ensemble.wait_for_leader(&others);
    rt.block_on(async {
        let c = client(&addresses[new]).await;
        c.set_data("/p", b"after", None)
            .await
            .expect("write in the new epoch");
    });
    // The old leader wakes up with a client that still talks to it: a write there cannot be
    // acknowledged by the old leader alone. It either fails or, retried through the new
    // epoch, is ordered after "after" — never "acknowledged and lost".
    ensemble.members[old].signal("CONT");
    let stale = rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(5),
            on_old.set_data("/p", b"stale", None),
        )
        .await
    });
    assert_eq!(
        ensemble.wait_for_leader(&all),
        new,
        "the woken leader follows"
    );
    rt.block_on(async {
        let want: &[u8] = if matches!(stale, Ok(Ok(_))) {
            b"stale"
        } else {
            b"after"
        };
        for address in &addresses {
            wait_for_data(address, "/p", want).await;
        }
    });
}

//! Durability of the real `zkserver`: restarts, kill -9 under a write load (every
//! acknowledged write survives), a torn log tail, snapshots and autopurge.

mod common;
#[path = "zk/raw.rs"]
mod raw;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::wait_until;
use common::zookeeper::{TEST_TIMING, ZkServer, ZkServerKind};
use hdfs_ha::coord::jute::{Request, Response};
use hdfs_ha::seeded::{self, SeededRng};
use raw::{Raw, create, get_data, set_data};

fn files(dir: &std::path::Path, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn restart_keeps_data_stats_and_live_sessions() {
    let mut server = ZkServer::ours("");
    let addr = server.addr();
    let mut c = Raw::new_session(&addr, 20_000);
    assert_eq!(c.call(&create("/keep", b"one", 0)).0, 0);
    assert_eq!(c.call(&create("/keep/seq-", b"", 2)).0, 0);
    assert_eq!(c.call(&set_data("/keep", b"two")).0, 0);
    assert_eq!(c.call(&create("/mine", b"", 1)).0, 0);
    let before = match c.call(&get_data("/keep", false)) {
        (0, Some(Response::GetData(g))) => g,
        other => panic!("{other:?}"),
    };
    let (sid, passwd) = (c.session_id, c.passwd.clone());
    // A clean stop (SIGTERM) exits 0.
    assert_eq!(server.terminate(), Some(0));
    server.launch();
    let addr = server.addr();
    let mut c2 = Raw::new_session(&addr, 20_000);
    match c2.call(&get_data("/keep", false)) {
        (0, Some(Response::GetData(g))) => assert_eq!(g, before),
        other => panic!("{other:?}"),
    }
    // The session survived the restart: it can resume and still owns its ephemeral.
    let (mut resumed, resp) = Raw::connect(&addr, sid, passwd, 20_000);
    assert_eq!(resp.session_id, sid);
    match resumed.call(&Request::GetEphemerals { prefix: "/".into() }) {
        (0, Some(Response::Paths(p))) => assert_eq!(p, ["/mine"]),
        other => panic!("{other:?}"),
    }
    // The sequence counter continued.
    assert_eq!(c2.call(&create("/keep/seq-", b"", 2)).0, 0);
    match c2.call(&Request::GetChildren {
        path: "/keep".into(),
        watch: false,
        with_stat: false,
    }) {
        (0, Some(Response::GetChildren(g))) => {
            assert_eq!(g.children, ["seq-0000000000", "seq-0000000001"])
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn kill_9_under_a_write_load_loses_no_acknowledged_write() {
    // Small snapshots and preallocation so rolls and snapshots happen under the load.
    let mut server = ZkServer::ours("snapCount=50\npreAllocSize=16\n");
    let addr = server.addr();
    let mut setup = Raw::new_session(&addr, 20_000);
    assert_eq!(setup.call(&create("/load", b"", 0)).0, 0);
    let acked: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let addr = addr.clone();
            let acked = acked.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut c = Raw::new_session(&addr, 20_000);
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let path = format!("/load/w{w}-{n}");
                    match c.try_call(&create(&path, path.as_bytes(), 0)) {
                        Ok(0) => acked.lock().unwrap().push(path),
                        Ok(err) => panic!("create {path}: {err}"),
                        Err(_) => return,
                    }
                    n += 1;
                }
            })
        })
        .collect();
    wait_until("1000 acknowledged writes", Duration::from_secs(60), || {
        (acked.lock().unwrap().len() >= 1000).then_some(())
    });
    server.kill9();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let log_dir = server.data_dir().join("version-2");
    assert!(
        files(&log_dir, "snapshot.").len() >= 3,
        "snapshots were taken under load"
    );
    assert!(
        files(&log_dir, "log.").len() >= 3,
        "the log rolled under load"
    );
    server.launch();
    let mut check = Raw::new_session(&server.addr(), 20_000);
    let started = Instant::now();
    for path in &acked {
        match check.call(&get_data(path, false)) {
            (0, Some(Response::GetData(g))) => assert_eq!(g.data.as_deref(), Some(path.as_bytes())),
            other => panic!("acknowledged {path} lost after kill -9: {other:?}"),
        }
    }
    println!(
        "{} acknowledged writes verified in {:?}",
        acked.len(),
        started.elapsed()
    );
}

#[test]
fn a_torn_log_tail_is_truncated_at_restart() {
    let mut server = ZkServer::ours("");
    let mut c = Raw::new_session(&server.addr(), 20_000);
    for i in 0..10 {
        assert_eq!(c.call(&create(&format!("/t{i}"), b"x", 0)).0, 0);
    }
    server.kill9();
    // A half-written record at the end of the newest log, as a crash mid-write leaves it.
    let dir = server.data_dir().join("version-2");
    let newest = files(&dir, "log.").pop().expect("a log");
    let path = dir.join(&newest);
    let bytes = std::fs::read(&path).unwrap();
    let end = bytes.iter().rposition(|b| *b != 0).expect("records") + 1;
    let mut torn = bytes[..end].to_vec();
    torn.extend_from_slice(&[0x12, 0x34, 0x56, 0x78, 0, 0, 0, 90, 0, 0, 0, 1, 0xab]);
    std::fs::write(&path, &torn).unwrap();
    server.launch();
    assert!(
        server.log().contains("Truncating torn tail"),
        "{}",
        server.log()
    );
    assert_eq!(std::fs::metadata(&path).unwrap().len(), end as u64);
    let mut c = Raw::new_session(&server.addr(), 20_000);
    for i in 0..10 {
        assert_eq!(c.call(&get_data(&format!("/t{i}"), false)).0, 0);
    }
    assert_eq!(c.call(&create("/after", b"", 0)).0, 0);
    server.kill9();
    server.launch();
    let mut c = Raw::new_session(&server.addr(), 20_000);
    assert_eq!(c.call(&get_data("/after", false)).0, 0);
}

#[test]
fn autopurge_keeps_the_newest_snapshots() {
    let mut server =
        ZkServer::ours("snapCount=10\nautopurge.purgeInterval=1\nautopurge.snapRetainCount=3\n");
    let mut c = Raw::new_session(&server.addr(), 20_000);
    for i in 0..150 {
        assert_eq!(c.call(&create(&format!("/p{i}"), b"", 0)).0, 0);
    }
    let dir = server.data_dir().join("version-2");
    wait_until("snapshots under load", Duration::from_secs(20), || {
        (files(&dir, "snapshot.").len() > 5).then_some(())
    });
    // The purge runs at startup and then every purgeInterval hours.
    server.kill9();
    server.launch();
    let snaps = wait_until("purge at startup", Duration::from_secs(20), || {
        let s = files(&dir, "snapshot.");
        (s.len() <= 4).then_some(s)
    });
    assert!(snaps.len() >= 3, "{snaps:?}");
    let mut c = Raw::new_session(&server.addr(), 20_000);
    for i in 0..150 {
        assert_eq!(c.call(&get_data(&format!("/p{i}"), false)).0, 0, "/p{i}");
    }
}

/// Unmounts the tmpfs a test mounted, even when the test fails.
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The disk fills up under a write load (a 2 MiB tmpfs): the server stops, exits with an
/// error, and every write it acknowledged is in the log it leaves.
#[test]
fn a_full_disk_stops_the_server_without_losing_an_acknowledged_write() {
    let mut server = ZkServer::prepare(
        ZkServerKind::Ours,
        "127.0.0.1",
        &format!("{TEST_TIMING}preAllocSize=64\nsnapCount=1000000\n"),
    );
    let data = server.data_dir();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&data)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        // Mounting needs root (CI has it); say so rather than pass silently.
        println!("SKIPPED: cannot mount a tmpfs here (not root?)");
        return;
    }
    let mount = Mount(data.clone());
    server.launch();
    let mut c = Raw::new_session(&server.addr(), 20_000);
    let mut acked = Vec::new();
    let value = vec![b'v'; 2000];
    for n in 0..5000 {
        let path = format!("/full-{n}");
        match c.try_call(&create(&path, &value, 0)) {
            Ok(0) => acked.push(path),
            Ok(err) => panic!("create {path}: {err}"),
            Err(_) => break,
        }
    }
    assert!(acked.len() < 5000, "the disk never filled");
    assert_eq!(server.wait_exit(Duration::from_secs(30)), Some(1));
    assert!(
        server.log().contains("Severe unrecoverable error"),
        "{}",
        server.log()
    );
    // Move what the server left to a roomy disk and start it there.
    let saved = server.dir.join("saved");
    copy_dir(&data, &saved);
    drop(mount);
    std::fs::remove_dir_all(&data).unwrap();
    copy_dir(&saved, &data);
    server.launch();
    let mut check = Raw::new_session(&server.addr(), 20_000);
    for path in &acked {
        assert_eq!(check.call(&get_data(path, false)).0, 0, "{path} lost");
    }
    println!(
        "{} acknowledged writes before the disk filled, all present",
        acked.len()
    );
}

/// Several rounds of: writers create nodes and bump counters, the server is killed -9 at a
/// seeded random moment, restarted; after each restart every acknowledged create is there
/// and every counter holds a value between its last acknowledged and its last attempted one.
#[test]
fn repeated_kill_9_rounds_keep_every_acknowledged_write() {
    let seed = seeded::seeds([0x5EED_1234])[0];
    seeded::announce(seed);
    let mut rng = SeededRng::new(seed);
    let mut rand = move |n: u64| rng.below(n);
    let mut server = ZkServer::ours("snapCount=40\npreAllocSize=8\n");
    let mut setup = Raw::new_session(&server.addr(), 20_000);
    for w in 0..3 {
        assert_eq!(setup.call(&create(&format!("/counter{w}"), b"0", 0)).0, 0);
    }
    drop(setup);
    // Per writer: created paths acknowledged; counter (last acknowledged, last attempted).
    let created: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let counters: Arc<Mutex<Vec<(u64, u64)>>> = Arc::new(Mutex::new(vec![(0, 0); 3]));
    for round in 0..3 {
        let addr = server.addr();
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..3)
            .map(|w| {
                let (addr, stop, created, counters) = (
                    addr.clone(),
                    stop.clone(),
                    created.clone(),
                    counters.clone(),
                );
                std::thread::spawn(move || {
                    let mut c = Raw::new_session(&addr, 20_000);
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let path = format!("/r{round}-w{w}-{n}");
                        match c.try_call(&create(&path, b"", 0)) {
                            Ok(0) => created.lock().unwrap().push(path),
                            Ok(err) => panic!("create: {err}"),
                            Err(_) => return,
                        }
                        let next = counters.lock().unwrap()[w].1 + 1;
                        counters.lock().unwrap()[w].1 = next;
                        let value = next.to_string();
                        match c.try_call(&set_data(&format!("/counter{w}"), value.as_bytes())) {
                            Ok(0) => counters.lock().unwrap()[w].0 = next,
                            Ok(err) => panic!("setData: {err}"),
                            Err(_) => return,
                        }
                        n += 1;
                    }
                })
            })
            .collect();
        // Kill at a seeded moment once some writes went through.
        let target = 50 + rand(300) as usize;
        let before = created.lock().unwrap().len();
        wait_until("writes before the kill", Duration::from_secs(60), || {
            (created.lock().unwrap().len() >= before + target).then_some(())
        });
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
        server.launch();
        let mut check = Raw::new_session(&server.addr(), 20_000);
        for path in created.lock().unwrap().iter() {
            assert_eq!(
                check.call(&get_data(path, false)).0,
                0,
                "round {round} seed {seed}: {path} lost"
            );
        }
        for (w, (acked, attempted)) in counters.lock().unwrap().iter().enumerate() {
            let value = match check.call(&get_data(&format!("/counter{w}"), false)) {
                (0, Some(Response::GetData(g))) => String::from_utf8(g.data.unwrap_or_default())
                    .unwrap()
                    .parse::<u64>()
                    .unwrap(),
                other => panic!("{other:?}"),
            };
            assert!(
                *acked <= value && value <= *attempted,
                "round {round} seed {seed}: counter{w} is {value}, acknowledged {acked}, attempted {attempted}"
            );
        }
    }
}

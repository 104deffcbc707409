//! Three JournalNodes and two NameNodes as real processes on loopback: format, bootstrap,
//! HA transitions through the RPC, tailing, failover under a write load, a restarted old
//! active, and two actives forced by hand.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::cluster::{
    DEADLINE, JournalNodes, NameNodes, create_request as create, format_and_start, listing,
    mkdirs_request, wait_txid,
};
use hdfs_ha::ipc::client::CallError;
use hdfs_ha::proto::hadoop_client as pb;
use hdfs_ha::zkfc::rpc::RequestSource;

fn mkdirs(src: &str) -> pb::MkdirsRequestProto {
    mkdirs_request(src)
}

fn moving() -> pb::Rename2RequestProto {
    pb::Rename2RequestProto {
        src: "/user/tester/moving".into(),
        dst: "/user/tester/moved".into(),
        overwrite_dest: false,
        move_to_trash: None,
    }
}

fn doomed() -> pb::DeleteRequestProto {
    pb::DeleteRequestProto {
        src: "/user/tester/doomed".into(),
        recursive: false,
    }
}

/// The exception a call failed with: (simple class name, message).
fn exception(err: &CallError) -> (&str, &str) {
    match err {
        CallError::Remote(failure) => (
            failure.exception.simple_class(),
            failure.exception.message.as_str(),
        ),
        CallError::Io { message, .. } => ("", message.as_str()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn format_bootstrap_transitions_and_tailing() {
    let jns = JournalNodes::start(true);
    let mut nns = NameNodes::configure(&jns, &[]);
    // Started unformatted, a NameNode refuses to run.
    let out = nns.namenode_cmd(0, &[], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NameNode is not formatted."));

    let out = nns.namenode_cmd(0, &["-format", "-nonInteractive"], "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Formatting using clusterid: CID-"));
    // Formatting again without -force is refused, in Hadoop's words.
    let out = nns.namenode_cmd(0, &["-format", "-nonInteractive"], "");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "Running in non-interactive mode, and data appears to exist in Storage Directory root="
        ),
        "{err}"
    );
    // Answering N at the prompt aborts too.
    let out = nns.namenode_cmd(0, &["-format"], "n\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Format aborted in Storage Directory root=")
    );

    nns.start(0);
    let out = nns.namenode_cmd(1, &["-bootstrapStandby", "-nonInteractive"], "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let banner = String::from_utf8_lossy(&out.stdout);
    assert!(
        banner.contains("About to bootstrap Standby ID nn2 from:")
            && banner.contains("Other Namenode ID: nn1"),
        "{banner}"
    );
    // Again, now that it has data: exit 5 without -force.
    let out = nns.namenode_cmd(1, &["-bootstrapStandby", "-nonInteractive"], "");
    assert_eq!(out.status.code(), Some(5));
    nns.start(1);

    assert_eq!(nns.state(0).await, "standby");
    assert_eq!(nns.state(1).await, "standby");
    // A standby refuses clients.
    let err = nns
        .client(0)
        .await
        .attempt(1, 0)
        .mkdirs(&mkdirs("/x"))
        .await
        .unwrap_err();
    assert_eq!(
        exception(&err),
        (
            "StandbyException",
            "Operation category WRITE is not supported in state standby. Visit https://s.apache.org/sbnn-error"
        )
    );

    nns.transition(0, true, RequestSource::User).await.unwrap();
    assert_eq!(nns.state(0).await, "active");
    let client = nns.client(0).await;
    assert!(
        client
            .attempt(1, 0)
            .mkdirs(&mkdirs("/user/tester/dir"))
            .await
            .unwrap()
            .result
    );
    client
        .attempt(2, 0)
        .create(&create("/user/tester/dir/f"))
        .await
        .unwrap();
    // Another client's call of the same id is another call.
    let err = nns
        .client_as(0, 2)
        .await
        .attempt(1, 0)
        .create(&create("/user/tester/dir/f"))
        .await
        .unwrap_err();
    assert_eq!(exception(&err).0, "FileAlreadyExistsException");
    assert_eq!(listing(&nns, 0, "/user/tester/dir").await, vec!["f"]);

    // A rename2 and a delete whose answers the client "lost": retried at the next active.
    client
        .attempt(3, 0)
        .mkdirs(&mkdirs("/user/tester/moving"))
        .await
        .unwrap();
    client.attempt(4, 0).rename2(&moving()).await.unwrap();
    client
        .attempt(5, 0)
        .mkdirs(&mkdirs("/user/tester/doomed"))
        .await
        .unwrap();
    assert!(client.attempt(6, 0).delete(&doomed()).await.unwrap().result);

    // The standby tails the edits.
    let written = nns.txid(0).await;
    wait_txid(&nns, 1, written).await;

    // Hand over: nn1 to standby, nn2 to active; nn2 has everything.
    nns.transition(0, false, RequestSource::User).await.unwrap();
    nns.transition(1, true, RequestSource::User).await.unwrap();
    assert_eq!(listing(&nns, 1, "/user/tester/dir").await, vec!["f"]);
    let err = nns
        .client(0)
        .await
        .get_listing(&pb::GetListingRequestProto {
            src: "/".into(),
            start_after: Vec::new(),
            need_location: false,
        })
        .await
        .unwrap_err();
    assert_eq!(
        exception(&err).1,
        "Operation category READ is not supported in state standby. Visit https://s.apache.org/sbnn-error"
    );
    // A create retried against the new active (same client and call id) is answered, not redone.
    let again = nns
        .client(1)
        .await
        .attempt(2, 1)
        .create(&create("/user/tester/dir/f"))
        .await
        .unwrap();
    assert_eq!(again.fs.unwrap().length, 0);
    // So are the rename2 and the delete (nn2 rebuilt its retry cache from the edits); the
    // same requests as new calls are refused.
    let nn2 = nns.client(1).await;
    nn2.attempt(4, 1)
        .rename2(&moving())
        .await
        .expect("answered from the retry cache, not 'rename source … is not found'");
    assert!(nn2.attempt(6, 1).delete(&doomed()).await.unwrap().result);
    let err = nn2.attempt(40, 0).rename2(&moving()).await.unwrap_err();
    assert_eq!(
        exception(&err),
        (
            "FileNotFoundException",
            "rename source /user/tester/moving is not found."
        )
    );
    assert!(!nn2.attempt(60, 0).delete(&doomed()).await.unwrap().result);

    // NamenodeProtocol's rollEditLog, as a standby's edit tailer asks the active: the active
    // starts a new segment, a standby refuses.
    let before = nns.txid(1).await;
    let started = nns.nn_protocol(1).await.roll_edit_log().await.unwrap();
    assert!(started > before, "rolled to {started} from {before}");
    assert_eq!(nns.txid(1).await, started);
    let err = nns.nn_protocol(0).await.roll_edit_log().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Operation category JOURNAL is not supported in state standby. Visit https://s.apache.org/sbnn-error"
    );

    // HTTP: /isActive for load balancers.
    let code = |i: usize| {
        let out = std::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                &format!("http://{}/isActive", nns.http[i]),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(code(1), "200");
    assert_eq!(code(0), "405");

    // HTTP: /imagetransfer, Hadoop's ImageServlet. `curl` answers "<code> <body>".
    let transfer = |i: usize, args: &[&str], query: &str| {
        let out = std::process::Command::new("curl")
            .args(["-s", "-w", " %{http_code}"])
            .args(args)
            .arg(format!("http://{}/imagetransfer?{query}", nns.http[i]))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once(' ').unwrap();
        (code.to_string(), body.to_string())
    };
    let put = ["-X", "PUT", "--data-binary", "not an image"];
    let (code, body) = transfer(0, &put, "txid=999&imageFile=IMAGE&File-Length=12");
    assert_eq!(code, "417", "{body}");
    assert!(
        body.ends_with(
            "is currently not in a state which can accept uploads of new fsimages. State: STANDBY"
        ),
        "{body}"
    );
    let (code, body) = transfer(1, &put, "txid=0&imageFile=IMAGE&File-Length=12");
    assert_eq!(code, "409", "{body}");
    assert_eq!(
        body,
        "Either current namenode has checkpointed or another checkpointer already uploaded an checkpoint for txid 0"
    );
    let (code, body) = transfer(1, &put, "txid=999&imageFile=IMAGE&File-Length=99");
    assert_eq!(code, "410", "{body}");
    assert!(
        body.contains("received length 12 is not of the advertised size 99"),
        "{body}"
    );
    let mut bad_md5 = put.to_vec();
    bad_md5.extend(["-H", "X-MD5-Digest: 00000000000000000000000000000000"]);
    let (code, body) = transfer(1, &bad_md5, "txid=999&imageFile=IMAGE&File-Length=12");
    assert_eq!(code, "410", "{body}");
    assert!(
        body.contains("does not match advertised digest 0000"),
        "{body}"
    );
    // Bytes that pass the transfer checks but are no image are refused, not stored.
    let (code, body) = transfer(1, &put, "txid=999&imageFile=IMAGE&File-Length=12");
    assert_eq!(code, "410", "{body}");
    assert!(body.starts_with("PutImage failed."), "{body}");
    let (code, body) = transfer(1, &[], "getimage=1&txid=0&storageInfo=-66:1:0:CID-other");
    assert_eq!(code, "403", "{body}");
    assert!(
        body.starts_with("This namenode has storage info -66:"),
        "{body}"
    );
    assert!(
        body.ends_with(" but the secondary expected -66:1:0:CID-other"),
        "{body}"
    );
    let (code, body) = transfer(1, &[], "getimage=1&txid=12345");
    assert_eq!(code, "410", "{body}");
    assert_eq!(
        body,
        "GetImage failed. java.io.IOException: Could not find image with txid 12345"
    );
    let (code, _) = transfer(1, &["-o", "/dev/null"], "getimage=1&txid=latest");
    assert_eq!(code, "200");
    let (code, _) = transfer(1, &["-o", "/dev/null"], "getimage=1&txid=0");
    assert_eq!(code, "200");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_the_active_under_load_and_lose_nothing_acknowledged() {
    let jns = JournalNodes::start(true);
    let mut nns = NameNodes::configure(&jns, &[]);
    format_and_start(&mut nns);
    nns.transition(0, true, RequestSource::User).await.unwrap();
    nns.client(0)
        .await
        .attempt(1, 0)
        .mkdirs(&mkdirs("/load"))
        .await
        .unwrap();

    // Writers create files; each remembers which creates were acknowledged, and the one
    // that was in flight when the active died (path, client, call id).
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let attempted = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..4u8 {
        let (stop, acked, attempted) = (stop.clone(), acked.clone(), attempted.clone());
        let client = nns.client_as(0, 10 + w).await;
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let path = format!("/load/w{w}-{n}");
                attempted.fetch_add(1, Ordering::SeqCst);
                match client.attempt(n, 0).create(&create(&path)).await {
                    Ok(_) => acked.lock().unwrap().push(path),
                    Err(_) => return Some((path, 10 + w, n)),
                }
                n += 1;
            }
            None
        }));
    }
    while acked.lock().unwrap().len() < 200 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    nns.kill9(0);
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    nns.transition(1, true, RequestSource::User).await.unwrap();
    let present = listing(&nns, 1, "/load").await;
    let acked = acked.lock().unwrap().clone();
    for path in &acked {
        let name = path.rsplit('/').next().unwrap();
        assert!(
            present.iter().any(|p| p == name),
            "acknowledged {path} is missing after failover"
        );
    }
    // Nothing twice, nothing that was never attempted.
    let mut unique = present.clone();
    unique.dedup();
    assert_eq!(unique.len(), present.len());
    assert!(present.len() as u64 <= attempted.load(Ordering::SeqCst));

    // The old active restarts as a standby and catches up.
    nns.start(0);
    assert_eq!(nns.state(0).await, "standby");
    let written = nns.txid(1).await;
    wait_txid(&nns, 0, written).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_actives_forced_by_hand_the_older_epoch_is_refused_and_exits() {
    let jns = JournalNodes::start(true);
    let mut nns = NameNodes::configure(&jns, &[]);
    format_and_start(&mut nns);
    nns.transition(0, true, RequestSource::User).await.unwrap();
    let old = nns.client(0).await;
    old.attempt(1, 0).mkdirs(&mkdirs("/before")).await.unwrap();
    // nn2 made active without fencing nn1: its new epoch fences nn1 at the JournalNodes.
    nns.transition(1, true, RequestSource::User).await.unwrap();
    let err = old
        .attempt(2, 0)
        .mkdirs(&mkdirs("/after"))
        .await
        .unwrap_err();
    assert!(!err.to_string().is_empty());
    let mut nn1 = nns.nodes[0].take().unwrap();
    assert_eq!(nn1.wait_exit(DEADLINE), Some(1));
    nn1.wait_for_line("Error: flush failed for required journal", DEADLINE);
    nn1.wait_for_line(
        "IPC's epoch 1 is less than the last promised epoch 2",
        DEADLINE,
    );
    // The refused change is nowhere; the earlier one is there.
    let root = listing(&nns, 1, "/").await;
    assert_eq!(root, vec!["before"]);
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_reach_the_active_old_edits_are_purged_and_bootstrap_checks_coverage() {
    let jns = JournalNodes::start(true);
    let mut nns = NameNodes::configure(
        &jns,
        &[
            ("dfs.namenode.checkpoint.txns", "40"),
            ("dfs.namenode.num.extra.edits.retained", "0"),
            ("dfs.namenode.num.checkpoints.retained", "2"),
            // Read finalized segments only, so that a JournalNode's in-memory cache cannot
            // serve edits whose files are gone.
            ("dfs.ha.tail-edits.in-progress", "false"),
        ],
    );
    format_and_start(&mut nns);
    nns.transition(0, true, RequestSource::User).await.unwrap();
    let client = nns.client(0).await;
    for i in 0..200 {
        client
            .attempt(100 + i, 0)
            .mkdirs(&mkdirs(&format!("/d/{i}")))
            .await
            .unwrap();
    }
    // The active rolls its segment (autoroll at 0.5 x 40 edits); the standby checkpoints
    // and uploads the image to the active, which then purges edits no image needs.
    let active_current = nns.name_dir(0).join("current");
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let image_txid = loop {
        let newest = files_in(&active_current)
            .iter()
            .filter_map(|n| {
                n.strip_prefix("fsimage_")
                    .and_then(|t| t.parse::<u64>().ok())
            })
            .max()
            .unwrap_or(0);
        if newest >= 150 {
            break newest;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no checkpoint reached the active: {:?}",
            files_in(&active_current)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Two images are retained, the first being the format's fsimage_0: edits are purged
    // once a second checkpoint arrives. How many checkpoints the writes above gave depends on
    // how the standby's tailing fell (a loaded machine may see one); write on until it has.
    let jn_current = jns.edits_dir(0).join("ns1").join("current");
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut more = 0;
    loop {
        let files = files_in(&jn_current);
        let first_segment = files
            .iter()
            .filter_map(|n| {
                n.strip_prefix("edits_")
                    .filter(|r| !r.starts_with("inprogress"))
            })
            .filter_map(|r| r.split('-').next()?.parse::<u64>().ok())
            .min();
        if first_segment.is_some_and(|start| start > 1) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "old segments never purged: {files:?}"
        );
        for _ in 0..10 {
            client
                .attempt(10_000 + more, 0)
                .mkdirs(&mkdirs(&format!("/more/{more}")))
                .await
                .unwrap();
            more += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        files_in(&jn_current)
            .iter()
            .filter(|n| n.starts_with("edits_0"))
            .count()
            >= 1
    );
    let _ = image_txid;

    // bootstrapStandby needs the JournalNodes to hold every edit after the active's newest
    // image: take them away and it refuses with exit 6.
    nns.kill9(1);
    for i in 0..3 {
        let current = jns.edits_dir(i).join("ns1").join("current");
        for name in files_in(&current) {
            if name.starts_with("edits_") {
                let _ = std::fs::remove_file(current.join(name));
            }
        }
    }
    client
        .attempt(999, 0)
        .mkdirs(&mkdirs("/after-wipe"))
        .await
        .ok();
    let out = nns.namenode_cmd(1, &["-bootstrapStandby", "-force", "-nonInteractive"], "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(
        err.contains("Unable to read transaction ids ")
            && err.contains("from the configured shared edits storage"),
        "{err}"
    );

    // With no other NameNode reachable: exit 2.
    nns.kill9(0);
    let out = nns.namenode_cmd(1, &["-bootstrapStandby", "-force", "-nonInteractive"], "");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "Unable to fetch namespace information from any remote NN. Possible NameNodes: ["
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jmx_reports_the_ha_state_and_journal_status_and_bad_bytes_harm_nobody() {
    let jns = JournalNodes::start(true);
    let mut nns = NameNodes::configure(&jns, &[]);
    format_and_start(&mut nns);
    nns.transition(0, true, RequestSource::User).await.unwrap();
    let client = nns.client(0).await;
    client.attempt(1, 0).mkdirs(&mkdirs("/m")).await.unwrap();

    // Bytes that are neither Hadoop IPC nor HTTP/2 on the RPC port, a browser, a frame over
    // ipc.maximum.data.length and a connection that stalls mid-preamble: each is refused on
    // its own connection, and the NameNode goes on serving both transports.
    let exchange = |bytes: &'static [u8]| {
        let address = nns.rpc[0].clone();
        async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
            stream.write_all(bytes).await.unwrap();
            let mut answer = Vec::new();
            tokio::time::timeout(DEADLINE, stream.read_to_end(&mut answer))
                .await
                .expect("the NameNode closes a connection it refuses")
                .unwrap();
            String::from_utf8_lossy(&answer).into_owned()
        }
    };
    let stalled = tokio::net::TcpStream::connect(&nns.rpc[0]).await.unwrap();
    stalled.try_write(b"PR").unwrap();
    assert!(
        exchange(b"\x00\x01garbage that is no protocol at all")
            .await
            .contains("VersionMismatch")
    );
    assert!(
        exchange(b"GET /jmx HTTP/1.1\r\n\r\n")
            .await
            .contains("It looks like you are making an HTTP request to a Hadoop IPC port.")
    );
    let answer = exchange(b"hrpc\x09\x00\x00\x7f\xff\xff\xff").await;
    assert!(
        answer.contains(
            "Requested data length 2147483647 is longer than maximum configured RPC length 67108864"
        ),
        "{answer:?}"
    );
    client.attempt(2, 0).mkdirs(&mkdirs("/m2")).await.unwrap();
    assert_eq!(nns.state(0).await, "active");
    drop(stalled);

    let get = |i: usize, path: &str| {
        let out = std::process::Command::new("curl")
            .args(["-s", &format!("http://{}{path}", nns.http[i])])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let jmx = get(0, "/jmx?qry=Hadoop:service=NameNode,name=NameNodeStatus");
    assert!(
        jmx.contains("\"State\": \"active\"") && jmx.contains("\"NNRole\": \"NameNode\""),
        "{jmx}"
    );
    let info = get(0, "/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo");
    assert!(
        info.contains("Writing segment beginning at txid 1.") && info.contains("Written txid"),
        "{info}"
    );
    let standby = get(1, "/jmx?qry=Hadoop:service=NameNode,name=FSNamesystem");
    assert!(
        standby.contains("\"tag.HAState\": \"standby\""),
        "{standby}"
    );
    let prom = get(0, "/prom");
    assert!(
        prom.contains("namenode_ha_state{state=\"active\"} 1"),
        "{prom}"
    );
    assert!(get(0, "/").contains("NameNode Journal Status"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hdfs_dfs_against_real_namenodes_follows_the_active() {
    let jns = JournalNodes::start(true);
    let mut nns = NameNodes::configure(&jns, &[]);
    format_and_start(&mut nns);
    nns.transition(1, true, RequestSource::User).await.unwrap();
    let ok = |out: std::process::Output| {
        assert_eq!(
            out.status.code(),
            Some(0),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ok(nns.hdfs(&["dfs", "-mkdir", "-p", "/user/alice/data"], ""));
    let local = nns.data.path().join("local.txt");
    // Data needs a block, which this NameNode does not give: `put` says so and leaves nothing.
    std::fs::write(&local, vec![b'x'; 1234]).unwrap();
    let put = |target: &str| nns.hdfs(&["dfs", "-put", local.to_str().unwrap(), target], "");
    let out = put("/user/alice/data/f.txt");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr)
            .trim_end()
            .lines()
            .last(),
        Some(
            "put: Cannot add a block to /user/alice/data/f.txt._COPYING_: this NameNode keeps a namespace only, with no blocks and no DataNodes"
        )
    );
    let ls = ok(nns.hdfs(&["dfs", "-ls", "/user/alice/data"], ""));
    assert_eq!(ls, "");
    std::fs::write(&local, b"").unwrap();
    ok(put("/user/alice/data/f.txt"));
    let ls = ok(nns.hdfs(&["dfs", "-ls", "/user/alice/data"], ""));
    assert!(ls.starts_with("Found 1 items\n-rw-r--r--   3 "), "{ls}");
    assert!(ls.contains(" 0 "), "{ls}");
    assert!(ls.trim_end().ends_with("/user/alice/data/f.txt"), "{ls}");
    // Fail over by hand: the client finds the new active.
    nns.transition(1, false, RequestSource::User).await.unwrap();
    nns.transition(0, true, RequestSource::User).await.unwrap();
    let stat = ok(nns.hdfs(&["dfs", "-stat", "%b %F %n", "/user/alice/data/f.txt"], ""));
    assert_eq!(stat, "0 regular file f.txt\n");
    let out = nns.hdfs(&["dfs", "-mkdir", "/user/alice/data"], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr)
            .trim_end()
            .lines()
            .last()
            .unwrap(),
        "mkdir: `/user/alice/data': File exists"
    );
    let out = nns.hdfs(&["dfs", "-rm", "-r", "/user/alice"], "");
    assert_eq!(ok(out), "Deleted /user/alice\n");
}

/// The last txid in nn`i`'s local edits (`current/` of its name dir), 0 when none.
fn local_last_txid(nns: &NameNodes, i: usize) -> u64 {
    let current = nns.name_dir(i).join("current");
    files_in(&current)
        .iter()
        .filter(|name| name.starts_with("edits_"))
        .filter_map(|name| {
            let bytes = std::fs::read(current.join(name)).ok()?;
            hdfs_ha::journal::storage::scan_edit_bytes(&bytes, None).last_txid
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initialize_shared_edits_reseeds_lost_journalnodes_from_the_local_edits() {
    let mut jns = JournalNodes::start(true);
    let mut nns = NameNodes::configure(&jns, &[]);
    format_and_start(&mut nns);
    nns.transition(0, true, RequestSource::User).await.unwrap();
    let client = nns.client(0).await;
    client.attempt(1, 0).mkdirs(&mkdirs("/kept")).await.unwrap();
    for n in 0..20 {
        client
            .attempt(100 + n, 0)
            .create(&create(&format!("/kept/f{n}")))
            .await
            .unwrap();
    }
    let written = nns.txid(0).await;
    // The local copy is written after the acknowledgement: wait for it, then lose everything
    // else — both NameNodes die, every JournalNode loses its disk.
    let deadline = std::time::Instant::now() + DEADLINE;
    while local_last_txid(&nns, 0) < written {
        assert!(
            std::time::Instant::now() < deadline,
            "nn1's local edits never reached txid {written}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    nns.kill9(0);
    nns.kill9(1);
    for i in 0..3 {
        jns.kill9(i);
        std::fs::remove_dir_all(jns.edits_dir(i)).unwrap();
        jns.restart(i);
    }

    let out = nns.namenode_cmd(0, &["-initializeSharedEdits", "-nonInteractive"], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("Copied edits 1-{written}")),
        "{stderr}"
    );
    // nn1's open local segment was finalized where its edits end.
    let finalized = format!("edits_{:019}-{:019}", 1, written);
    assert!(
        files_in(&nns.name_dir(0).join("current")).contains(&finalized),
        "{:?}",
        files_in(&nns.name_dir(0).join("current"))
    );

    // Both NameNodes come back from the reseeded journal with every acknowledged change.
    nns.start(0);
    nns.start(1);
    wait_txid(&nns, 1, written).await;
    nns.transition(1, true, RequestSource::User).await.unwrap();
    let files = listing(&nns, 1, "/kept").await;
    assert_eq!(files.len(), 20, "{files:?}");
    nns.client(1)
        .await
        .attempt(3, 0)
        .mkdirs(&mkdirs("/after"))
        .await
        .unwrap();
    wait_txid(&nns, 0, written + 1).await;

    // With data on the JournalNodes it asks first; declining leaves them alone.
    nns.kill9(0);
    let out = nns.namenode_cmd(0, &["-initializeSharedEdits"], "N\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Re-format filesystem in QJM to") && stderr.contains("Format aborted"),
        "{stderr}"
    );
    let jn_files = files_in(&jns.edits_dir(0).join("ns1/current"));
    assert!(jn_files.contains(&finalized), "{jn_files:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_rpc_address_serves_the_ha_and_namenode_protocols_too() {
    let jns = JournalNodes::start(false);
    let service: Vec<String> = (1..=2)
        .map(|i| {
            let host = format!("127.0.0.{i}");
            format!("{host}:{}", common::cluster::free_port(&host))
        })
        .collect();
    let mut nns = NameNodes::configure(
        &jns,
        &[
            ("dfs.namenode.servicerpc-address.ns1.nn1", &service[0]),
            ("dfs.namenode.servicerpc-address.ns1.nn2", &service[1]),
        ],
    );
    format_and_start(&mut nns);
    nns.nodes[0]
        .as_ref()
        .unwrap()
        .wait_for_line("NameNode service RPC up at", common::STARTUP_DEADLINE);
    // What ZKFCs and haadmin use when a service address is configured (HAServiceTarget).
    let address = hdfs_ha::conf::HostPort::parse(&service[0], None).unwrap();
    let ha = hdfs_ha::zkfc::rpc::HaClient::connect(&address, Duration::from_secs(20), 0)
        .await
        .unwrap();
    ha.transition_to_active(RequestSource::User).await.unwrap();
    assert_eq!(nns.state(0).await, "active");
    let peer = hdfs_ha::namenode::peer::PeerClient::connect(&address, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(peer.transaction_id().await.unwrap(), nns.txid(0).await);
    // Our haadmin finds nn1 at its service address and reports the same.
    let out = nns.hdfs(&["haadmin", "-getServiceState", "nn1"], "");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "active");
}

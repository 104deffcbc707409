//! Real Apache Hadoop 3.3.6, from the jars `dev/hadoop-jars.sh` fetched from Maven Central
//! into a cache: its tools and daemons started with `java -cp`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The folder of Hadoop's jars (`HDFS_HA_HADOOP_LIB`, else the cache `dev/hadoop-jars.sh`
/// fills). A missing folder fails the test: these tests must not pass by not running.
pub fn lib() -> PathBuf {
    let dir = std::env::var_os("HDFS_HA_HADOOP_LIB")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME");
            PathBuf::from(home).join(".cache/hdfs-ha/hadoop-3.3.6/lib")
        });
    assert!(
        dir.join("hadoop-hdfs-3.3.6.jar").is_file(),
        "no Hadoop 3.3.6 jars in {}: run dev/hadoop-jars.sh (dev/test.sh does)",
        dir.display()
    );
    dir
}

/// Runs `class` with `conf_dir` (its `*-site.xml`) first on the classpath.
pub fn java(conf_dir: &Path, class: &str, args: &[&str]) -> Output {
    java_with(conf_dir, &[], class, args)
}

/// As [`java`], with system properties for the JVM (`-DHADOOP_USER_NAME=bob` makes the
/// tool's user `bob`, as Hadoop's `UserGroupInformation` reads it).
pub fn java_with(conf_dir: &Path, props: &[&str], class: &str, args: &[&str]) -> Output {
    let classpath = format!("{}:{}/*", conf_dir.display(), lib().display());
    Command::new("java")
        .args(props)
        .arg("-cp")
        .arg(classpath)
        // Hadoop's client logs go to stderr, quietly.
        .arg("-Dhadoop.root.logger=WARN,console")
        .arg("-Dlog4j.configuration=file:/dev/null")
        .arg(class)
        .args(args)
        .env_remove("HADOOP_CONF_DIR")
        .output()
        .unwrap_or_else(|e| panic!("cannot run java {class}: {e}"))
}

/// A conf dir for Hadoop's daemons: `core-site.xml` and `hdfs-site.xml` with `props`, a
/// log4j.properties that logs to stderr (where [`super::Daemon`] reads), and the empty
/// `webapps/*` folders Hadoop's HTTP servers look for on the classpath (the tarball ships
/// them, the jars do not).
pub fn write_conf(dir: &Path, core: &[(&str, String)], hdfs: &[(&str, String)]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("core-site.xml"), hdfs_ha::conf::site_xml(core)).unwrap();
    std::fs::write(dir.join("hdfs-site.xml"), hdfs_ha::conf::site_xml(hdfs)).unwrap();
    prepare_daemon_conf(dir);
}

/// What Hadoop's daemons and tools need in a conf dir beside hdfs-site.xml: a core-site.xml
/// (FsShell refuses to start without one), the empty `webapps/*` folders and a
/// log4j.properties that logs to stderr.
pub fn prepare_daemon_conf(dir: &Path) {
    let core = dir.join("core-site.xml");
    if !core.exists() {
        std::fs::write(core, hdfs_ha::conf::site_xml::<&str, &str>(&[])).unwrap();
    }
    for webapp in ["hdfs", "journal", "static"] {
        std::fs::create_dir_all(dir.join("webapps").join(webapp)).unwrap();
    }
    std::fs::write(
        dir.join("log4j.properties"),
        "log4j.rootLogger=INFO,console\n\
         log4j.appender.console=org.apache.log4j.ConsoleAppender\n\
         log4j.appender.console.target=System.err\n\
         log4j.appender.console.layout=org.apache.log4j.PatternLayout\n\
         log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n\n",
    )
    .unwrap();
}

/// Starts a Hadoop daemon (`class`, e.g. Hadoop's NameNode) with `conf_dir` on its classpath;
/// it is killed when the returned daemon is dropped.
pub fn start_daemon(name: &str, conf_dir: &Path, class: &str, args: &[&str]) -> super::Daemon {
    let classpath = format!("{}:{}/*", conf_dir.display(), lib().display());
    let mut all = vec!["-cp".to_string(), classpath, class.to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    super::Daemon::start(name, Path::new("java"), &all, &[])
}

/// Hadoop's OfflineEditsViewer, the class behind `hdfs oev`.
pub const OEV: &str = "org.apache.hadoop.hdfs.tools.offlineEditsViewer.OfflineEditsViewer";

/// What the real `hdfs oev -i <input> -p <processor>` wrote (`xml`, `stats`, `binary`: read
/// the result as text with `binary` only to compare it), or oev's complaint. oev 3.3.6 reports
/// a bad header on stderr (`Encountered exception. Exiting: ...`) and an op it cannot read after
/// the ops before it, in its output: `<ERROR>...</ERROR>` after `</EDITS>` with `-p xml`,
/// `EXITING ON ERROR: ...` with `-p stats`. It exits -1 then; the exit code, stderr and the
/// output are all checked, and the error carries oev's own words and, for xml, the last op it
/// did read.
pub fn oev(input: &Path, processor: &str) -> Result<String, String> {
    oev_bytes(input, processor).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// [`oev`]'s output as bytes (an edits file with `-p binary`).
pub fn oev_bytes(input: &Path, processor: &str) -> Result<Vec<u8>, String> {
    let out_dir = tempfile::tempdir().unwrap();
    let output = out_dir.path().join(format!("oev.{processor}"));
    let run = java(
        out_dir.path(),
        OEV,
        &[
            "-i",
            &input.display().to_string(),
            "-o",
            &output.display().to_string(),
            "-p",
            processor,
        ],
    );
    let bytes = std::fs::read(&output).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    // Two SLF4J bindings in Hadoop's dependencies and log4j without appenders say so on
    // stderr on every run; everything else there is oev's.
    let stderr: Vec<String> = String::from_utf8_lossy(&run.stderr)
        .lines()
        .filter(|l| !l.starts_with("SLF4J:") && !l.starts_with("log4j:"))
        .map(str::to_string)
        .collect();
    let mut complaints: Vec<String> = Vec::new();
    if let Some(line) = stderr.iter().find(|l| l.contains("Exiting:")) {
        complaints.push(line.clone());
    }
    if let Some(at) = text.find("<ERROR>") {
        let error = &text[at + "<ERROR>".len()..];
        complaints.push(error.split("</ERROR>").next().unwrap_or(error).to_string());
    }
    if let Some(line) = text.lines().find(|l| l.contains("EXITING ON ERROR")) {
        complaints.push(line.trim().to_string());
    }
    let truncated = processor == "xml" && !text.trim_end().ends_with("</EDITS>");
    // Not any line: a JVM may say "Picked up JAVA_TOOL_OPTIONS" and still do its work.
    let failed = stderr
        .iter()
        .any(|l| l.contains("Exception") || l.contains("Error") || l.contains("ERROR"));
    if run.status.success() && complaints.is_empty() && !failed && !truncated {
        return Ok(bytes);
    }
    let mut error = format!(
        "oev -p {processor} of {} failed (exit {:?})",
        input.display(),
        run.status.code()
    );
    // oev may say the same thing twice (stderr and output): once is enough.
    complaints.dedup_by(|later, earlier| earlier.contains(later.as_str()));
    for complaint in &complaints {
        error.push_str(&format!("\n  oev: {complaint}"));
    }
    if processor == "xml"
        && let Some(last) = text
            .split("</EDITS>")
            .next()
            .and_then(|xml| edits_xml(&format!("{xml}</EDITS>")).ok())
            .and_then(|edits| edits.records.last().cloned())
    {
        error.push_str(&format!(
            "\n  the last op oev read: {} txid {} {}",
            last.opcode, last.txid, last.path
        ));
    }
    if !stderr.is_empty() {
        error.push_str(&format!("\n  stderr:\n{}", stderr.join("\n")));
    }
    Err(error)
}

/// One `<RECORD>` of oev's XML, as far as these tests look.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OevRecord {
    /// `OP_MKDIR`, `OP_ADD`, ...
    pub opcode: String,
    pub txid: u64,
    /// `<PATH>`, or `<SRC>` for a rename; empty for ops on no path.
    pub path: String,
    /// `<DST>` of a rename; empty otherwise.
    pub dst: String,
}

/// oev's XML of one edits file.
#[derive(Debug)]
pub struct OevEdits {
    /// `<EDITS_VERSION>`: the file's layout version.
    pub version: i32,
    pub records: Vec<OevRecord>,
}

/// Reads oev's XML (`<EDITS><EDITS_VERSION>..</EDITS_VERSION><RECORD><OPCODE>..</OPCODE>
/// <DATA><TXID>..</TXID><PATH>..</PATH>..</DATA></RECORD>..</EDITS>`): the fields of each
/// record's `<DATA>` itself, not of the elements nested in it (blocks, permissions).
pub fn edits_xml(xml: &str) -> Result<OevEdits, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::reader::Reader::from_str(xml);
    // Open elements, outermost first; `text` collects the innermost one's text, entities
    // written back as `&name;` and unescaped when it closes.
    let mut open: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut version = None;
    let mut records: Vec<OevRecord> = Vec::new();
    let mut txid: Option<String> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("oev's XML at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(start) => {
                let name = start.name().as_ref().to_string();
                if name == "RECORD" {
                    records.push(OevRecord {
                        opcode: String::new(),
                        txid: 0,
                        path: String::new(),
                        dst: String::new(),
                    });
                    txid = None;
                }
                open.push(name);
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.into_inner()),
            Event::GeneralRef(r) => text.push_str(&format!("&{};", r.into_inner())),
            Event::End(_) => {
                let value = quick_xml::escape::unescape(&text)
                    .map_err(|e| format!("oev's XML: {e} in {text:?}"))?
                    .into_owned();
                let path: Vec<&str> = open.iter().map(String::as_str).collect();
                match path.as_slice() {
                    ["EDITS", "EDITS_VERSION"] => {
                        version = Some(
                            value
                                .parse()
                                .map_err(|_| format!("EDITS_VERSION {value:?}"))?,
                        );
                    }
                    ["EDITS", "RECORD", field] | ["EDITS", "RECORD", "DATA", field] => {
                        let record = records.last_mut().expect("inside a RECORD");
                        match *field {
                            "OPCODE" => record.opcode = value,
                            "TXID" => txid = Some(value),
                            "PATH" | "SRC" => record.path = value,
                            "DST" => record.dst = value,
                            _ => {}
                        }
                    }
                    ["EDITS", "RECORD"] => {
                        let record = records.last_mut().expect("a RECORD");
                        let raw = txid
                            .take()
                            .ok_or_else(|| format!("no TXID in {record:?}"))?;
                        record.txid = raw.parse().map_err(|_| format!("TXID {raw:?}"))?;
                    }
                    _ => {}
                }
                open.pop();
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !open.is_empty() {
        return Err(format!("oev's XML ends inside <{}>", open.join("><")));
    }
    let version = version.ok_or("no <EDITS_VERSION> in oev's XML")?;
    Ok(OevEdits { version, records })
}

/// Hadoop's `hdfs oev -p xml` of an edits file of layout version -66: its (opcode, txid, path
/// or source) records, or oev's complaint.
pub fn oev_records(file: &Path) -> Result<Vec<(String, u64, String)>, String> {
    let edits = edits_xml(&oev(file, "xml")?)?;
    if edits.version != -66 {
        return Err(format!(
            "{}: EDITS_VERSION {}, not -66",
            file.display(),
            edits.version
        ));
    }
    Ok(edits
        .records
        .into_iter()
        .map(|r| (r.opcode, r.txid, r.path))
        .collect())
}

/// Hadoop's offline image viewer (`hdfs oiv`).
pub const OIV: &str = "org.apache.hadoop.hdfs.tools.offlineImageViewer.OfflineImageViewerPB";

/// The real `hdfs oiv -p XML` of an fsimage: its XML, or what it said when it failed.
pub fn oiv_xml(image: &Path) -> Result<String, String> {
    let out_dir = tempfile::tempdir().unwrap();
    let output = out_dir.path().join("oiv.xml");
    let run = java(
        out_dir.path(),
        OIV,
        &[
            "-p",
            "XML",
            "-i",
            &image.display().to_string(),
            "-o",
            &output.display().to_string(),
        ],
    );
    let xml = std::fs::read_to_string(&output).unwrap_or_default();
    if run.status.success() && xml.trim_end().ends_with("</fsimage>") {
        Ok(xml)
    } else {
        Err(format!(
            "oiv exited {:?}: {}",
            run.status.code(),
            String::from_utf8_lossy(&run.stderr)
        ))
    }
}

/// A real Hadoop NameNode (not HA) whose edits dir is a quorum journal.
pub struct RealNameNode {
    pub conf: tempfile::TempDir,
    _data: tempfile::TempDir,
    pub rpc: String,
}

impl RealNameNode {
    pub fn configure(qjournal_uri: &str) -> RealNameNode {
        let conf = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let rpc = format!("127.0.0.1:{}", super::cluster::free_port("127.0.0.1"));
        let http = format!("127.0.0.1:{}", super::cluster::free_port("127.0.0.1"));
        write_conf(
            conf.path(),
            &[
                ("fs.defaultFS", format!("hdfs://{rpc}")),
                (
                    "hadoop.tmp.dir",
                    data.path().join("tmp").display().to_string(),
                ),
            ],
            &[
                (
                    "dfs.namenode.name.dir",
                    data.path().join("name").display().to_string(),
                ),
                ("dfs.namenode.edits.dir", qjournal_uri.to_string()),
                ("dfs.namenode.rpc-address", rpc.clone()),
                ("dfs.namenode.http-address", http),
                ("dfs.namenode.safemode.threshold-pct", "0".into()),
            ],
        );
        RealNameNode {
            conf,
            _data: data,
            rpc,
        }
    }

    /// Formats it (and its journal).
    pub fn format(&self) {
        let out = java(
            self.conf.path(),
            "org.apache.hadoop.hdfs.server.namenode.NameNode",
            &["-format", "-force", "-nonInteractive"],
        );
        assert!(
            out.status.success(),
            "format: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn start(&self) -> super::Daemon {
        let port = self.rpc.rsplit(':').next().unwrap();
        let nn = start_daemon(
            "real-nn",
            self.conf.path(),
            "org.apache.hadoop.hdfs.server.namenode.NameNode",
            &[],
        );
        nn.wait_for_line(
            &format!("IPC Server listener on {port}: starting"),
            super::STARTUP_DEADLINE,
        );
        nn
    }

    /// The real DFSAdmin (`hdfs dfsadmin`): its exit code.
    pub fn dfsadmin(&self, args: &[&str]) -> Option<i32> {
        java(
            self.conf.path(),
            "org.apache.hadoop.hdfs.tools.DFSAdmin",
            args,
        )
        .status
        .code()
    }

    /// Every path below `/`, as the real `hdfs dfs -ls -R /` lists them.
    pub fn all_paths(&self) -> Vec<String> {
        let (code, listing) = self.dfs(&["-ls", "-R", "/"]);
        assert_eq!(code, Some(0), "ls -R /");
        listing
            .lines()
            .filter_map(|l| l.split_whitespace().last().map(str::to_string))
            .collect()
    }

    /// The real FsShell (`hdfs dfs`): its exit code and stdout.
    pub fn dfs(&self, args: &[&str]) -> (Option<i32>, String) {
        let out = java(self.conf.path(), FSSHELL, args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    }
}

/// Hadoop's FsShell (`hdfs dfs`).
pub const FSSHELL: &str = "org.apache.hadoop.fs.FsShell";

/// Hadoop's NameNode class.
pub const NAMENODE: &str = "org.apache.hadoop.hdfs.server.namenode.NameNode";

/// Properties a real NameNode pair on [`super::cluster::NameNodes`]' conf dir needs beside
/// ours: Hadoop's own failover proxy for its clients, and its scratch space under `data`.
pub fn real_pair_props(data: &Path) -> Vec<(String, String)> {
    vec![
        (
            "dfs.client.failover.proxy.provider.ns1".into(),
            "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider".into(),
        ),
        ("hadoop.tmp.dir".into(), data.display().to_string()),
    ]
}

/// Starts real NameNode `i` of the pair `nns` describes (the same conf, addresses and name
/// dirs as ours would use) and waits for its RPC server.
pub fn start_real_nn(nns: &mut super::cluster::NameNodes, i: usize) {
    prepare_daemon_conf(nns.conf_dir.path());
    let id = format!("dfs.ha.namenode.id={}", super::cluster::NN_IDS[i]);
    let d = start_daemon(
        &format!("real-{}", super::cluster::NN_IDS[i]),
        nns.conf_dir.path(),
        NAMENODE,
        &["-D", &id],
    );
    let port = nns.rpc[i].rsplit(':').next().unwrap();
    d.wait_for_line(
        &format!("IPC Server listener on {port}: starting"),
        super::STARTUP_DEADLINE,
    );
    nns.nodes[i] = Some(d);
}

/// Runs Hadoop's NameNode class as NameNode `i` of `nns` (`-D dfs.ha.namenode.id=<nn>
/// <args>`, e.g. `-format` or `-bootstrapStandby`) and returns what it printed.
pub fn real_namenode_cmd(nns: &super::cluster::NameNodes, i: usize, args: &[&str]) -> Output {
    prepare_daemon_conf(nns.conf_dir.path());
    let id = format!("dfs.ha.namenode.id={}", super::cluster::NN_IDS[i]);
    let mut all = vec!["-D", &id];
    all.extend_from_slice(args);
    java(nns.conf_dir.path(), NAMENODE, &all)
}

/// Formats real nn1 (and the shared journal), starts it, bootstraps real nn2 from it and
/// starts it: both standby.
pub fn format_and_start_real(nns: &mut super::cluster::NameNodes) {
    // Hadoop's tools read fs.defaultFS from core-site.xml only (FsShell's plain
    // Configuration never loads hdfs-site.xml): without it they act on the local disk.
    std::fs::write(
        nns.conf_dir.path().join("core-site.xml"),
        hdfs_ha::conf::site_xml(&[("fs.defaultFS", "hdfs://ns1")]),
    )
    .unwrap();
    let run = |nns: &super::cluster::NameNodes, i: usize, args: &[&str]| {
        let out = real_namenode_cmd(nns, i, args);
        assert!(
            out.status.success(),
            "real namenode {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(nns, 0, &["-format", "-force", "-nonInteractive"]);
    start_real_nn(nns, 0);
    run(nns, 1, &["-bootstrapStandby", "-force", "-nonInteractive"]);
    start_real_nn(nns, 1);
}

/// One JournalNode slot on 127.0.0.(i+1): an address and a directory, served by Hadoop's
/// JournalNode or ours, with the edits cache for in-progress tailing on.
pub struct JnSlot {
    pub host: String,
    pub rpc_port: u16,
    pub http_port: u16,
    pub dir: PathBuf,
    conf: tempfile::TempDir,
    daemon: Option<super::Daemon>,
    /// Properties beside the slot's own, for both kinds of JournalNode.
    extra: Vec<(String, String)>,
}

impl JnSlot {
    pub fn new(root: &Path, i: usize) -> JnSlot {
        let host = format!("127.0.0.{}", i + 1);
        let slot = JnSlot {
            rpc_port: super::cluster::free_port(&host),
            http_port: super::cluster::free_port(&host),
            dir: root.join(format!("jn{i}")),
            conf: tempfile::tempdir().unwrap(),
            host,
            daemon: None,
            extra: Vec::new(),
        };
        slot.write_conf();
        slot
    }

    fn write_conf(&self) {
        let mut props = vec![
            (
                "dfs.journalnode.rpc-address",
                format!("{}:{}", self.host, self.rpc_port),
            ),
            (
                "dfs.journalnode.http-address",
                format!("{}:{}", self.host, self.http_port),
            ),
            ("dfs.journalnode.edits.dir", self.dir.display().to_string()),
            ("dfs.ha.tail-edits.in-progress", "true".into()),
        ];
        props.extend(self.extra.iter().map(|(k, v)| (k.as_str(), v.clone())));
        write_conf(self.conf.path(), &[], &props);
    }

    /// From its next start, the JournalNode knows the others through
    /// `dfs.namenode.shared.edits.dir` and syncs with them every `interval_ms`.
    pub fn sync_with(&mut self, qjournal_uri: &str, interval_ms: u64) {
        self.extra = vec![
            (
                "dfs.namenode.shared.edits.dir".into(),
                qjournal_uri.to_string(),
            ),
            (
                "dfs.journalnode.sync.interval".into(),
                interval_ms.to_string(),
            ),
        ];
        self.write_conf();
    }

    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.rpc_port)
    }

    pub fn start_real(&mut self) {
        self.stop();
        let jn = start_daemon(
            &format!("real-jn-{}", self.host),
            self.conf.path(),
            "org.apache.hadoop.hdfs.qjournal.server.JournalNode",
            &[],
        );
        jn.wait_for_line(
            &format!("IPC Server listener on {}: starting", self.rpc_port),
            super::STARTUP_DEADLINE,
        );
        self.daemon = Some(jn);
    }

    pub fn start_ours(&mut self) {
        self.stop();
        let args: Vec<String> = [
            format!("dfs.journalnode.rpc-address={}", self.address()),
            format!(
                "dfs.journalnode.http-address={}:{}",
                self.host, self.http_port
            ),
            format!("dfs.journalnode.edits.dir={}", self.dir.display()),
            "dfs.ha.tail-edits.in-progress=true".to_string(),
        ]
        .into_iter()
        .chain(self.extra.iter().map(|(k, v)| format!("{k}={v}")))
        .flat_map(|d| ["-D".to_string(), d])
        .collect();
        let jn = super::Daemon::start(
            &format!("jn-{}", self.host),
            &super::binary("journalnode"),
            &args,
            &[],
        );
        jn.wait_for_address("JournalNode RPC server is listening on");
        self.daemon = Some(jn);
    }

    /// kill -9.
    pub fn stop(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            d.kill9();
        }
    }
}

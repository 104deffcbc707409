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
    let classpath = format!("{}:{}/*", conf_dir.display(), lib().display());
    Command::new("java")
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
    for webapp in ["hdfs", "journal", "static"] {
        std::fs::create_dir_all(dir.join("webapps").join(webapp)).unwrap();
    }
    std::fs::write(dir.join("core-site.xml"), hdfs_ha::conf::site_xml(core)).unwrap();
    std::fs::write(dir.join("hdfs-site.xml"), hdfs_ha::conf::site_xml(hdfs)).unwrap();
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

/// Hadoop's `hdfs oev -p xml` of an edits file: its (opcode, txid, path or source) records,
/// or oev's complaint.
pub fn oev_records(file: &Path) -> Result<Vec<(String, u64, String)>, String> {
    let out_dir = tempfile::tempdir().unwrap();
    let xml_path = out_dir.path().join("edits.xml");
    let out = java(
        out_dir.path(),
        "org.apache.hadoop.hdfs.tools.offlineEditsViewer.OfflineEditsViewer",
        &[
            "-i",
            &file.display().to_string(),
            "-o",
            &xml_path.display().to_string(),
            "-p",
            "xml",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let xml = std::fs::read_to_string(&xml_path).unwrap_or_default();
    // oev exits 0 even when it could not read the file; it then says so and ends the XML early.
    if !out.status.success()
        || !xml.trim_end().ends_with("</EDITS>")
        || stderr.contains("Exception")
    {
        return Err(format!(
            "oev of {} failed ({:?}): {stderr}",
            file.display(),
            out.status.code()
        ));
    }
    let tag = |record: &str, name: &str| -> Option<String> {
        let open = format!("<{name}>");
        let start = record.find(&open)? + open.len();
        let end = record[start..].find(&format!("</{name}>"))? + start;
        Some(record[start..end].to_string())
    };
    assert_eq!(tag(&xml, "EDITS_VERSION").as_deref(), Some("-66"), "{xml}");
    Ok(xml
        .split("<RECORD>")
        .skip(1)
        .map(|record| {
            (
                tag(record, "OPCODE").unwrap_or_default(),
                tag(record, "TXID")
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0),
                tag(record, "PATH")
                    .or_else(|| tag(record, "SRC"))
                    .unwrap_or_default(),
            )
        })
        .collect())
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

    /// The real FsShell (`hdfs dfs`): its exit code and stdout.
    pub fn dfs(&self, args: &[&str]) -> (Option<i32>, String) {
        let out = java(self.conf.path(), "org.apache.hadoop.fs.FsShell", args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    }
}

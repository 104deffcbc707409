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

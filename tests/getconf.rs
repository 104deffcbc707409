//! `hdfs getconf`, `hdfs version` and the `hdfs` front, run as the real binary against the
//! shipped `etc/hadoop` and the test configurations.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn conf_dir(name: &str) -> PathBuf {
    repo().join("tests/data/conf").join(name)
}

/// Runs `hdfs` with `HADOOP_CONF_DIR` set to `conf` (or unset).
fn hdfs(conf: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hdfs"));
    cmd.args(args)
        .env_remove("HADOOP_CONF_DIR")
        .env_remove("HADOOP_HOME")
        .env_remove("RUST_LOG")
        .env("HADOOP_ROOT_LOGGER", "WARN,console");
    if let Some(conf) = conf {
        cmd.env("HADOOP_CONF_DIR", conf);
    }
    cmd.output().expect("run hdfs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn shipped() -> PathBuf {
    repo().join("etc/hadoop")
}

#[test]
fn getconf_lists_the_shipped_clusters_hosts() {
    let conf = shipped();
    let out = hdfs(Some(&conf), &["getconf", "-namenodes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "127.0.0.1 127.0.0.2\n");

    let out = hdfs(Some(&conf), &["getconf", "-journalNodes"]);
    assert_eq!(stdout(&out), "127.0.0.1 127.0.0.2 127.0.0.3\n");

    let out = hdfs(Some(&conf), &["getconf", "-nnRpcAddresses"]);
    assert_eq!(stdout(&out), "127.0.0.1:8020\n127.0.0.2:8020\n");

    let out = hdfs(
        Some(&conf),
        &["getconf", "-confKey", "dfs.ha.automatic-failover.enabled"],
    );
    assert_eq!(stdout(&out), "true\n");

    // Command names are matched case-insensitively, as Hadoop does.
    let out = hdfs(Some(&conf), &["getconf", "-NameNodes"]);
    assert_eq!(stdout(&out), "127.0.0.1 127.0.0.2\n");
}

#[test]
fn the_install_conf_dir_is_found_without_hadoop_conf_dir() {
    // target/debug/hdfs finds the repository's etc/hadoop.
    let out = hdfs(None, &["getconf", "-confKey", "dfs.nameservices"]);
    assert_eq!(stdout(&out), "mycluster\n", "{}", stderr(&out));
}

#[test]
fn config_option_overrides_hadoop_conf_dir() {
    let ha_guide = conf_dir("ha-guide");
    let out = hdfs(
        Some(&shipped()),
        &[
            "--config",
            ha_guide.to_str().unwrap(),
            "getconf",
            "-namenodes",
        ],
    );
    assert_eq!(
        stdout(&out),
        "machine1.example.com machine2.example.com machine3.example.com\n"
    );
    let out = hdfs(
        None,
        &["--config", "/nonexistent/conf", "getconf", "-namenodes"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "ERROR: Cannot find configuration directory \"/nonexistent/conf\"\n"
    );
}

#[test]
fn generic_options_come_right_after_the_subcommand() {
    let conf = shipped();
    let out = hdfs(
        Some(&conf),
        &[
            "getconf",
            "-D",
            "dfs.ha.namenode.id=nn2",
            "-confKey",
            "dfs.ha.namenode.id",
        ],
    );
    assert_eq!(stdout(&out), "nn2\n", "{}", stderr(&out));
    let out = hdfs(
        Some(&conf),
        &[
            "getconf",
            "-Dfs.defaultFS=hdfs://other",
            "-confKey",
            "fs.defaultFS",
        ],
    );
    assert_eq!(stdout(&out), "hdfs://other\n");
    let extra = conf_dir("ha-guide").join("hdfs-site.xml");
    let out = hdfs(
        Some(&conf),
        &["getconf", "-conf", extra.to_str().unwrap(), "-namenodes"],
    );
    assert_eq!(
        stdout(&out),
        "machine1.example.com machine2.example.com machine3.example.com\n"
    );
    let out = hdfs(Some(&conf), &["getconf", "-D"]);
    assert_eq!(out.status.code(), Some(255));
    assert!(
        stderr(&out).starts_with("Missing argument for option: D\n"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn getconf_errors_have_hadoops_texts_and_exit_255() {
    let conf = shipped();
    let out = hdfs(Some(&conf), &["getconf", "-confKey", "no.such.key"]);
    assert_eq!(out.status.code(), Some(255));
    assert_eq!(stderr(&out), "Configuration no.such.key is missing.\n");
    assert!(stdout(&out).is_empty());

    let out = hdfs(Some(&conf), &["getconf", "-confKey"]);
    assert_eq!(out.status.code(), Some(255));
    assert_eq!(stderr(&out), "usage: -confKey [key]\n");

    let out = hdfs(Some(&conf), &["getconf", "-namenodes", "extra"]);
    assert_eq!(out.status.code(), Some(255));
    assert_eq!(stderr(&out), "Did not expect argument: extra\n");

    for args in [&["getconf"][..], &["getconf", "-bogus"][..]] {
        let out = hdfs(Some(&conf), args);
        assert_eq!(out.status.code(), Some(255));
        assert!(stderr(&out).starts_with(
            "hdfs getconf is utility for getting configuration information from the config file.\n\nhadoop getconf \n\t[-namenodes]\t\t\tgets list of namenodes in the cluster.\n"
        ), "{}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }

    let out = hdfs(Some(&conf), &["getconf", "-h"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("[-confKey [key]]"));

    let empty = tempfile::tempdir().unwrap();
    let out = hdfs(Some(empty.path()), &["getconf", "-namenodes"]);
    assert_eq!(out.status.code(), Some(255));
    assert_eq!(
        stderr(&out),
        "Incorrect configuration: namenode address dfs.namenode.servicerpc-address or dfs.namenode.rpc-address is not configured.\n"
    );
    // No qjournal:// shared edits: an empty line and success, as Hadoop.
    let out = hdfs(Some(empty.path()), &["getconf", "-journalNodes"]);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(0), "\n".to_string())
    );
    let out = hdfs(Some(empty.path()), &["getconf", "-secondaryNameNodes"]);
    assert_eq!(
        stderr(&out),
        "Incorrect configuration: secondary namenode address dfs.namenode.secondary.http-address is not configured.\n"
    );
}

#[test]
fn a_broken_file_is_named_and_nothing_is_printed_on_stdout() {
    let out = hdfs(Some(&conf_dir("broken-xml")), &["getconf", "-namenodes"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("broken-xml/hdfs-site.xml at line 5, column 21"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn deprecated_keys_are_read_through_their_successors_with_a_notice() {
    let out = Command::new(env!("CARGO_BIN_EXE_hdfs"))
        .env("HADOOP_CONF_DIR", conf_dir("hadoop1-deprecated"))
        .env("HADOOP_ROOT_LOGGER", "INFO,console")
        .env_remove("RUST_LOG")
        .args(["getconf", "-confKey", "dfs.namenode.name.dir"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "/data/1/dfs/nn,/data/2/dfs/nn\n");
    let err = stderr(&out);
    assert!(
        err.contains("WARN conf.Configuration: dfs.name.dir in ")
            && err.contains("is deprecated. Instead, use dfs.namenode.name.dir"),
        "{err}"
    );
    let out = hdfs(
        Some(&conf_dir("hadoop1-deprecated")),
        &["getconf", "-confKey", "dfs.name.dir"],
    );
    assert_eq!(stdout(&out), "/data/1/dfs/nn,/data/2/dfs/nn\n");
}

#[test]
fn the_hdfs_front_usage_and_unknown_subcommands() {
    let out = hdfs(None, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("Usage: hdfs [OPTIONS] SUBCOMMAND [SUBCOMMAND OPTIONS]\n"));

    let out = hdfs(None, &["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let usage = stdout(&out);
    // Hadoop's layout: a heading per kind, names padded to the longest name plus three spaces.
    assert!(
        usage.contains(
            "\n    Client Commands:\n\ndfs           run a filesystem command on the file system\ngetconf       get config values from configuration\n"
        ),
        "{usage}"
    );
    assert!(
        usage.contains("\n    Daemon Commands:\n\njournalnode   run the DFS journalnode\n"),
        "{usage}"
    );
    assert!(usage.ends_with("SUBCOMMAND may print help when invoked w/o parameters or with -h.\n"));

    let out = hdfs(None, &["frobnicate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out)
            .starts_with("ERROR: frobnicate is not COMMAND nor fully qualified CLASSNAME.\n")
    );

    let out = hdfs(None, &["--config"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("ERROR: No parameter provided for --config \n"));
}

#[test]
fn version_keeps_hadoops_first_line_shape() {
    let out = hdfs(None, &["version"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let first = text.lines().next().unwrap();
    let words: Vec<&str> = first.split_whitespace().collect();
    assert_eq!(words[0], "Hadoop");
    assert_eq!(words[1], "3.3.6");
    assert!(first.contains(concat!("hdfs-ha ", env!("CARGO_PKG_VERSION"))));
    assert!(text.contains("This command was run using "));
    let out = hdfs(None, &["version", "extra"]);
    assert_eq!(out.status.code(), Some(1));
}

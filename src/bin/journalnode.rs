//! `journalnode`: a JournalNode in the foreground (the same as `hdfs journalnode`).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = hdfs_ha::admin::daemon_main("journalnode", &args);
    std::process::exit(code);
}

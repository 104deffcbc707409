//! `namenode`: a NameNode (the same as `hdfs namenode`, including `-format`,
//! `-bootstrapStandby` and `-initializeSharedEdits`).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(hdfs_ha::admin::daemon_main("namenode", &args));
}

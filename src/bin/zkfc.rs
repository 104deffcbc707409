//! `zkfc`: a ZK failover controller in the foreground (the same as `hdfs zkfc`).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = hdfs_ha::admin::daemon_main("zkfc", &args);
    std::process::exit(code);
}

//! `zkcli`: a shell like ZooKeeper's zkCli.sh (see `hdfs_ha::coord::shell`).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(hdfs_ha::coord::zkcli::main(&args));
}

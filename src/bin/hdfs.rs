//! `hdfs`: the admin front (see `hdfs_ha::admin`).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = hdfs_ha::admin::hdfs_main(&args);
    std::process::exit(code);
}

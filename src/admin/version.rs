//! `hdfs version`: the version lines Hadoop prints, with ours in them. The first line keeps
//! Hadoop's shape (`Hadoop <version> …`) for scripts that read the second word.

use super::Context;

/// The Hadoop release whose commands, messages and exit codes hdfs-ha follows.
pub const HADOOP_COMPATIBLE_VERSION: &str = "3.3.6";

pub fn run(ctx: &mut Context<'_>, args: &[String]) -> i32 {
    if let Some(extra) = args.first() {
        let _ = writeln!(ctx.err, "Usage: hdfs version");
        let _ = writeln!(ctx.err, "Did not expect argument: {extra}");
        return 1;
    }
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "hdfs".to_string());
    let _ = write!(
        ctx.out,
        "Hadoop {HADOOP_COMPATIBLE_VERSION} (hdfs-ha {})\n\
         Source code repository hdfs-ha -r {}\n\
         Compiled with {}\n\
         Compiled on platform {}-{}\n\
         Compiled with protoc none (protox, in-process)\n\
         This command was run using {exe}\n",
        env!("CARGO_PKG_VERSION"),
        env!("HDFS_HA_GIT_COMMIT"),
        env!("HDFS_HA_RUSTC_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH,
    );
    0
}

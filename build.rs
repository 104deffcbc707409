//! Compiles `proto/*.proto` into Rust with protox (a pure-Rust protobuf compiler), so that a
//! build needs no system `protoc`, and writes the compiled descriptors to `descriptors.bin`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = PathBuf::from("proto");
    println!("cargo:rerun-if-changed={}", proto_dir.display());
    let mut protos: Vec<PathBuf> = std::fs::read_dir(&proto_dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    protos.retain(|p| p.extension().is_some_and(|ext| ext == "proto"));
    protos.sort();
    let mut compiler = protox::Compiler::new([&proto_dir])?;
    compiler
        .include_source_info(true)
        .include_imports(true)
        .open_files(&protos)?;
    // The compiled descriptors themselves too (`crate::proto::FILE_DESCRIPTOR_SET`), so that
    // tests can hold our messages against Hadoop's.
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    std::fs::write(
        out_dir.join("descriptors.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    prost_build::Config::new().compile_fds(compiler.file_descriptor_set())?;
    build_info();
    Ok(())
}

/// Facts `hdfs version` prints: the source commit and the compiler.
fn build_info() {
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    let run = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let commit = run("git", &["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_string());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let rustc_version = run(&rustc, &["--version"]).unwrap_or_else(|| "rustc".to_string());
    println!("cargo:rustc-env=HDFS_HA_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=HDFS_HA_RUSTC_VERSION={rustc_version}");
}

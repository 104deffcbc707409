//! The `hdfs` front: Hadoop's `bin/hdfs` command line (`hdfs [OPTIONS] SUBCOMMAND
//! [SUBCOMMAND OPTIONS]`), its usage text and exit codes, and the subcommands that exist today.
//!
//! Shell options (`--config DIR`, `--loglevel LEVEL`, `--help`) come before the subcommand;
//! generic options (`-D k=v`, `-conf f`, `-fs uri`) come right after it. Errors go to stderr.

pub mod background;
pub mod daemon;
mod dfs;
mod generic;
mod getconf;
pub mod haadmin;
pub mod journalnode;
pub mod namenode;
mod version;
pub mod zkfc;

use std::io::Write;
use std::path::{Path, PathBuf};

pub use generic::{GENERIC_USAGE, GenericOptions, parse_generic_options};

use crate::conf::{ConfError, Configuration};

/// How a subcommand is grouped in the usage text (Hadoop's Admin, Client and Daemon
/// Commands; the admin and daemon subcommands arrive with their components).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Admin,
    Client,
    Daemon,
}

impl Kind {
    fn heading(self) -> &'static str {
        match self {
            Kind::Admin => "Admin",
            Kind::Client => "Client",
            Kind::Daemon => "Daemon",
        }
    }
}

/// Output streams and the configuration directory a subcommand runs with.
pub struct Context<'a> {
    pub conf_dir: PathBuf,
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    /// Answers to prompts (`Re-format filesystem in … ? (Y or N)`).
    pub input: &'a mut dyn std::io::BufRead,
}

impl Context<'_> {
    /// Loads `core-site.xml` and `hdfs-site.xml` from the conf dir plus the generic options.
    pub fn load_conf(&self, generic: &GenericOptions) -> Result<Configuration, ConfError> {
        Configuration::load(&self.conf_dir, &generic.conf_files, &generic.overrides)
    }
}

struct Subcommand {
    name: &'static str,
    kind: Kind,
    description: &'static str,
    run: fn(&mut Context<'_>, &[String]) -> i32,
}

const SUBCOMMANDS: &[Subcommand] = &[
    Subcommand {
        name: "dfs",
        kind: Kind::Client,
        description: "run a filesystem command on the file system",
        run: dfs::run,
    },
    Subcommand {
        name: "getconf",
        kind: Kind::Client,
        description: "get config values from configuration",
        run: getconf::run,
    },
    Subcommand {
        name: "haadmin",
        kind: Kind::Admin,
        description: "run a DFS HA admin client",
        run: haadmin::run,
    },
    Subcommand {
        name: "journalnode",
        kind: Kind::Daemon,
        description: "run the DFS journalnode",
        run: journalnode::main,
    },
    Subcommand {
        name: "namenode",
        kind: Kind::Daemon,
        description: "run the DFS namenode",
        run: namenode::main,
    },
    Subcommand {
        name: "zkfc",
        kind: Kind::Daemon,
        description: "run the ZK Failover Controller daemon",
        run: zkfc::main,
    },
    Subcommand {
        name: "version",
        kind: Kind::Client,
        description: "print the version",
        run: version::run,
    },
];

/// `(option, description)` of the shell options, as Hadoop lists them.
const SHELL_OPTIONS: &[(&str, &str)] = &[
    ("--config dir", "Hadoop config directory"),
    ("--daemon (start|status|stop)", "operate on a daemon"),
    ("--help", "usage information"),
    ("--loglevel level", "set the log4j level for this command"),
];

const HELP_WORDS: &[&str] = &["--help", "-help", "-h", "help", "--h", "--?", "-?", "?"];

/// `hdfs`'s usage text (Hadoop's `hadoop_generate_usage`).
pub fn usage() -> String {
    let mut text = String::from("Usage: hdfs [OPTIONS] SUBCOMMAND [SUBCOMMAND OPTIONS]\n\n");
    text.push_str("  OPTIONS is none or any of:\n\n");
    let width = SHELL_OPTIONS
        .iter()
        .map(|(o, _)| o.len())
        .max()
        .unwrap_or(0);
    for (option, description) in SHELL_OPTIONS {
        text.push_str(&format!("{option:<width$}   {description}\n"));
    }
    text.push_str("\n  SUBCOMMAND is one of:\n\n");
    let width = SUBCOMMANDS.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut kinds: Vec<Kind> = SUBCOMMANDS.iter().map(|s| s.kind).collect();
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        text.push_str(&format!("\n    {} Commands:\n\n", kind.heading()));
        let mut names: Vec<&Subcommand> = SUBCOMMANDS.iter().filter(|s| s.kind == kind).collect();
        names.sort_by_key(|s| s.name);
        for sub in names {
            text.push_str(&format!("{:<width$}   {}\n", sub.name, sub.description));
        }
    }
    text.push_str("\nSUBCOMMAND may print help when invoked w/o parameters or with -h.\n");
    text
}

/// Runs a daemon binary (`journalnode`, …) the way `hdfs <daemon>` does: shell options,
/// then generic options, then the daemon.
pub fn daemon_main(name: &str, args: &[String]) -> i32 {
    let mut with_subcommand = vec![name.to_string()];
    with_subcommand.extend(args.iter().cloned());
    hdfs_main(&with_subcommand)
}

/// Runs `hdfs` with `args` (without the program name) on the process's standard streams;
/// returns the exit status.
pub fn hdfs_main(args: &[String]) -> i32 {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    hdfs_main_with(
        args,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
        &mut input,
    )
}

/// Runs `hdfs` with `args` on the given streams.
pub fn hdfs_main_with(
    args: &[String],
    out: &mut dyn Write,
    err: &mut dyn Write,
    input: &mut dyn std::io::BufRead,
) -> i32 {
    let mut conf_dir: Option<String> = None;
    let mut loglevel: Option<String> = None;
    let mut daemon_mode: Option<background::Mode> = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--daemon" => {
                i += 1;
                match background::Mode::parse(args.get(i).map(String::as_str)) {
                    Ok(mode) => daemon_mode = Some(mode),
                    Err(message) => {
                        let _ = writeln!(err, "{message}");
                        let _ = write!(err, "{}", usage());
                        return 1;
                    }
                }
            }
            "--config" => {
                i += 1;
                match args.get(i) {
                    Some(dir) => conf_dir = Some(dir.clone()),
                    None => {
                        let _ = writeln!(err, "ERROR: No parameter provided for --config ");
                        let _ = write!(err, "{}", usage());
                        return 1;
                    }
                }
            }
            "--loglevel" => {
                i += 1;
                match args.get(i) {
                    Some(level) => loglevel = Some(level.clone()),
                    None => {
                        let _ = writeln!(err, "ERROR: No parameter provided for --loglevel");
                        let _ = write!(err, "{}", usage());
                        return 1;
                    }
                }
            }
            word if HELP_WORDS.contains(&word) => {
                let _ = write!(out, "{}", usage());
                return 0;
            }
            _ => break,
        }
        i += 1;
    }
    crate::log::init(&crate::log::level_from(loglevel.as_deref()));

    let Some(name) = args.get(i) else {
        let _ = write!(err, "{}", usage());
        return 1;
    };
    let Some(sub) = SUBCOMMANDS.iter().find(|s| s.name == name) else {
        let _ = writeln!(
            err,
            "ERROR: {name} is not COMMAND nor fully qualified CLASSNAME."
        );
        let _ = write!(err, "{}", usage());
        return 1;
    };
    let conf_dir = match resolve_conf_dir(conf_dir.as_deref()) {
        Ok(dir) => dir,
        Err(message) => {
            let _ = writeln!(err, "{message}");
            return 1;
        }
    };
    if let Some(mode) = daemon_mode.filter(|_| sub.kind == Kind::Daemon) {
        return in_background(
            mode,
            sub.name,
            &conf_dir,
            loglevel.as_deref(),
            &args[i + 1..],
            err,
        );
    }
    let mut ctx = Context {
        conf_dir,
        out,
        err,
        input,
    };
    (sub.run)(&mut ctx, &args[i + 1..])
}

/// `hdfs --daemon MODE <daemon> ARGS`: the daemon is `hdfs <daemon> ARGS` (this same program,
/// with the same configuration directory and log level) run in the background. As in Hadoop,
/// `--daemon` is ignored for subcommands that are not daemons.
fn in_background(
    mode: background::Mode,
    daemon: &str,
    conf_dir: &Path,
    loglevel: Option<&str>,
    args: &[String],
    err: &mut dyn Write,
) -> i32 {
    let files = background::DaemonFiles::from_env(daemon, conf_dir);
    match mode {
        background::Mode::Status => background::status(&files, daemon).exit_code(),
        background::Mode::Stop => background::stop(&files, daemon, err),
        background::Mode::Start => {
            let program = std::env::current_exe()
                .ok()
                .map(|exe| exe.with_file_name("hdfs"))
                .filter(|hdfs| hdfs.is_file())
                .unwrap_or_else(|| PathBuf::from("hdfs"));
            let mut command = vec![
                program.display().to_string(),
                "--config".to_string(),
                conf_dir.display().to_string(),
            ];
            if let Some(level) = loglevel {
                command.extend(["--loglevel".to_string(), level.to_string()]);
            }
            command.push(daemon.to_string());
            command.extend(args.iter().cloned());
            background::start(&files, daemon, &command, err)
        }
    }
}

/// A `--config` directory that is not there (the text of Hadoop's `hadoop-functions.sh`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ERROR: Cannot find configuration directory \"{}\"", .0.display())]
pub struct NoConfDir(pub PathBuf);

/// The configuration directory: `--config`, else `$HADOOP_CONF_DIR`, else
/// `$HADOOP_HOME/etc/hadoop`, else the `etc/hadoop` of the install this binary belongs to.
pub fn resolve_conf_dir(explicit: Option<&str>) -> Result<PathBuf, NoConfDir> {
    if let Some(dir) = explicit {
        let path = PathBuf::from(dir);
        return if path.is_dir() {
            Ok(path)
        } else {
            Err(NoConfDir(path))
        };
    }
    if let Some(dir) = std::env::var_os("HADOOP_CONF_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(home) = std::env::var_os("HADOOP_HOME").filter(|d| !d.is_empty()) {
        return Ok(Path::new(&home).join("etc/hadoop"));
    }
    Ok(install_conf_dir().unwrap_or_else(|| PathBuf::from("etc/hadoop")))
}

/// `etc/hadoop` beside or above the running binary (`<install>/bin/hdfs`, or
/// `<repo>/target/<profile>/hdfs` in a source tree).
fn install_conf_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .take(4)
        .map(|dir| dir.join("etc/hadoop"))
        .find(|candidate| candidate.is_dir())
}

/// Parses generic options and loads the configuration, reporting failures the way every
/// subcommand does: a bad option prints the tool's usage and exits `usage_code`; a broken
/// configuration prints the error naming the file or key and exits 1 (Hadoop's status for an
/// uncaught exception).
fn generic_and_conf(
    ctx: &mut Context<'_>,
    args: &[String],
    usage_text: &str,
    usage_code: i32,
) -> Result<(GenericOptions, Configuration), i32> {
    let generic = match parse_generic_options(args) {
        Ok(g) => g,
        Err(message) => {
            let _ = writeln!(ctx.err, "{message}");
            let _ = write!(ctx.err, "{usage_text}\n{GENERIC_USAGE}");
            return Err(usage_code);
        }
    };
    match ctx.load_conf(&generic) {
        Ok(conf) => Ok((generic, conf)),
        Err(e) => {
            let _ = writeln!(ctx.err, "{e}");
            Err(1)
        }
    }
}

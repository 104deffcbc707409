//! `zkcli`: a shell like ZooKeeper's `zkCli.sh` (same commands, output and error texts) on
//! the `zookeeper-client` crate, so it talks to our server and to Apache ZooKeeper alike.
//!
//! `zkcli [-server host:port] [-timeout ms] [cmd args...]`: with a command it runs that one
//! command and exits (1 when it failed); without, it reads commands from stdin.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

use std::time::Duration;
use tokio::io::AsyncBufReadExt;

use zookeeper_client as zk;

/// Parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub server: String,
    pub timeout_ms: u64,
    /// The one-shot command, if any.
    pub command: Vec<String>,
}

pub const USAGE: &str = "ZooKeeper -server host:port -timeout ms cmd args
\taddauth scheme auth
\tclose 
\tcreate [-s] [-e] [-c] path [data] [acl]
\tdelete [-v version] path
\tdeleteall path
\tget [-s] [-w] path
\tgetAcl [-s] path
\tgetAllChildrenNumber path
\tgetEphemerals path
\tls [-s] [-w] [-R] path
\tquit 
\tset [-s] [-v version] path data
\tsetAcl [-s] [-v version] path acl
\tstat [-w] path
\tsync path
\twhoami 
";

/// Why a command line or a command did not run; the text is what zkCli.sh prints for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    /// A command without the words it needs: its usage line.
    #[error("{0}")]
    Usage(&'static str),

    /// An unknown command: the whole usage.
    #[error("{}", USAGE.trim_end())]
    UnknownCommand,

    #[error("-{0} needs a value")]
    FlagValue(char),

    #[error("Unknown perm type: {0}")]
    Perm(char),

    #[error("{0} does not have the form scheme:id:perm")]
    AclForm(String),

    /// ZooKeeper refused an operation on `path`.
    #[error("{}", keeper_text(.err, .path))]
    Keeper { err: zk::Error, path: String },

    #[error("Authentication failed: {0}")]
    Auth(zk::Error),

    #[error("Sync returned {0}")]
    Sync(zk::Error),

    #[error("whoami failed: {0}")]
    WhoAmI(zk::Error),
}

/// The error of an operation on `path`.
fn on(path: &str) -> impl FnOnce(zk::Error) -> CliError + '_ {
    move |err| CliError::Keeper {
        err,
        path: path.to_string(),
    }
}

pub fn parse_args(args: &[String]) -> Result<Options, CliError> {
    let mut opts = Options {
        server: "localhost:2181".into(),
        timeout_ms: 30_000,
        command: Vec::new(),
    };
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-server" => {
                opts.server = args
                    .get(i + 1)
                    .ok_or(CliError::Usage("-server needs host:port"))?
                    .clone();
                i += 2;
            }
            "-timeout" => {
                opts.timeout_ms = args
                    .get(i + 1)
                    .and_then(|t| t.parse().ok())
                    .ok_or(CliError::Usage("-timeout needs milliseconds"))?;
                i += 2;
            }
            "-r" | "-waitforconnection" => i += 1,
            _ => {
                opts.command = args[i..].to_vec();
                break;
            }
        }
    }
    Ok(opts)
}

/// `Date.toString()` in the local time zone, as zkCli prints times:
/// `Sun Nov 22 00:36:07 UTC 2026`.
pub fn java_date(ms: i64) -> String {
    crate::wall_clock::WallClock::local(ms).java_date()
}

/// zkCli's `StatPrinter`.
pub fn format_stat(s: &zk::Stat) -> String {
    format!(
        "cZxid = 0x{:x}\nctime = {}\nmZxid = 0x{:x}\nmtime = {}\npZxid = 0x{:x}\ncversion = {}\ndataVersion = {}\naclVersion = {}\nephemeralOwner = 0x{:x}\ndataLength = {}\nnumChildren = {}\n",
        s.czxid,
        java_date(s.ctime),
        s.mzxid,
        java_date(s.mtime),
        s.pzxid,
        s.cversion,
        s.version,
        s.aversion,
        s.ephemeral_owner,
        s.data_length,
        s.num_children
    )
}

/// zkCli's permission letters, in its order.
pub fn perm_string(p: zk::Permission) -> String {
    let mut s = String::new();
    for (perm, c) in [
        (zk::Permission::CREATE, 'c'),
        (zk::Permission::DELETE, 'd'),
        (zk::Permission::READ, 'r'),
        (zk::Permission::WRITE, 'w'),
        (zk::Permission::ADMIN, 'a'),
    ] {
        if p.has(perm) {
            s.push(c);
        }
    }
    s
}

fn parse_perms(text: &str) -> Result<zk::Permission, CliError> {
    let mut p = zk::Permission::NONE;
    for c in text.chars() {
        p = p | match c {
            'c' => zk::Permission::CREATE,
            'd' => zk::Permission::DELETE,
            'r' => zk::Permission::READ,
            'w' => zk::Permission::WRITE,
            'a' => zk::Permission::ADMIN,
            _ => return Err(CliError::Perm(c)),
        };
    }
    Ok(p)
}

/// `scheme:id:perms[,...]`; the id may itself hold colons (digest).
pub fn parse_acl(text: &str) -> Result<Vec<zk::Acl>, CliError> {
    let mut out = Vec::new();
    for part in text.split(',') {
        let first = part.find(':');
        let last = part.rfind(':');
        let (Some(first), Some(last)) = (first, last) else {
            return Err(CliError::AclForm(part.to_string()));
        };
        if first == last {
            return Err(CliError::AclForm(part.to_string()));
        }
        let perms = parse_perms(&part[last + 1..])?;
        out.push(zk::Acl::new(
            perms,
            zk::AuthId::new(&part[..first], &part[first + 1..last]),
        ));
    }
    Ok(out)
}

/// zkCli's text for a failed operation on `path`.
fn keeper_text(err: &zk::Error, path: &str) -> String {
    match err {
        zk::Error::NoNode => format!("Node does not exist: {path}"),
        zk::Error::NodeExists => format!("Node already exists: {path}"),
        zk::Error::NotEmpty => format!("Node not empty: {path}"),
        zk::Error::NoChildrenForEphemerals => format!("Ephemerals cannot have children: {path}"),
        zk::Error::NoAuth => format!("Insufficient permission : {path}"),
        zk::Error::BadVersion => format!("version No is not valid : {path}"),
        zk::Error::BadArguments(_) => format!("Arguments are not valid : {path}"),
        zk::Error::InvalidAcl => format!("Acl is not valid : {path}"),
        other => format!("KeeperErrorCode = {other} for {path}"),
    }
}

/// Splits a line into words, honouring double and single quotes like zkCli.
pub fn split_words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                any = true;
            }
            None if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            None => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// What a command did: text for stdout and stderr, and whether it failed.
#[derive(Debug, Default)]
pub struct Outcome {
    pub out: String,
    pub err: String,
    pub failed: bool,
    pub quit: bool,
}

impl Outcome {
    fn fail(msg: String) -> Outcome {
        Outcome {
            err: msg + "\n",
            failed: true,
            ..Outcome::default()
        }
    }
}

struct Flags {
    set: Vec<char>,
    values: Vec<(char, String)>,
    rest: Vec<String>,
}

/// Parses `-x` flags (`with_value` take an argument) before the positional words.
fn flags(words: &[String], with_value: &[char]) -> Result<Flags, CliError> {
    let mut f = Flags {
        set: Vec::new(),
        values: Vec::new(),
        rest: Vec::new(),
    };
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if f.rest.is_empty() && w.len() == 2 && w.starts_with('-') {
            let c = w.chars().nth(1).unwrap_or('-');
            if with_value.contains(&c) {
                let v = words.get(i + 1).ok_or(CliError::FlagValue(c))?;
                f.values.push((c, v.clone()));
                i += 2;
                continue;
            }
            f.set.push(c);
        } else {
            f.rest.push(w.clone());
        }
        i += 1;
    }
    Ok(f)
}

impl Flags {
    fn has(&self, c: char) -> bool {
        self.set.contains(&c)
    }
    fn value(&self, c: char) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| *k == c)
            .map(|(_, v)| v.as_str())
    }
}

/// Prints a watch's event when it fires, as zkCli.sh's default watcher does.
fn report_when_fired(watcher: zk::OneshotWatcher) {
    tokio::spawn(async move {
        let event = watcher.changed().await;
        let path = if event.path.is_empty() {
            "null".to_string()
        } else {
            event.path.clone()
        };
        let text = format!(
            "\nWATCHER::\n\nWatchedEvent state:{:?} type:{:?} path:{path}\n",
            event.session_state, event.event_type
        );
        let mut out = std::io::stdout();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    });
}

/// Runs one command line against `client`.
pub async fn execute(client: &zk::Client, words: &[String]) -> Outcome {
    let Some(cmd) = words.first() else {
        return Outcome::default();
    };
    let args = &words[1..];
    let mut o = Outcome::default();
    let result: Result<(), CliError> = async {
        match cmd.as_str() {
            "ls" => {
                let f = flags(args, &[])?;
                let path = f
                    .rest
                    .first()
                    .ok_or(CliError::Usage("ls [-s] [-w] [-R] path"))?;
                if f.has('R') {
                    let mut queue = VecDeque::from([path.clone()]);
                    while let Some(p) = queue.pop_front() {
                        let _ = writeln!(o.out, "{p}");
                        let mut kids = client.list_children(&p).await.map_err(on(&p))?;
                        kids.sort();
                        for k in kids {
                            queue.push_back(if p == "/" {
                                format!("/{k}")
                            } else {
                                format!("{p}/{k}")
                            });
                        }
                    }
                    return Ok(());
                }
                let (mut kids, stat) = if f.has('w') {
                    let (kids, stat, watcher) = client
                        .get_and_watch_children(path)
                        .await
                        .map_err(on(path))?;
                    report_when_fired(watcher);
                    (kids, stat)
                } else {
                    client.get_children(path).await.map_err(on(path))?
                };
                kids.sort();
                let _ = writeln!(o.out, "[{}]", kids.join(", "));
                if f.has('s') {
                    o.out.push_str(&format_stat(&stat));
                }
                Ok(())
            }
            "get" => {
                let f = flags(args, &[])?;
                let path = f
                    .rest
                    .first()
                    .ok_or(CliError::Usage("get [-s] [-w] path"))?;
                let (data, stat) = if f.has('w') {
                    let (data, stat, watcher) =
                        client.get_and_watch_data(path).await.map_err(on(path))?;
                    report_when_fired(watcher);
                    (data, stat)
                } else {
                    client.get_data(path).await.map_err(on(path))?
                };
                let _ = writeln!(o.out, "{}", String::from_utf8_lossy(&data));
                if f.has('s') {
                    o.out.push_str(&format_stat(&stat));
                }
                Ok(())
            }
            "stat" => {
                let f = flags(args, &[])?;
                let path = f.rest.first().ok_or(CliError::Usage("stat [-w] path"))?;
                let stat = if f.has('w') {
                    let (stat, watcher) =
                        client.check_and_watch_stat(path).await.map_err(on(path))?;
                    report_when_fired(watcher);
                    stat
                } else {
                    client.check_stat(path).await.map_err(on(path))?
                };
                match stat {
                    Some(stat) => {
                        o.out.push_str(&format_stat(&stat));
                        Ok(())
                    }
                    None => Err(on(path)(zk::Error::NoNode)),
                }
            }
            "create" => {
                let f = flags(args, &[])?;
                let path = f
                    .rest
                    .first()
                    .ok_or(CliError::Usage("create [-s] [-e] [-c] path [data] [acl]"))?;
                let data = f
                    .rest
                    .get(1)
                    .map(|d| d.as_bytes().to_vec())
                    .unwrap_or_default();
                let acl_list;
                let acls = match f.rest.get(2) {
                    Some(text) => {
                        acl_list = parse_acl(text)?;
                        zk::Acls::new(&acl_list)
                    }
                    None => zk::Acls::anyone_all(),
                };
                let mode = match (f.has('e'), f.has('s'), f.has('c')) {
                    (_, _, true) => zk::CreateMode::Container,
                    (true, true, _) => zk::CreateMode::EphemeralSequential,
                    (true, false, _) => zk::CreateMode::Ephemeral,
                    (false, true, _) => zk::CreateMode::PersistentSequential,
                    (false, false, _) => zk::CreateMode::Persistent,
                };
                let (_, seq) = client
                    .create(path, &data, &mode.with_acls(acls))
                    .await
                    .map_err(on(path))?;
                let created = if f.has('s') {
                    format!("{path}{seq}")
                } else {
                    path.clone()
                };
                let _ = writeln!(o.err, "Created {created}");
                Ok(())
            }
            "set" => {
                let f = flags(args, &['v'])?;
                let (Some(path), Some(data)) = (f.rest.first(), f.rest.get(1)) else {
                    return Err(CliError::Usage("set [-s] [-v version] path data"));
                };
                let version = f.value('v').and_then(|v| v.parse().ok());
                let stat = client
                    .set_data(path, data.as_bytes(), version)
                    .await
                    .map_err(on(path))?;
                if f.has('s') {
                    o.out.push_str(&format_stat(&stat));
                }
                Ok(())
            }
            "delete" => {
                let f = flags(args, &['v'])?;
                let path = f
                    .rest
                    .first()
                    .ok_or(CliError::Usage("delete [-v version] path"))?;
                let version = f.value('v').and_then(|v| v.parse().ok());
                client.delete(path, version).await.map_err(on(path))
            }
            "deleteall" | "rmr" => {
                let path = args.first().ok_or(CliError::Usage("deleteall path"))?;
                // Children before parents, as ZKUtil.deleteRecursive does.
                let mut order = Vec::new();
                let mut queue = VecDeque::from([path.clone()]);
                while let Some(p) = queue.pop_front() {
                    let kids = match client.list_children(&p).await {
                        Ok(k) => k,
                        Err(zk::Error::NoNode) if p != *path => continue,
                        Err(e) => return Err(on(&p)(e)),
                    };
                    for k in kids {
                        queue.push_back(if p == "/" {
                            format!("/{k}")
                        } else {
                            format!("{p}/{k}")
                        });
                    }
                    order.push(p);
                }
                for p in order.iter().rev() {
                    match client.delete(p, None).await {
                        Ok(()) | Err(zk::Error::NoNode) => {}
                        Err(e) => return Err(on(p)(e)),
                    }
                }
                Ok(())
            }
            "getAcl" => {
                let f = flags(args, &[])?;
                let path = f.rest.first().ok_or(CliError::Usage("getAcl [-s] path"))?;
                let (acls, stat) = client.get_acl(path).await.map_err(on(path))?;
                for a in &acls {
                    let _ = writeln!(
                        o.out,
                        "'{},'{}\n: {}",
                        a.scheme(),
                        a.id(),
                        perm_string(a.permission())
                    );
                }
                if f.has('s') {
                    o.out.push_str(&format_stat(&stat));
                }
                Ok(())
            }
            "setAcl" => {
                let f = flags(args, &['v'])?;
                let (Some(path), Some(text)) = (f.rest.first(), f.rest.get(1)) else {
                    return Err(CliError::Usage("setAcl [-s] [-v version] path acl"));
                };
                let acl = parse_acl(text)?;
                let version = f.value('v').and_then(|v| v.parse().ok());
                let stat = client
                    .set_acl(path, &acl, version)
                    .await
                    .map_err(on(path))?;
                if f.has('s') {
                    o.out.push_str(&format_stat(&stat));
                }
                Ok(())
            }
            "addauth" => {
                let (Some(scheme), auth) = (args.first(), args.get(1)) else {
                    return Err(CliError::Usage("addauth scheme auth"));
                };
                let auth = auth.map(|a| a.as_bytes().to_vec()).unwrap_or_default();
                client.auth(scheme, &auth).await.map_err(CliError::Auth)
            }
            "sync" => {
                let path = args.first().ok_or(CliError::Usage("sync path"))?;
                client.sync(path).await.map_err(CliError::Sync)?;
                let _ = writeln!(o.out, "Sync is OK");
                Ok(())
            }
            "getEphemerals" => {
                let path = args.first().map(String::as_str).unwrap_or("/");
                let paths = client.list_ephemerals(path).await.map_err(on(path))?;
                let _ = writeln!(o.out, "[{}]", paths.join(", "));
                Ok(())
            }
            "getAllChildrenNumber" => {
                let path = args
                    .first()
                    .ok_or(CliError::Usage("getAllChildrenNumber path"))?;
                let n = client
                    .count_descendants_number(path)
                    .await
                    .map_err(on(path))?;
                let _ = writeln!(o.out, "{n}");
                Ok(())
            }
            "whoami" => {
                let users = client.list_auth_users().await.map_err(CliError::WhoAmI)?;
                o.out.push_str("Auth scheme: User\n");
                for u in users {
                    let _ = writeln!(o.out, "{}: {}", u.scheme(), u.user());
                }
                Ok(())
            }
            "quit" | "close" => {
                o.quit = true;
                Ok(())
            }
            _ => Err(CliError::UnknownCommand),
        }
    }
    .await;
    match result {
        Ok(()) => o,
        Err(err) => {
            let mut f = Outcome::fail(err.to_string());
            f.out = o.out;
            f
        }
    }
}

/// The whole program; returns the exit code.
pub fn main(args: &[String]) -> i32 {
    let opts = match parse_args(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return 1;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    runtime.block_on(async {
        eprintln!("Connecting to {}", opts.server);
        let client = match zk::Client::connector()
            .with_session_timeout(Duration::from_millis(opts.timeout_ms))
            .with_connection_timeout(Duration::from_millis(opts.timeout_ms))
            .connect(&opts.server)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("Unable to connect to {}: {e}", opts.server);
                return 1;
            }
        };
        if !opts.command.is_empty() {
            let o = execute(&client, &opts.command).await;
            print!("{}", o.out);
            eprint!("{}", o.err);
            return i32::from(o.failed);
        }
        let interactive = std::io::stdin().is_terminal();
        let mut n = 0;
        // Read commands asynchronously so that watches can report while the shell waits.
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        loop {
            if interactive {
                print!("[zk: {}(CONNECTED) {n}] ", opts.server);
                let _ = std::io::stdout().flush();
            }
            let Ok(Some(line)) = lines.next_line().await else {
                break;
            };
            n += 1;
            let words = split_words(&line);
            let o = execute(&client, &words).await;
            print!("{}", o.out);
            eprint!("{}", o.err);
            let _ = std::io::stdout().flush();
            if o.quit {
                break;
            }
        }
        0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acls_parse_like_zkcli() {
        let acl = parse_acl("world:anyone:cdrwa,digest:u:Jq7w=:r").unwrap();
        assert_eq!(acl.len(), 2);
        assert_eq!((acl[1].scheme(), acl[1].id()), ("digest", "u:Jq7w="));
        assert_eq!(perm_string(acl[0].permission()), "cdrwa");
        assert_eq!(perm_string(acl[1].permission()), "r");
        assert!(parse_acl("world:anyone").is_err());
        assert!(parse_acl("world:anyone:x").is_err());
    }

    #[test]
    fn command_lines() {
        let args: Vec<String> = ["-server", "h:1", "ls", "/"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let o = parse_args(&args).unwrap();
        assert_eq!(
            (o.server.as_str(), o.command.as_slice()),
            ("h:1", &["ls".to_string(), "/".to_string()][..])
        );
        assert_eq!(
            split_words("create /a \"x y\" ''"),
            ["create", "/a", "x y", ""]
        );
        assert_eq!(
            on("/x")(zk::Error::NoNode).to_string(),
            "Node does not exist: /x"
        );
        assert_eq!(
            parse_acl("world:anyone:rwx").unwrap_err().to_string(),
            "Unknown perm type: x"
        );
        assert_eq!(
            parse_acl("world:anyone").unwrap_err(),
            CliError::AclForm("world:anyone".into())
        );
    }
}

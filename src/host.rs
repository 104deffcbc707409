//! Who and where this process is: the machine's host name and the user it runs as, as
//! Hadoop's logs, lock files, banners, daemon file names and `${user.name}` carry them.

use std::sync::OnceLock;

/// The kernel's host name, else `$HOSTNAME`, else `localhost`; read once.
pub fn host_name() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
            .unwrap_or_else(|| "localhost".to_string())
    })
}

/// `$USER`, else `$LOGNAME`, else the name `/etc/passwd` gives this process's real uid (what
/// Java's `user.name` is), else the uid itself.
pub fn user_name() -> String {
    let from_env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    from_env("USER")
        .or_else(|| from_env("LOGNAME"))
        .unwrap_or_else(|| {
            let uid = real_uid();
            std::fs::read_to_string("/etc/passwd")
                .ok()
                .and_then(|passwd| passwd_name(&passwd, &uid))
                .unwrap_or(uid)
        })
}

/// The real uid, from `/proc/self/status` (`Uid:\treal\teffective…`).
fn real_uid() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next().map(str::to_string))
        })
        .unwrap_or_else(|| "0".to_string())
}

/// The name of `uid` in passwd(5) text.
fn passwd_name(passwd: &str, uid: &str) -> Option<String> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() > 2 && fields[2] == uid).then(|| fields[0].to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uid_is_named_from_passwd() {
        let passwd =
            "root:x:0:0:root:/root:/bin/bash\n# comment\nhdfs:x:1001:1001::/home/hdfs:/bin/sh\n";
        assert_eq!(passwd_name(passwd, "1001").as_deref(), Some("hdfs"));
        assert_eq!(passwd_name(passwd, "0").as_deref(), Some("root"));
        assert_eq!(passwd_name(passwd, "7"), None);
        assert!(real_uid().parse::<u32>().is_ok());
    }
}

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

/// The user a Hadoop client acts as (`UserGroupInformation`'s login user under simple
/// authentication): `$HADOOP_USER_NAME`, else the name `/etc/passwd` gives this process's real
/// uid, else `$USER`, else `nobody`.
pub fn current_user() -> String {
    if let Some(name) = std::env::var("HADOOP_USER_NAME")
        .ok()
        .filter(|n| !n.trim().is_empty())
    {
        return name.trim().to_string();
    }
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| passwd_name(&passwd, &real_uid()))
        .or_else(|| std::env::var("USER").ok().filter(|n| !n.is_empty()))
        .unwrap_or_else(|| "nobody".to_string())
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

/// How Java prints a configured address (`InetSocketAddress.getHostName`): an IP literal is
/// named by the first host name `/etc/hosts` gives it (the resolver's `files` source, which
/// is what names loopback addresses); anything else, or an address it does not list, is kept.
pub fn display_host(host: &str) -> String {
    if host.parse::<std::net::IpAddr>().is_err() {
        return host.to_string();
    }
    std::fs::read_to_string("/etc/hosts")
        .ok()
        .and_then(|hosts| name_in_hosts(&hosts, host))
        .unwrap_or_else(|| host.to_string())
}

/// The first name hosts(5) text gives `ip`.
fn name_in_hosts(hosts: &str, ip: &str) -> Option<String> {
    let ip: std::net::IpAddr = ip.parse().ok()?;
    hosts.lines().find_map(|line| {
        let mut fields = line.split('#').next()?.split_whitespace();
        let address: std::net::IpAddr = fields.next()?.parse().ok()?;
        (address == ip).then(|| fields.next().map(str::to_string))?
    })
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
    fn ip_literals_are_named_from_hosts_like_java_names_them() {
        let hosts = "# comment\n127.0.0.1\tlocalhost vm\n::1 ip6-localhost\n127.0.0.1 other\n";
        assert_eq!(
            name_in_hosts(hosts, "127.0.0.1").as_deref(),
            Some("localhost")
        );
        assert_eq!(
            name_in_hosts(hosts, "::1").as_deref(),
            Some("ip6-localhost")
        );
        assert_eq!(name_in_hosts(hosts, "127.0.0.2"), None);
        assert_eq!(name_in_hosts(hosts, "not-an-ip"), None);
        assert_eq!(display_host("m1.example"), "m1.example");
    }

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

//! `host:port` values as Hadoop's `NetUtils.createSocketAddr` reads them: an optional
//! `scheme://` prefix, an IPv6 host in brackets, a default port when the value has none.

use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// A configured endpoint. The host is kept as written (a name or an address literal); it is
/// resolved only when a socket is opened, as Hadoop does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl HostPort {
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        HostPort {
            host: host.into(),
            port,
        }
    }

    /// Parses `target`. `default_port` is used when the value names no port; without one a
    /// port is required. The error text is Hadoop's, without the property suffix.
    pub fn parse(target: &str, default_port: Option<u16>) -> Result<HostPort, String> {
        let invalid = || {
            format!(
                "Does not contain a valid host:port authority: {}",
                target.trim()
            )
        };
        let trimmed = target.trim();
        // `hdfs://host:8020/path` and `qjournal://…` style values carry the authority after
        // the scheme; anything after the authority is ignored.
        let authority = match trimmed.find("://") {
            Some(at) => {
                let rest = &trimmed[at + 3..];
                rest.split('/').next().unwrap_or_default()
            }
            None if trimmed.contains('/') => return Err(invalid()),
            None => trimmed,
        };
        let (host, port_text) = if let Some(rest) = authority.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(invalid)?;
            match after {
                "" => (host, None),
                _ => (host, Some(after.strip_prefix(':').ok_or_else(invalid)?)),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        let host_ok = !host.is_empty()
            && !host
                .chars()
                .any(|c| c.is_whitespace() || c == '@' || c == '/')
            && (authority.starts_with('[') || !host.contains(':'));
        if !host_ok {
            return Err(invalid());
        }
        let port = match port_text {
            Some(text) => text.parse::<u16>().map_err(|_| invalid())?,
            None => default_port.ok_or_else(invalid)?,
        };
        Ok(HostPort::new(host, port))
    }

    /// Resolves the host (a literal address needs no lookup).
    pub fn resolve(&self) -> std::io::Result<SocketAddr> {
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, self.port));
        }
        (self.host.as_str(), self.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{}: no address found", self.host),
                )
            })
    }

    /// Whether this endpoint's host is an address of this machine: as Hadoop's
    /// `NetUtils.isLocalAddress`, decided by whether a socket can be bound to it.
    pub fn is_local(&self) -> bool {
        let Ok(addr) = self.resolve() else {
            return false;
        };
        let ip = addr.ip();
        if ip.is_unspecified() {
            return true;
        }
        std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_forms_hadoop_accepts() {
        let cases = [
            ("nn1.example.com:8020", None, ("nn1.example.com", 8020)),
            ("127.0.0.2:8485", None, ("127.0.0.2", 8485)),
            (" 127.0.0.2:8485 ", None, ("127.0.0.2", 8485)),
            ("j1", Some(8485), ("j1", 8485)),
            ("hdfs://nn1:8020", None, ("nn1", 8020)),
            ("hdfs://nn1:8020/user/x", None, ("nn1", 8020)),
            ("hdfs://nn1", Some(8020), ("nn1", 8020)),
            ("[::1]:2181", None, ("::1", 2181)),
            ("[::1]", Some(2181), ("::1", 2181)),
            ("0.0.0.0:9870", None, ("0.0.0.0", 9870)),
        ];
        for (text, default_port, (host, port)) in cases {
            assert_eq!(
                HostPort::parse(text, default_port).unwrap(),
                HostPort::new(host, port),
                "{text}"
            );
        }
    }

    #[test]
    fn bad_authorities_are_refused_with_hadoops_text() {
        for text in [
            "",
            "nn1",
            "nn1:",
            "nn1:port",
            "nn1:-1",
            "nn1:70000",
            ":8020",
            "a b:1",
            "a/b:1",
            "::1:80",
            "[::1",
            "[::1]x",
        ] {
            let err = HostPort::parse(text, None).unwrap_err();
            assert_eq!(
                err,
                format!(
                    "Does not contain a valid host:port authority: {}",
                    text.trim()
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn display_brackets_ipv6() {
        assert_eq!(HostPort::new("::1", 2181).to_string(), "[::1]:2181");
        assert_eq!(HostPort::new("m1", 2181).to_string(), "m1:2181");
    }

    #[test]
    fn loopback_addresses_are_local_and_foreign_ones_are_not() {
        assert!(HostPort::new("127.0.0.1", 8020).is_local());
        assert!(HostPort::new("127.0.0.3", 8020).is_local());
        // TEST-NET-1 (RFC 5737) is never assigned to a host.
        assert!(!HostPort::new("192.0.2.1", 8020).is_local());
    }
}

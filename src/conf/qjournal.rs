//! The shared-edits URI `qjournal://host1:port1;host2:port2;host3:port3/<journal id>`, parsed as
//! Hadoop's `QuorumJournalManager` does (default JournalNode port 8485).

use std::fmt;

use super::address::HostPort;

/// `dfs.journalnode.rpc-address`'s default port.
pub const DEFAULT_JOURNALNODE_RPC_PORT: u16 = 8485;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QjournalUri {
    /// The JournalNodes, in the order written.
    pub journal_nodes: Vec<HostPort>,
    /// The journal id (conventionally the nameservice id).
    pub journal_id: String,
}

impl QjournalUri {
    /// Whether `uri` is a QJM URI at all (other schemes are other journal managers).
    pub fn is_qjournal(uri: &str) -> bool {
        uri.trim().starts_with("qjournal://")
    }

    /// Parses `uri`; the error is Hadoop's text.
    pub fn parse(uri: &str) -> Result<QjournalUri, String> {
        let uri = uri.trim();
        let rest = uri
            .strip_prefix("qjournal://")
            .ok_or_else(|| format!("Not a qjournal URI (it must start with qjournal://): {uri}"))?;
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(format!("URI has no authority: {uri}"));
        }
        let journal_id = path.strip_prefix('/').unwrap_or_default();
        if journal_id.is_empty() {
            return Err(format!(
                "Bad URI '{uri}': must identify journal in path component"
            ));
        }
        check_journal_id(journal_id)?;
        let journal_nodes = authority
            .split(';')
            .map(|part| HostPort::parse(part.trim(), Some(DEFAULT_JOURNALNODE_RPC_PORT)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(QjournalUri {
            journal_nodes,
            journal_id: journal_id.to_string(),
        })
    }

    /// How Hadoop names the quorum journal manager of this URI in messages:
    /// `QJM to [host1:8485, host2:8485, host3:8485]`.
    pub fn qjm_name(&self) -> String {
        let nodes: Vec<String> = self.journal_nodes.iter().map(|n| n.to_string()).collect();
        format!("QJM to [{}]", nodes.join(", "))
    }

    /// Hadoop's warning for an even JournalNode count (a quorum of 2 of 4 tolerates no more
    /// failures than 2 of 3).
    pub fn even_count_warning(&self) -> Option<String> {
        self.journal_nodes.len().is_multiple_of(2).then(|| {
            format!(
                "Quorum journal URI '{self}' has an even number of Journal Nodes specified. This is not recommended!"
            )
        })
    }
}

/// A journal id must be non-empty, contain no `/` and not start with `.` (Hadoop's
/// `bad journal id: <jid>`).
pub fn check_journal_id(jid: &str) -> Result<(), String> {
    if jid.is_empty() || jid.contains('/') || jid.starts_with('.') {
        Err(format!("bad journal id: {jid}"))
    } else {
        Ok(())
    }
}

impl fmt::Display for QjournalUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes: Vec<String> = self.journal_nodes.iter().map(|n| n.to_string()).collect();
        write!(f, "qjournal://{}/{}", nodes.join(";"), self.journal_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_ha_guide_uri() {
        let uri = QjournalUri::parse(
            "qjournal://node1.example.com:8485;node2.example.com:8485;node3.example.com:8485/mycluster",
        )
        .unwrap();
        assert_eq!(uri.journal_id, "mycluster");
        assert_eq!(
            uri.journal_nodes,
            vec![
                HostPort::new("node1.example.com", 8485),
                HostPort::new("node2.example.com", 8485),
                HostPort::new("node3.example.com", 8485),
            ]
        );
        assert_eq!(uri.even_count_warning(), None);
        assert_eq!(
            uri.qjm_name(),
            "QJM to [node1.example.com:8485, node2.example.com:8485, node3.example.com:8485]"
        );
    }

    #[test]
    fn the_port_defaults_to_8485_and_spaces_around_hosts_are_trimmed() {
        let uri = QjournalUri::parse("qjournal://j1; j2:9000 ;j3/ns1").unwrap();
        assert_eq!(
            uri.journal_nodes,
            vec![
                HostPort::new("j1", 8485),
                HostPort::new("j2", 9000),
                HostPort::new("j3", 8485)
            ]
        );
        assert_eq!(uri.to_string(), "qjournal://j1:8485;j2:9000;j3:8485/ns1");
    }

    #[test]
    fn an_even_count_warns_as_hadoop_does() {
        let uri = QjournalUri::parse("qjournal://a:1;b:2;c:3;d:4/ns").unwrap();
        assert_eq!(
            uri.even_count_warning().unwrap(),
            "Quorum journal URI 'qjournal://a:1;b:2;c:3;d:4/ns' has an even number of Journal Nodes specified. This is not recommended!"
        );
    }

    #[test]
    fn bad_uris_get_hadoops_messages() {
        let cases = [
            (
                "qjournal://a:1;b:2",
                "Bad URI 'qjournal://a:1;b:2': must identify journal in path component",
            ),
            (
                "qjournal://a:1/",
                "Bad URI 'qjournal://a:1/': must identify journal in path component",
            ),
            ("qjournal:///ns1", "URI has no authority: qjournal:///ns1"),
            ("qjournal://a:1/.hidden", "bad journal id: .hidden"),
            ("qjournal://a:1/ns/x", "bad journal id: ns/x"),
            (
                "qjournal://a:x;b:2/ns",
                "Does not contain a valid host:port authority: a:x",
            ),
            (
                "qjournal://a:1;;b:2/ns",
                "Does not contain a valid host:port authority: ",
            ),
            (
                "file:///data/edits",
                "Not a qjournal URI (it must start with qjournal://): file:///data/edits",
            ),
        ];
        for (uri, want) in cases {
            assert_eq!(QjournalUri::parse(uri).unwrap_err(), want, "{uri}");
        }
    }
}

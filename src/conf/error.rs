//! `ConfError`: everything that can be wrong with a configuration, each naming the file, key
//! or value at fault. Where Hadoop or ZooKeeper has a message for the case, the text is theirs.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfError {
    #[error("cannot read configuration file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// A resource that is not well-formed XML, or not a Hadoop configuration document.
    #[error("error parsing conf {resource} at line {line}, column {column}: {reason}")]
    Xml {
        resource: String,
        line: usize,
        column: usize,
        reason: String,
    },

    /// A value that cannot be read as what its key needs.
    #[error("invalid value '{value}' for configuration property '{key}': {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },

    #[error("Missing required configuration '{key}'")]
    Missing { key: String },

    /// `${…}` substitution that never ends (Hadoop's `IllegalStateException` text, then the key).
    #[error("Variable substitution depth too large: {depth} {expr} (value of '{key}')")]
    SubstitutionDepth {
        key: String,
        depth: usize,
        expr: String,
    },

    /// An HA topology that cannot work (Hadoop's `HadoopIllegalArgumentException` texts).
    #[error("{0}")]
    Ha(String),

    /// `dfs.ha.fencing.methods` that cannot be parsed (Hadoop's
    /// `BadFencingConfigurationException` texts).
    #[error("{0}")]
    BadFencingConfiguration(String),

    /// A `zoo.cfg` that ZooKeeper's `QuorumPeerConfig` would refuse.
    #[error("Error processing {path}: {reason}")]
    ZooCfg { path: PathBuf, reason: String },
}

impl ConfError {
    pub(crate) fn invalid(key: &str, value: &str, reason: impl Into<String>) -> Self {
        ConfError::Invalid {
            key: key.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

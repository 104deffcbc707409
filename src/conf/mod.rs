//! Configuration: Hadoop's `Configuration` (XML resources, `<final>`, `${…}`, deprecated
//! names, `-D` overrides, typed getters), the typed HA view of it (nameservices, NameNodes,
//! the shared-edits URI, fencing methods, the ZooKeeper quorum), and ZooKeeper's `zoo.cfg`.
//!
//! Configuration is read once, here, into typed values; deeper code never looks up string keys.
//! Every error names the file, key or value at fault.

mod address;
mod configuration;
mod defaults;
mod error;
mod expand;
mod fencing;
pub mod ha;
pub(crate) mod properties;
mod qjournal;
mod units;
mod xml;
mod zoo_cfg;

pub use address::HostPort;
pub use configuration::{Configuration, Source, split_trimmed};
pub use defaults::{DEFAULTS, DEPRECATIONS};
pub use error::ConfError;
pub use fencing::{DEFAULT_SSH_PORT, FenceMethod, parse_fence_methods};
pub use qjournal::{DEFAULT_JOURNALNODE_RPC_PORT, QjournalUri, check_journal_id};
pub use units::{ConfDuration, TimeUnit};
pub use xml::site_xml;
pub use zoo_cfg::{FOUR_LETTER_WORDS, FourLetterWhitelist, LearnerType, QuorumServer, ZooCfg};

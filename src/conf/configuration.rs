//! `Configuration`: Hadoop's layered key/value configuration.
//!
//! Layers, lowest first: the built-in defaults, then each resource file in the order added
//! (`core-site.xml`, `hdfs-site.xml`, `-conf` files), then `-D key=value` and programmatic
//! settings. A resource that marks a key `<final>` keeps later *resources* from changing it
//! (with Hadoop's warning); `-D` is applied on top regardless, as in Hadoop. Deprecated names are
//! stored and read under their successors. Values are kept raw and `${…}` is expanded on read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::ConfError;
use super::address::HostPort;
use super::defaults::{DEFAULTS, successor};
use super::expand::{self, MAX_SUBSTITUTIONS, VariableSource};
use super::units::{self, ConfDuration, TimeUnit};
use super::xml;

/// Where the effective value of a key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    /// A resource file, by path.
    Resource(String),
    /// `-D key=value`.
    CommandLine,
    /// Set by code (a daemon resolving its own identity, a test).
    Programmatic,
}

#[derive(Debug, Clone)]
struct Property {
    value: String,
    source: Source,
}

/// Where `${env.…}` lookups go: the process environment, or a fixed map (tests, and callers
/// that must not see the environment).
#[derive(Debug, Clone)]
enum Environment {
    Process,
    Fixed(BTreeMap<String, String>),
}

#[derive(Debug, Clone)]
pub struct Configuration {
    props: BTreeMap<String, Property>,
    /// Keys a resource marked final: later resources cannot change them.
    finals: BTreeSet<String>,
    /// Deprecated names already reported (Hadoop reports each once).
    deprecations_reported: BTreeSet<String>,
    /// Warnings and notices produced while loading, in order (also logged).
    notices: Vec<String>,
    environment: Environment,
    /// Java system properties Hadoop's values may refer to (`${user.name}`).
    system_properties: BTreeMap<String, String>,
}

impl Default for Configuration {
    fn default() -> Self {
        Self::new()
    }
}

impl Configuration {
    /// The built-in defaults, with system properties from this process.
    pub fn new() -> Self {
        let mut conf = Self::empty();
        for (key, value) in DEFAULTS {
            conf.props.insert(
                key.to_string(),
                Property {
                    value: value.to_string(),
                    source: Source::Default,
                },
            );
        }
        conf
    }

    /// No defaults at all: only what is added.
    pub fn empty() -> Self {
        Configuration {
            props: BTreeMap::new(),
            finals: BTreeSet::new(),
            deprecations_reported: BTreeSet::new(),
            notices: Vec::new(),
            environment: Environment::Process,
            system_properties: default_system_properties(),
        }
    }

    /// Reads `${env.…}` from `vars` instead of the process environment.
    pub fn with_environment(mut self, vars: BTreeMap<String, String>) -> Self {
        self.environment = Environment::Fixed(vars);
        self
    }

    /// Sets a Java-style system property visible to `${name}`.
    pub fn set_system_property(&mut self, name: &str, value: &str) {
        self.system_properties
            .insert(name.to_string(), value.to_string());
    }

    /// Loads a conf dir as a Hadoop daemon does: `core-site.xml` then `hdfs-site.xml` (each
    /// skipped when absent), then `extra_resources`, then `overrides` (`-D`).
    pub fn load(
        conf_dir: &Path,
        extra_resources: &[std::path::PathBuf],
        overrides: &[(String, String)],
    ) -> Result<Self, ConfError> {
        let mut conf = Configuration::new();
        conf.set_system_property("hadoop.conf.dir", &conf_dir.display().to_string());
        for name in ["core-site.xml", "hdfs-site.xml"] {
            let path = conf_dir.join(name);
            if path.is_file() {
                conf.add_resource_file(&path)?;
            }
        }
        for path in extra_resources {
            conf.add_resource_file(path)?;
        }
        for (key, value) in overrides {
            conf.set_from(key, value, Source::CommandLine);
        }
        Ok(conf)
    }

    /// Adds one resource file on top of what is loaded.
    pub fn add_resource_file(&mut self, path: &Path) -> Result<(), ConfError> {
        let bytes = std::fs::read(path).map_err(|source| ConfError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let name = path.display().to_string();
        let text = String::from_utf8(bytes).map_err(|err| {
            let offset = err.utf8_error().valid_up_to();
            let valid = String::from_utf8_lossy(&err.as_bytes()[..offset]).into_owned();
            let (line, column) = xml::line_and_column(&valid, offset);
            ConfError::Xml {
                resource: name.clone(),
                line,
                column,
                reason: "invalid UTF-8".to_string(),
            }
        })?;
        self.add_resource_str(&name, &text)
    }

    /// Adds one resource given as text; `name` identifies it in messages.
    pub fn add_resource_str(&mut self, name: &str, text: &str) -> Result<(), ConfError> {
        for property in xml::parse_resource(name, text)? {
            let Some(value) = property.value else {
                continue;
            };
            let key = self.canonical_key(&property.name, Some(name));
            if self.finals.contains(&key) {
                let current = self.props.get(&key).map(|p| p.value.as_str());
                if current != Some(value.as_str()) {
                    self.notice(format!(
                        "{name}:an attempt to override final parameter: {};  Ignoring.",
                        property.name
                    ));
                }
                continue;
            }
            self.props.insert(
                key.clone(),
                Property {
                    value,
                    source: Source::Resource(name.to_string()),
                },
            );
            if property.is_final {
                self.finals.insert(key);
            }
        }
        Ok(())
    }

    /// Sets a value programmatically (not subject to `final`).
    pub fn set(&mut self, key: &str, value: &str) {
        self.set_from(key, value, Source::Programmatic);
    }

    /// The defaults with `pairs` set programmatically, later pairs winning.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        let mut conf = Configuration::new();
        for (key, value) in pairs {
            conf.set(key, value);
        }
        conf
    }

    fn set_from(&mut self, key: &str, value: &str, source: Source) {
        let key = self.canonical_key(key, None);
        self.props.insert(
            key,
            Property {
                value: value.to_string(),
                source,
            },
        );
    }

    /// Removes a key, so that reads fall back to nothing (not even the default).
    pub fn unset(&mut self, key: &str) {
        let key = self.canonical_key(key, None);
        self.props.remove(&key);
    }

    /// Maps a deprecated name to its successor, reporting it once.
    fn canonical_key(&mut self, key: &str, resource: Option<&str>) -> String {
        let Some(new) = successor(key) else {
            return key.to_string();
        };
        if self.deprecations_reported.insert(key.to_string()) {
            let place = resource.map(|r| format!(" in {r}")).unwrap_or_default();
            self.notice(format!("{key}{place} is deprecated. Instead, use {new}"));
        }
        new.to_string()
    }

    fn notice(&mut self, text: String) {
        tracing::warn!(target: "conf.Configuration", "{text}");
        self.notices.push(text);
    }

    /// Warnings produced while loading (final overrides, deprecated names), in order.
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// The raw (unexpanded) value.
    pub fn get_raw(&self, key: &str) -> Option<&str> {
        let key = successor(key).unwrap_or(key);
        self.props.get(key).map(|p| p.value.as_str())
    }

    /// Where the effective value of `key` came from.
    pub fn source(&self, key: &str) -> Option<&Source> {
        let key = successor(key).unwrap_or(key);
        self.props.get(key).map(|p| &p.source)
    }

    /// Whether a resource made `key` final.
    pub fn is_final(&self, key: &str) -> bool {
        self.finals.contains(successor(key).unwrap_or(key))
    }

    /// The value with `${…}` expanded; `None` when the key is not set anywhere.
    pub fn get(&self, key: &str) -> Result<Option<String>, ConfError> {
        let Some(raw) = self.get_raw(key) else {
            return Ok(None);
        };
        expand::substitute(raw, self)
            .map(Some)
            .map_err(|err| ConfError::SubstitutionDepth {
                key: key.to_string(),
                depth: MAX_SUBSTITUTIONS,
                expr: err.expr,
            })
    }

    /// The expanded value, trimmed (Hadoop's `getTrimmed`).
    pub fn get_trimmed(&self, key: &str) -> Result<Option<String>, ConfError> {
        Ok(self.get(key)?.map(|v| v.trim().to_string()))
    }

    /// The expanded, trimmed value, `None` when unset or empty: what typed getters parse.
    fn get_nonempty(&self, key: &str) -> Result<Option<String>, ConfError> {
        Ok(self.get_trimmed(key)?.filter(|v| !v.is_empty()))
    }

    /// The first of `key.<suffixes…>` (longest first), down to the bare `key`, that is set —
    /// Hadoop's lookup for keys scoped to a nameservice and a NameNode
    /// (`dfs.namenode.rpc-address.ns1.nn1`, then `….ns1`, then the generic key).
    pub fn scoped_key(&self, key: &str, suffixes: &[&str]) -> String {
        (0..=suffixes.len())
            .rev()
            .map(|n| {
                std::iter::once(key)
                    .chain(suffixes[..n].iter().copied())
                    .collect::<Vec<_>>()
                    .join(".")
            })
            .find(|candidate| self.get_raw(candidate).is_some())
            .unwrap_or_else(|| key.to_string())
    }

    /// `get` of the most specific scoped key that is set.
    pub fn get_scoped(&self, key: &str, suffixes: &[&str]) -> Result<Option<String>, ConfError> {
        self.get(&self.scoped_key(key, suffixes))
    }

    /// A boolean, Hadoop's way: `true`/`false` in any case; anything else (or unset) is
    /// `default`, with a warning when the value was not empty.
    pub fn get_bool(&self, key: &str, default: bool) -> Result<bool, ConfError> {
        let Some(value) = self.get_nonempty(key)? else {
            return Ok(default);
        };
        if value.eq_ignore_ascii_case("true") {
            Ok(true)
        } else if value.eq_ignore_ascii_case("false") {
            Ok(false)
        } else {
            tracing::warn!(
                target: "conf.Configuration",
                "Invalid value for boolean: {value}, choose default value: {default} for {key}"
            );
            Ok(default)
        }
    }

    /// A 64-bit integer (decimal or `0x` hex); `None` when unset or empty.
    pub fn get_long(&self, key: &str) -> Result<Option<i64>, ConfError> {
        let Some(value) = self.get_nonempty(key)? else {
            return Ok(None);
        };
        units::parse_java_long(&value)
            .map(Some)
            .map_err(|err| ConfError::invalid(key, &value, err.0))
    }

    /// A 32-bit integer; `None` when unset or empty.
    pub fn get_int(&self, key: &str) -> Result<Option<i32>, ConfError> {
        let Some(value) = self.get_long(key)? else {
            return Ok(None);
        };
        i32::try_from(value)
            .map(Some)
            .map_err(|_| ConfError::invalid(key, &value.to_string(), "out of range for an int"))
    }

    /// A number of bytes (`64m`); `None` when unset or empty.
    pub fn get_size(&self, key: &str) -> Result<Option<i64>, ConfError> {
        let Some(value) = self.get_nonempty(key)? else {
            return Ok(None);
        };
        units::parse_size(&value)
            .map(Some)
            .map_err(|err| ConfError::invalid(key, &value, err.0))
    }

    /// A time duration; a bare number is in `unit`. `None` when unset or empty.
    pub fn get_time_duration(
        &self,
        key: &str,
        unit: TimeUnit,
    ) -> Result<Option<ConfDuration>, ConfError> {
        let Some(value) = self.get_nonempty(key)? else {
            return Ok(None);
        };
        units::parse_time_duration(&value, unit)
            .map(Some)
            .map_err(|err| ConfError::invalid(key, &value, err.0))
    }

    /// A non-negative duration that must be configured (every key read this way has a
    /// built-in default).
    pub fn get_duration(
        &self,
        key: &str,
        unit: TimeUnit,
    ) -> Result<std::time::Duration, ConfError> {
        let duration = self
            .get_time_duration(key, unit)?
            .ok_or_else(|| ConfError::Missing {
                key: key.to_string(),
            })?;
        duration.to_std().ok_or_else(|| {
            let value = self.get_trimmed(key).ok().flatten().unwrap_or_default();
            ConfError::invalid(key, &value, "must not be negative")
        })
    }

    /// Comma-separated values, each trimmed, empty ones dropped (`getTrimmedStrings`).
    pub fn get_trimmed_strings(&self, key: &str) -> Result<Vec<String>, ConfError> {
        Ok(self
            .get(key)?
            .map(|v| split_trimmed(&v))
            .unwrap_or_default())
    }

    /// A `host:port`; `None` when unset or empty.
    pub fn get_host_port(
        &self,
        key: &str,
        default_port: Option<u16>,
    ) -> Result<Option<HostPort>, ConfError> {
        let Some(value) = self.get_nonempty(key)? else {
            return Ok(None);
        };
        HostPort::parse(&value, default_port)
            .map(Some)
            .map_err(|reason| ConfError::Invalid {
                key: key.to_string(),
                value,
                reason,
            })
    }

    /// Every key with its expanded value, in key order (keys whose expansion fails are given
    /// raw). Used to pass the configuration to fencing scripts.
    pub fn entries(&self) -> Vec<(String, String)> {
        self.props
            .iter()
            .map(|(key, p)| {
                let value = expand::substitute(&p.value, self).unwrap_or_else(|_| p.value.clone());
                (key.clone(), value)
            })
            .collect()
    }

    /// Every key that is set, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.props.keys().map(String::as_str)
    }
}

impl VariableSource for Configuration {
    fn env(&self, name: &str) -> Option<String> {
        match &self.environment {
            Environment::Process => std::env::var(name).ok(),
            Environment::Fixed(vars) => vars.get(name).cloned(),
        }
    }

    fn system_property(&self, name: &str) -> Option<String> {
        self.system_properties.get(name).cloned()
    }

    fn raw(&self, key: &str) -> Option<String> {
        self.get_raw(key).map(str::to_string)
    }
}

/// Splits on commas, trims, drops empty entries.
pub fn split_trimmed(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The system properties a Hadoop JVM would have that configuration values refer to.
fn default_system_properties() -> BTreeMap<String, String> {
    let mut props = BTreeMap::new();
    props.insert("user.name".to_string(), crate::host::user_name());
    if let Ok(home) = std::env::var("HOME") {
        props.insert("user.home".to_string(), home);
    }
    if let Ok(dir) = std::env::current_dir() {
        props.insert("user.dir".to_string(), dir.display().to_string());
    }
    props.insert("java.io.tmpdir".to_string(), "/tmp".to_string());
    for (var, prop) in [
        ("HADOOP_HOME", "hadoop.home.dir"),
        ("HADOOP_LOG_DIR", "hadoop.log.dir"),
        ("HADOOP_IDENT_STRING", "hadoop.id.str"),
    ] {
        if let Ok(value) = std::env::var(var) {
            props.insert(prop.to_string(), value);
        }
    }
    props
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf_with(resources: &[(&str, &str)]) -> Configuration {
        let mut conf = Configuration::new()
            .with_environment([("HADOOP_DATA".to_string(), "/data".to_string())].into());
        conf.set_system_property("user.name", "hdfs");
        for (name, text) in resources {
            conf.add_resource_str(name, text).unwrap();
        }
        conf
    }

    fn site(props: &[(&str, &str, bool)]) -> String {
        let mut xml = String::from("<configuration>\n");
        for (name, value, is_final) in props {
            xml.push_str(&format!(
                "<property><name>{name}</name><value>{value}</value>{}</property>\n",
                if *is_final { "<final>true</final>" } else { "" }
            ));
        }
        xml.push_str("</configuration>\n");
        xml
    }

    #[test]
    fn later_resources_override_earlier_ones_and_defaults() {
        let core = site(&[("fs.defaultFS", "hdfs://a", false), ("x", "core", false)]);
        let hdfs = site(&[("x", "hdfs", false)]);
        let conf = conf_with(&[("core-site.xml", &core), ("hdfs-site.xml", &hdfs)]);
        assert_eq!(conf.get("fs.defaultFS").unwrap().unwrap(), "hdfs://a");
        assert_eq!(conf.get("x").unwrap().unwrap(), "hdfs");
        assert_eq!(
            conf.source("x"),
            Some(&Source::Resource("hdfs-site.xml".into()))
        );
        assert_eq!(conf.get("dfs.ha.zkfc.port").unwrap().unwrap(), "8019");
        assert_eq!(conf.source("dfs.ha.zkfc.port"), Some(&Source::Default));
        assert_eq!(conf.get("no.such.key").unwrap(), None);
    }

    #[test]
    fn final_blocks_later_resources_with_hadoops_warning_but_not_the_command_line() {
        let core = site(&[("dfs.replication", "2", true), ("same", "v", true)]);
        let hdfs = site(&[("dfs.replication", "5", false), ("same", "v", false)]);
        let mut conf = conf_with(&[("core-site.xml", &core), ("hdfs-site.xml", &hdfs)]);
        assert_eq!(conf.get("dfs.replication").unwrap().unwrap(), "2");
        assert!(conf.is_final("dfs.replication"));
        // Only a differing value is reported.
        assert_eq!(
            conf.notices(),
            ["hdfs-site.xml:an attempt to override final parameter: dfs.replication;  Ignoring."]
        );
        conf.set_from("dfs.replication", "7", Source::CommandLine);
        assert_eq!(conf.get("dfs.replication").unwrap().unwrap(), "7");
    }

    #[test]
    fn deprecated_names_are_read_and_written_as_their_successors() {
        let hdfs = site(&[
            ("dfs.name.dir", "/data/nn", false),
            ("fs.default.name", "hdfs://old", false),
        ]);
        let conf = conf_with(&[("hdfs-site.xml", &hdfs)]);
        assert_eq!(
            conf.get("dfs.namenode.name.dir").unwrap().unwrap(),
            "/data/nn"
        );
        assert_eq!(conf.get("dfs.name.dir").unwrap().unwrap(), "/data/nn");
        assert_eq!(conf.get("fs.defaultFS").unwrap().unwrap(), "hdfs://old");
        assert_eq!(
            conf.notices(),
            [
                "dfs.name.dir in hdfs-site.xml is deprecated. Instead, use dfs.namenode.name.dir",
                "fs.default.name in hdfs-site.xml is deprecated. Instead, use fs.defaultFS",
            ]
        );
        let mut conf = conf;
        conf.set_from("dfs.http.address", "0.0.0.0:50070", Source::CommandLine);
        assert_eq!(
            conf.get("dfs.namenode.http-address").unwrap().unwrap(),
            "0.0.0.0:50070"
        );
        assert_eq!(
            conf.notices().last().unwrap(),
            "dfs.http.address is deprecated. Instead, use dfs.namenode.http-address"
        );
    }

    #[test]
    fn defaults_expand_through_system_properties() {
        let conf = conf_with(&[]);
        assert_eq!(
            conf.get("dfs.namenode.edits.dir").unwrap().unwrap(),
            "file:///tmp/hadoop-hdfs/dfs/name"
        );
        let hdfs = site(&[("dfs.journalnode.edits.dir", "${env.HADOOP_DATA}/jn", false)]);
        let conf = conf_with(&[("hdfs-site.xml", &hdfs)]);
        assert_eq!(
            conf.get("dfs.journalnode.edits.dir").unwrap().unwrap(),
            "/data/jn"
        );
    }

    #[test]
    fn a_substitution_cycle_names_the_key() {
        let hdfs = site(&[("a", "${b}", false), ("b", "${a}", false)]);
        let conf = conf_with(&[("hdfs-site.xml", &hdfs)]);
        let err = conf.get("a").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Variable substitution depth too large: 20 ${b} (value of 'a')"
        );
    }

    #[test]
    fn scoped_keys_prefer_the_most_specific() {
        let hdfs = site(&[
            ("dfs.ha.fencing.methods", "shell(/bin/true)", false),
            ("dfs.ha.fencing.methods.ns1", "shell(ns)", false),
            ("dfs.ha.fencing.methods.ns1.nn2", "shell(nn2)", false),
        ]);
        let conf = conf_with(&[("hdfs-site.xml", &hdfs)]);
        let get = |s: &[&str]| {
            conf.get_scoped("dfs.ha.fencing.methods", s)
                .unwrap()
                .unwrap()
        };
        assert_eq!(get(&["ns1", "nn2"]), "shell(nn2)");
        assert_eq!(get(&["ns1", "nn1"]), "shell(ns)");
        assert_eq!(get(&["ns2", "nn1"]), "shell(/bin/true)");
        assert_eq!(get(&[]), "shell(/bin/true)");
    }

    #[test]
    fn typed_getters() {
        let hdfs = site(&[
            ("t.ms", " 1500 ", false),
            ("t.s", "2m", false),
            ("t.neg", "-1", false),
            ("t.bad", "soon", false),
            ("size", "64m", false),
            ("bool.yes", "TRUE", false),
            ("bool.bad", "yes", false),
            ("int.hex", "0x1F", false),
            ("int.big", "99999999999", false),
            ("list", " a, b ,,c ", false),
            ("addr", "m1:8020", false),
            ("addr.bad", "m1:http", false),
            ("empty", "", false),
        ]);
        let conf = conf_with(&[("hdfs-site.xml", &hdfs)]);
        let ms = |k| conf.get_time_duration(k, TimeUnit::Milliseconds);
        assert_eq!(ms("t.ms").unwrap().unwrap().as_millis(), 1500);
        assert_eq!(ms("t.s").unwrap().unwrap().as_millis(), 120_000);
        assert!(ms("t.neg").unwrap().unwrap().is_negative());
        assert_eq!(ms("empty").unwrap(), None);
        let err = ms("t.bad").unwrap_err().to_string();
        assert!(
            err.starts_with("invalid value 'soon' for configuration property 't.bad'"),
            "{err}"
        );
        assert!(conf.get_duration("t.neg", TimeUnit::Seconds).is_err());
        assert_eq!(
            conf.get_duration("dfs.ha.tail-edits.period", TimeUnit::Seconds)
                .unwrap(),
            std::time::Duration::from_secs(60)
        );
        assert_eq!(conf.get_size("size").unwrap(), Some(64 << 20));
        assert!(conf.get_bool("bool.yes", false).unwrap());
        assert!(!conf.get_bool("bool.bad", false).unwrap());
        assert!(conf.get_bool("unset", true).unwrap());
        assert_eq!(conf.get_int("int.hex").unwrap(), Some(31));
        assert!(conf.get_int("int.big").is_err());
        assert_eq!(conf.get_long("int.big").unwrap(), Some(99_999_999_999));
        assert_eq!(conf.get_trimmed_strings("list").unwrap(), ["a", "b", "c"]);
        assert_eq!(
            conf.get_host_port("addr", None).unwrap(),
            Some(HostPort::new("m1", 8020))
        );
        let err = conf
            .get_host_port("addr.bad", None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid value 'm1:http' for configuration property 'addr.bad': \
             Does not contain a valid host:port authority: m1:http"
        );
    }

    #[test]
    fn load_reads_core_then_hdfs_then_overrides_and_skips_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("core-site.xml"),
            site(&[("k", "core", false), ("only.core", "1", false)]),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("hdfs-site.xml"),
            site(&[("k", "hdfs", false)]),
        )
        .unwrap();
        let extra = dir.path().join("extra.xml");
        std::fs::write(&extra, site(&[("extra", "yes", false)])).unwrap();
        let conf = Configuration::load(
            dir.path(),
            &[extra],
            &[("dfs.ha.namenode.id".into(), "nn2".into())],
        )
        .unwrap();
        assert_eq!(conf.get("k").unwrap().unwrap(), "hdfs");
        assert_eq!(conf.get("only.core").unwrap().unwrap(), "1");
        assert_eq!(conf.get("extra").unwrap().unwrap(), "yes");
        assert_eq!(conf.get("dfs.ha.namenode.id").unwrap().unwrap(), "nn2");
        assert_eq!(
            conf.source("dfs.ha.namenode.id"),
            Some(&Source::CommandLine)
        );

        let empty = tempfile::tempdir().unwrap();
        let conf = Configuration::load(empty.path(), &[], &[]).unwrap();
        assert_eq!(conf.get("dfs.nameservices").unwrap().unwrap(), "");
    }

    #[test]
    fn load_names_a_broken_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hdfs-site.xml");
        std::fs::write(&path, "<configuration>\n<property>\n</configuration>\n").unwrap();
        let err = Configuration::load(dir.path(), &[], &[]).unwrap_err();
        match &err {
            ConfError::Xml { resource, line, .. } => {
                assert_eq!(resource, &path.display().to_string());
                assert_eq!(*line, 3);
            }
            other => panic!("{other:?}"),
        }
        std::fs::write(&path, b"<configuration>\xff</configuration>").unwrap();
        let err = Configuration::load(dir.path(), &[], &[]).unwrap_err();
        assert!(err.to_string().contains("invalid UTF-8"), "{err}");
        let err = Configuration::load(dir.path(), &[dir.path().join("nope.xml")], &[]);
        assert!(matches!(
            err,
            Err(ConfError::Xml { .. }) | Err(ConfError::Io { .. })
        ));
    }
}

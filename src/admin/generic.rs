//! Hadoop's generic options (`GenericOptionsParser`), which come right after the subcommand and
//! before the tool's own arguments: `-D key=value` (or `-Dkey=value`), `-conf <file>`,
//! `-fs <uri>`. Parsing stops at the first argument that is not one of them, so
//! `hdfs namenode -D dfs.ha.namenode.id=nn2 -bootstrapStandby` leaves `-bootstrapStandby`
//! to the tool.

use std::path::PathBuf;

/// What the generic options asked for, and the tool's arguments after them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenericOptions {
    /// `-D` settings in command-line order (later ones win).
    pub overrides: Vec<(String, String)>,
    /// `-conf` resources, loaded after hdfs-site.xml.
    pub conf_files: Vec<PathBuf>,
    /// The tool's own arguments.
    pub rest: Vec<String>,
}

/// The generic-options part of a tool's usage text.
pub const GENERIC_USAGE: &str = "\
Generic options supported are:
-conf <configuration file>        specify an application configuration file
-D <property=value>               define a value for a given property
-fs <file:///|hdfs://namenode:port> specify default filesystem URL to use, overrides 'fs.defaultFS' property from configurations.

The general command line syntax is:
command [genericOptions] [commandOptions]
";

/// A generic option the parser refuses (`GenericOptionsParser`'s texts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenericOptionsError {
    #[error("Missing argument for option: {0}")]
    MissingArgument(&'static str),

    #[error("-D expects property=value, got '{0}'")]
    BadSetting(String),
}

/// Parses the generic options at the front of `args`.
pub fn parse_generic_options(args: &[String]) -> Result<GenericOptions, GenericOptionsError> {
    let mut options = GenericOptions::default();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        let mut value_of = |option: &'static str| {
            i += 1;
            args.get(i)
                .cloned()
                .ok_or(GenericOptionsError::MissingArgument(option))
        };
        match arg {
            "-D" => {
                let setting = value_of("D")?;
                options.overrides.push(split_setting(&setting)?);
            }
            "-conf" => options.conf_files.push(PathBuf::from(value_of("conf")?)),
            "-fs" => {
                let uri = value_of("fs")?;
                let uri = if uri == "local" {
                    "file:///".to_string()
                } else {
                    uri
                };
                options.overrides.push(("fs.defaultFS".to_string(), uri));
            }
            _ if arg.starts_with("-D") && arg.len() > 2 => {
                options.overrides.push(split_setting(&arg[2..])?);
            }
            "--" => {
                i += 1;
                break;
            }
            _ => break,
        }
        i += 1;
    }
    options.rest = args[i.min(args.len())..].to_vec();
    Ok(options)
}

fn split_setting(setting: &str) -> Result<(String, String), GenericOptionsError> {
    match setting.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(GenericOptionsError::BadSetting(setting.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn real_command_lines() {
        let parsed = parse_generic_options(&args(
            "-D dfs.ha.namenode.id=nn2 -bootstrapStandby -nonInteractive",
        ))
        .unwrap();
        assert_eq!(
            parsed.overrides,
            [("dfs.ha.namenode.id".into(), "nn2".into())]
        );
        assert_eq!(parsed.rest, args("-bootstrapStandby -nonInteractive"));

        let parsed = parse_generic_options(&args(
            "-Da=1 -D b=x=y -conf /etc/extra.xml -fs hdfs://mycluster -confKey a -D c=2",
        ))
        .unwrap();
        assert_eq!(
            parsed.overrides,
            [
                ("a".into(), "1".into()),
                ("b".into(), "x=y".into()),
                ("fs.defaultFS".into(), "hdfs://mycluster".into())
            ]
        );
        assert_eq!(parsed.conf_files, [PathBuf::from("/etc/extra.xml")]);
        // Options after the first tool argument belong to the tool.
        assert_eq!(parsed.rest, args("-confKey a -D c=2"));

        let parsed = parse_generic_options(&args("-fs local")).unwrap();
        assert_eq!(
            parsed.overrides,
            [("fs.defaultFS".into(), "file:///".into())]
        );
        assert!(parsed.rest.is_empty());
        assert_eq!(
            parse_generic_options(&args("-- -D x")).unwrap().rest,
            args("-D x")
        );
    }

    #[test]
    fn missing_or_malformed_values_are_errors() {
        assert_eq!(
            parse_generic_options(&args("-D")).unwrap_err().to_string(),
            "Missing argument for option: D"
        );
        assert_eq!(
            parse_generic_options(&args("-conf"))
                .unwrap_err()
                .to_string(),
            "Missing argument for option: conf"
        );
        assert_eq!(
            parse_generic_options(&args("-D novalue")).unwrap_err(),
            GenericOptionsError::BadSetting("novalue".into())
        );
        assert_eq!(
            GenericOptionsError::BadSetting("novalue".into()).to_string(),
            "-D expects property=value, got 'novalue'"
        );
        assert!(parse_generic_options(&args("-D =x")).is_err());
    }
}

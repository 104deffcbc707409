//! `hdfs getconf`: configuration facts for scripts (`start-dfs.sh` uses `-namenodes` and
//! `-journalNodes`), with Hadoop's usage text, outputs and exit codes (255 on any error).

use super::{Context, GENERIC_USAGE, generic_and_conf};
use crate::conf::{ConfError, Configuration, ha};

const DESCRIPTION: &str =
    "hdfs getconf is utility for getting configuration information from the config file.\n";

/// `(option, usage, description)` in Hadoop's order.
const COMMANDS: &[(&str, &str, &str)] = &[
    (
        "-namenodes",
        "-namenodes",
        "gets list of namenodes in the cluster.",
    ),
    (
        "-secondaryNameNodes",
        "-secondaryNameNodes",
        "gets list of secondary namenodes in the cluster.",
    ),
    (
        "-backupNodes",
        "-backupNodes",
        "gets list of backup nodes in the cluster.",
    ),
    (
        "-journalNodes",
        "-journalNodes",
        "gets list of journal nodes in the cluster.",
    ),
    (
        "-includeFile",
        "-includeFile",
        "gets the include file path that defines the datanodes that can join the cluster.",
    ),
    (
        "-excludeFile",
        "-excludeFile",
        "gets the exclude file path that defines the datanodes that need to decommissioned.",
    ),
    (
        "-nnRpcAddresses",
        "-nnRpcAddresses",
        "gets the namenode rpc addresses",
    ),
    (
        "-confKey",
        "-confKey [key]",
        "gets a specific key from the configuration",
    ),
];

/// Hadoop's `GetConf.USAGE`.
pub fn usage_text() -> String {
    let mut text = format!("{DESCRIPTION}\nhadoop getconf \n");
    for (_, usage, description) in COMMANDS {
        text.push_str(&format!("\t[{usage}]\t\t\t{description}\n"));
    }
    text
}

const ERROR: i32 = 255;

pub fn run(ctx: &mut Context<'_>, args: &[String]) -> i32 {
    if args.len() == 1 && (args[0] == "-h" || args[0] == "--help") {
        let _ = write!(ctx.out, "{}\n{GENERIC_USAGE}", usage_text());
        return 0;
    }
    let (generic, conf) = match generic_and_conf(ctx, args, &usage_text(), ERROR) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let rest = &generic.rest;
    let Some(command) = rest
        .first()
        .and_then(|c| {
            COMMANDS
                .iter()
                .find(|(name, _, _)| name.eq_ignore_ascii_case(c))
        })
        .map(|(name, _, _)| *name)
    else {
        let _ = writeln!(ctx.err, "{}", usage_text());
        return ERROR;
    };
    let operands = &rest[1..];
    if command == "-confKey" {
        if operands.len() != 1 {
            let _ = writeln!(ctx.err, "usage: -confKey [key]");
            return ERROR;
        }
    } else if let Some(extra) = operands.first() {
        let _ = writeln!(ctx.err, "Did not expect argument: {extra}");
        return ERROR;
    }
    match answer(&conf, command, operands) {
        Ok(text) => {
            let _ = writeln!(ctx.out, "{text}");
            0
        }
        Err(message) => {
            let _ = writeln!(ctx.err, "{message}");
            ERROR
        }
    }
}

/// Why `getconf` has no answer (`GetConf`'s texts).
#[derive(Debug, thiserror::Error)]
enum GetConfError {
    #[error("Incorrect configuration: {what} address {key} is not configured.")]
    NotConfigured {
        what: &'static str,
        key: &'static str,
    },

    #[error("Configuration {0} is missing.")]
    Missing(String),

    #[error(transparent)]
    Conf(#[from] ConfError),
}

/// The text `command` prints, or the error it reports.
fn answer(
    conf: &Configuration,
    command: &str,
    operands: &[String],
) -> Result<String, GetConfError> {
    let hosts = |addresses: Vec<ha::NameNodeAddress>| {
        addresses
            .into_iter()
            .map(|a| a.address.host)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let not_configured =
        |what: &'static str, key: &'static str| GetConfError::NotConfigured { what, key };
    let result: Result<String, ConfError> = match command {
        "-namenodes" => ha::namenode_service_rpc_addresses(conf).map(hosts),
        "-nnRpcAddresses" => ha::namenode_service_rpc_addresses(conf).map(|addresses| {
            addresses
                .iter()
                .map(|a| a.address.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        }),
        "-secondaryNameNodes" => {
            let key = "dfs.namenode.secondary.http-address";
            match ha::addresses_for_cluster(conf, &[key], 9868) {
                Ok(found) if found.is_empty() => {
                    return Err(not_configured("secondary namenode", key));
                }
                other => other.map(hosts),
            }
        }
        "-backupNodes" => {
            let key = "dfs.namenode.backup.address";
            match ha::addresses_for_cluster(conf, &[key], 50100) {
                Ok(found) if found.is_empty() => return Err(not_configured("backup node", key)),
                other => other.map(hosts),
            }
        }
        "-journalNodes" => ha::journal_node_hosts(conf).map(|hosts| hosts.join(" ")),
        "-includeFile" => return conf_key(conf, "dfs.hosts"),
        "-excludeFile" => return conf_key(conf, "dfs.hosts.exclude"),
        "-confKey" => return conf_key(conf, &operands[0]),
        other => unreachable!("getconf command {other} has no handler"),
    };
    Ok(result?)
}

fn conf_key(conf: &Configuration, key: &str) -> Result<String, GetConfError> {
    conf.get_trimmed(key)?
        .ok_or_else(|| GetConfError::Missing(key.to_string()))
}

//! `dfs.ha.fencing.methods`: one fencing method per line, `#` comments, as Hadoop's
//! `NodeFencer` parses it. A line is `name(arg)` (the argument runs from the first `(` to the
//! final `)`) or a bare `name`, where a name is `[a-zA-Z0-9.$]+`.

use std::fmt;

use super::ConfError;

/// The ssh port `sshfence` uses when the argument names none.
pub const DEFAULT_SSH_PORT: u16 = 22;

/// One configured fencing method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FenceMethod {
    /// `shell(command)`: run with `bash -e -c`; exit status 0 means fenced.
    Shell { command: String },
    /// `sshfence([user][:port])`: ssh to the target's host and kill the process on its RPC
    /// port. `user` is `None` for "the user this process runs as".
    Ssh { user: Option<String>, port: u16 },
}

impl fmt::Display for FenceMethod {
    /// As Hadoop's `FenceMethodWithArg.toString()`: `<class>(<arg>)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FenceMethod::Shell { command } => {
                write!(f, "org.apache.hadoop.ha.ShellCommandFencer({command})")
            }
            FenceMethod::Ssh { user, port } => {
                let user = user.as_deref().unwrap_or("");
                write!(f, "org.apache.hadoop.ha.SshFenceByTcpPort({user}:{port})")
            }
        }
    }
}

/// Parses the whole value of `dfs.ha.fencing.methods`.
pub fn parse_fence_methods(value: &str) -> Result<Vec<FenceMethod>, ConfError> {
    value
        .split('\n')
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .map(parse_fence_line)
        .collect()
}

fn parse_fence_line(line: &str) -> Result<FenceMethod, ConfError> {
    let bad = |msg: String| ConfError::BadFencingConfiguration(msg);
    let is_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '$')
    };
    let (name, arg) = match line.split_once('(') {
        Some((name, rest)) => match rest.strip_suffix(')') {
            Some(arg) if is_name(name) && !arg.is_empty() => (name, Some(arg)),
            _ => return Err(bad(format!("Unable to parse line: '{line}'"))),
        },
        None if is_name(line) => (line, None),
        None => return Err(bad(format!("Unable to parse line: '{line}'"))),
    };
    match name {
        "shell" | "org.apache.hadoop.ha.ShellCommandFencer" => match arg {
            Some(command) => Ok(FenceMethod::Shell {
                command: command.to_string(),
            }),
            None => Err(bad("No argument passed to 'shell' fencing method".into())),
        },
        "sshfence" | "org.apache.hadoop.ha.SshFenceByTcpPort" => parse_ssh_arg(arg.unwrap_or("")),
        "powershell" | "org.apache.hadoop.ha.PowerShellFencer" => Err(bad(format!(
            "Fencing method {name} is for Windows hosts and is not supported; use shell(...) or sshfence"
        ))),
        other => Err(bad(format!(
            "Could not find configured fencing method {other}"
        ))),
    }
}

/// `[user][:port]` (Hadoop's `([^:]+?)?(?::(\d+))?`).
fn parse_ssh_arg(arg: &str) -> Result<FenceMethod, ConfError> {
    let unparsable =
        || ConfError::BadFencingConfiguration(format!("Unable to parse user and SSH port: {arg}"));
    let (user, port) = match arg.split_once(':') {
        Some((user, port)) => (user, Some(port)),
        None => (arg, None),
    };
    let port = match port {
        None => DEFAULT_SSH_PORT,
        Some(digits) if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) => {
            digits.parse::<u16>().map_err(|_| {
                ConfError::BadFencingConfiguration(format!("Port number '{digits}' invalid"))
            })?
        }
        Some(_) => return Err(unparsable()),
    };
    Ok(FenceMethod::Ssh {
        user: (!user.is_empty()).then(|| user.to_string()),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(command: &str) -> FenceMethod {
        FenceMethod::Shell {
            command: command.to_string(),
        }
    }

    fn error(value: &str) -> String {
        parse_fence_methods(value).unwrap_err().to_string()
    }

    #[test]
    fn multi_line_methods_with_comments_and_whitespace() {
        let methods = parse_fence_methods(
            "\n   sshfence(hdfs:2222)   # first try ssh\n\n  # a whole comment line\n\tshell(/bin/true)\n",
        )
        .unwrap();
        assert_eq!(
            methods,
            vec![
                FenceMethod::Ssh {
                    user: Some("hdfs".into()),
                    port: 2222
                },
                shell("/bin/true"),
            ]
        );
        assert_eq!(parse_fence_methods("").unwrap(), vec![]);
        assert_eq!(parse_fence_methods(" # only a comment ").unwrap(), vec![]);
    }

    #[test]
    fn shell_arguments_run_to_the_last_parenthesis() {
        let methods = parse_fence_methods(
            "shell(/path/fence.sh --nameservice=$target_nameserviceid $target_host:$target_port)\nshell(echo a) b)",
        )
        .unwrap();
        assert_eq!(
            methods,
            vec![
                shell(
                    "/path/fence.sh --nameservice=$target_nameserviceid $target_host:$target_port"
                ),
                shell("echo a) b"),
            ]
        );
    }

    #[test]
    fn class_names_are_accepted_as_short_names() {
        let methods = parse_fence_methods(
            "org.apache.hadoop.ha.ShellCommandFencer(true)\norg.apache.hadoop.ha.SshFenceByTcpPort",
        )
        .unwrap();
        assert_eq!(
            methods,
            vec![
                shell("true"),
                FenceMethod::Ssh {
                    user: None,
                    port: 22
                }
            ]
        );
    }

    #[test]
    fn sshfence_arguments() {
        let cases = [
            ("sshfence", None, 22),
            ("sshfence(hdfs)", Some("hdfs"), 22),
            ("sshfence(:2222)", None, 2222),
            ("sshfence(hdfs:2222)", Some("hdfs"), 2222),
        ];
        for (line, user, port) in cases {
            assert_eq!(
                parse_fence_methods(line).unwrap(),
                vec![FenceMethod::Ssh {
                    user: user.map(str::to_string),
                    port
                }],
                "{line}"
            );
        }
        assert_eq!(
            error("sshfence(hdfs:port)"),
            "Unable to parse user and SSH port: hdfs:port"
        );
        assert_eq!(
            error("sshfence(a:1:2)"),
            "Unable to parse user and SSH port: a:1:2"
        );
        assert_eq!(error("sshfence(hdfs:99999)"), "Port number '99999' invalid");
    }

    #[test]
    fn hadoops_parse_errors() {
        assert_eq!(error("shell()"), "Unable to parse line: 'shell()'");
        assert_eq!(error("foobar!"), "Unable to parse line: 'foobar!'");
        assert_eq!(error("shell(true"), "Unable to parse line: 'shell(true'");
        assert_eq!(
            error("shell"),
            "No argument passed to 'shell' fencing method"
        );
        assert_eq!(
            error("shell(true)\ncom.example.MyFencer(x)"),
            "Could not find configured fencing method com.example.MyFencer"
        );
    }

    #[test]
    fn display_matches_hadoops_method_names() {
        assert_eq!(
            shell("/bin/true").to_string(),
            "org.apache.hadoop.ha.ShellCommandFencer(/bin/true)"
        );
        assert_eq!(
            FenceMethod::Ssh {
                user: Some("hdfs".into()),
                port: 22
            }
            .to_string(),
            "org.apache.hadoop.ha.SshFenceByTcpPort(hdfs:22)"
        );
    }
}

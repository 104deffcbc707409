//! `hdfs haadmin`: Hadoop's DFSHAAdmin — query and change the HA state of the NameNodes of a
//! nameservice, check their health, and fail over between them (through the target's ZKFC when
//! automatic failover is on, with the FailoverController otherwise), with Hadoop's usage,
//! messages and exit codes (0, or 255 for every error; reference §5.1).

use std::time::Duration;

use super::namenode::confirm;
use super::{Context, GENERIC_USAGE, generic_and_conf};
use crate::conf::ha;
use crate::conf::{ConfError, Configuration};
use crate::zkfc::conf::{FailoverTimeouts, FencerConf};
use crate::zkfc::failover::{FailoverController, FailoverError};
use crate::zkfc::rpc::{CallError, HaClient, RequestSource, ZkfcClient};
use crate::zkfc::target::{NnTarget, TargetError};

const LOG: &str = "org.apache.hadoop.ha.HAAdmin";

const USAGE_HEADER: &str = "Usage: haadmin [-ns <nameserviceId>]";

/// Exit status of every error (`System.exit(-1)`).
const ERROR: i32 = 255;

/// `(command, arguments, help)`, sorted as Hadoop prints them.
const COMMANDS: &[(&str, Option<&str>, &str)] = &[
    (
        "-checkHealth",
        Some("<serviceId>"),
        "Requests that the service perform a health check.\nThe HAAdmin tool will exit with a non-zero exit code\nif the check fails.",
    ),
    (
        "-failover",
        Some("[--forcefence] [--forceactive] <serviceId> <serviceId>"),
        "Failover from the first service to the second.\nUnconditionally fence services if the --forcefence option is used.\nTry to failover to the target service even if it is not ready if the --forceactive option is used.",
    ),
    (
        "-getAllServiceState",
        None,
        "Returns the state of all the services",
    ),
    (
        "-getServiceState",
        Some("<serviceId>"),
        "Returns the state of the service",
    ),
    (
        "-help",
        Some("<command>"),
        "Displays help on the specified command",
    ),
    (
        "-transitionToActive",
        Some("[--forceactive] <serviceId>"),
        "Transitions the service into Active state",
    ),
    (
        "-transitionToObserver",
        Some("<serviceId>"),
        "Transitions the service into Observer state",
    ),
    (
        "-transitionToStandby",
        Some("<serviceId>"),
        "Transitions the service into Standby state",
    ),
];

const FORCE_MANUAL_PROMPT: &str = "You have specified the --forcemanual flag. This flag is dangerous, as it can induce a split-brain scenario that WILL CORRUPT your HDFS namespace, possibly irrecoverably.\n\nIt is recommended not to use this flag, but instead to shut down the cluster and disable automatic failover if you prefer to manually manage your HA state.\n\nYou may abort safely by answering 'n' or hitting ^C now.\n\nAre you sure you want to continue?";

/// The full usage text.
pub fn usage() -> String {
    let mut text = format!("{USAGE_HEADER}\n");
    for (cmd, args, _) in COMMANDS {
        match args {
            Some(args) => text.push_str(&format!("    [{cmd} {args}]\n")),
            None => text.push_str(&format!("    [{cmd}]\n")),
        }
    }
    text.push('\n');
    text.push_str(GENERIC_USAGE);
    text
}

/// The one-line usage of a command.
fn command_usage(cmd: &str) -> String {
    match COMMANDS.iter().find(|(c, _, _)| *c == cmd) {
        Some((_, Some(args), _)) => format!("{USAGE_HEADER} [{cmd} {args}]"),
        _ => format!("{USAGE_HEADER} [{cmd}]"),
    }
}

/// The options a command accepts (Hadoop adds `forcemanual` to the mutating ones).
fn options_of(cmd: &str) -> &'static [&'static str] {
    match cmd {
        "-failover" => &["forcefence", "forceactive", "forcemanual"],
        "-transitionToActive" => &["forceactive", "forcemanual"],
        "-transitionToStandby" | "-transitionToObserver" => &["forcemanual"],
        _ => &[],
    }
}

/// A command's options and plain arguments, as commons-cli's GnuParser splits them
/// (`-opt` and `--opt` alike); `None` for an option the command does not know.
fn parse_options(cmd: &str, args: &[String]) -> Option<(Vec<&'static str>, Vec<String>)> {
    let known = options_of(cmd);
    let mut options = Vec::new();
    let mut plain = Vec::new();
    for arg in args {
        if arg.starts_with('-') && arg.len() > 1 {
            let name = arg.trim_start_matches('-');
            let option = known.iter().find(|o| **o == name)?;
            if !options.contains(option) {
                options.push(*option);
            }
        } else {
            plain.push(arg.clone());
        }
    }
    Some((options, plain))
}

pub fn run(ctx: &mut Context<'_>, args: &[String]) -> i32 {
    let (generic, conf) = match generic_and_conf(ctx, args, &usage(), ERROR) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(ctx.err, "cannot start the runtime: {e}");
            return ERROR;
        }
    };
    let timeouts = match FailoverTimeouts::from_conf(&conf) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(ctx.err, "{e}");
            return ERROR;
        }
    };
    let mut admin = HaAdmin {
        ctx,
        conf,
        timeouts,
        nameservice: None,
        source: RequestSource::User,
    };
    runtime.block_on(admin.run_cmd(&generic.rest))
}

/// Why a command failed, and how `run` reports it.
enum Failure {
    /// Already reported.
    Reported,
    /// `Illegal argument: <message>`.
    IllegalArgument(String),
    /// `Operation failed: <message>`.
    Io(String),
}

impl From<CallError> for Failure {
    fn from(e: CallError) -> Failure {
        Failure::Io(e.to_string())
    }
}

impl From<ConfError> for Failure {
    fn from(e: ConfError) -> Failure {
        Failure::IllegalArgument(e.to_string())
    }
}

impl From<TargetError> for Failure {
    fn from(e: TargetError) -> Failure {
        Failure::IllegalArgument(e.to_string())
    }
}

struct HaAdmin<'c, 'a> {
    ctx: &'c mut Context<'a>,
    conf: Configuration,
    timeouts: FailoverTimeouts,
    nameservice: Option<String>,
    source: RequestSource,
}

impl HaAdmin<'_, '_> {
    fn err(&mut self, text: &str) {
        let _ = writeln!(self.ctx.err, "{text}");
    }

    fn out(&mut self, text: &str) {
        let _ = writeln!(self.ctx.out, "{text}");
    }

    fn print_usage(&mut self) {
        let text = usage();
        let _ = write!(self.ctx.err, "{text}");
    }

    async fn run_cmd(&mut self, argv: &[String]) -> i32 {
        let mut argv = argv;
        if argv.is_empty() {
            self.print_usage();
            return ERROR;
        }
        if argv[0] == "-ns" {
            let Some(ns) = argv.get(1) else {
                self.err("Missing nameservice ID");
                self.print_usage();
                return ERROR;
            };
            self.nameservice = Some(ns.clone());
            if argv.len() < 3 {
                self.err("Missing command");
                self.print_usage();
                return ERROR;
            }
            argv = &argv[2..];
        }
        let cmd = argv[0].as_str();
        if !cmd.starts_with('-') {
            self.err(&format!(
                "Bad command '{cmd}': expected command starting with '-'"
            ));
            self.print_usage();
            return ERROR;
        }
        if !COMMANDS.iter().any(|(c, _, _)| *c == cmd) {
            self.err(&format!("{}: Unknown command", &cmd[1..]));
            self.print_usage();
            return ERROR;
        }
        let Some((options, args)) = parse_options(cmd, &argv[1..]) else {
            self.err(&format!("{}: incorrect arguments", &cmd[1..]));
            self.err(&command_usage(cmd));
            return ERROR;
        };
        if options.contains(&"forcemanual") {
            if !confirm(self.ctx, FORCE_MANUAL_PROMPT) {
                tracing::error!(target: LOG, "Aborted");
                return ERROR;
            }
            // The NameNodes honour this even with automatic failover.
            self.source = RequestSource::UserForced;
        }
        let result = match cmd {
            "-transitionToActive" => self.transition_to_active(&options, &args).await,
            "-transitionToStandby" => self.transition(cmd, &args, false).await,
            "-transitionToObserver" => self.transition_to_observer(&args).await,
            "-failover" => self.failover(&options, &args).await,
            "-getServiceState" => self.get_service_state(&args).await,
            "-getAllServiceState" => self.get_all_service_state().await,
            "-checkHealth" => self.check_health(&args).await,
            _ => return self.help(argv),
        };
        match result {
            Ok(code) => code,
            Err(Failure::Reported) => ERROR,
            Err(Failure::IllegalArgument(message)) => {
                self.err(&format!("Illegal argument: {message}"));
                ERROR
            }
            Err(Failure::Io(message)) => {
                self.err(&format!("Operation failed: {message}"));
                ERROR
            }
        }
    }

    fn help(&mut self, argv: &[String]) -> i32 {
        if argv.len() == 1 {
            let text = usage();
            let _ = write!(self.ctx.out, "{text}");
            return 0;
        }
        if argv.len() != 2 {
            self.err(&command_usage("-help"));
            return ERROR;
        }
        let mut cmd = argv[1].clone();
        if !cmd.starts_with('-') {
            cmd = format!("-{cmd}");
        }
        match COMMANDS.iter().find(|(c, _, _)| *c == cmd) {
            None => {
                self.err(&format!("{cmd}: Unknown command"));
                self.print_usage();
                ERROR
            }
            Some((_, Some(args), help)) => {
                self.out(&format!("{cmd} [{args}]: {help}"));
                0
            }
            Some((_, None, help)) => {
                self.out(&format!("{cmd}: {help}"));
                0
            }
        }
    }

    /// The nameservice: `-ns`, else the only one configured.
    fn nameservice(&self) -> Result<String, Failure> {
        if let Some(ns) = &self.nameservice {
            return Ok(ns.clone());
        }
        let list = ha::nameservice_ids(&self.conf)?;
        match list.len() {
            1 => Ok(list[0].clone()),
            0 => Err(Failure::IllegalArgument(
                "Unable to determine the name service ID.".into(),
            )),
            _ => Err(Failure::IllegalArgument(format!(
                "Unable to determine the name service ID. This is an HA configuration with multiple name services configured. dfs.nameservices is set to [{}]. Please re-run with the -ns option.",
                list.join(", ")
            ))),
        }
    }

    fn resolve(&self, id: &str) -> Result<NnTarget, Failure> {
        let ns = self.nameservice()?;
        Ok(NnTarget::resolve(&self.conf, &ns, id)?)
    }

    fn target_ids(&self) -> Result<Vec<String>, Failure> {
        let ns = self.nameservice()?;
        Ok(ha::namenode_ids(&self.conf, &ns)?)
    }

    fn wrong_arity(&mut self, cmd: &str) -> Result<i32, Failure> {
        self.err(&format!("{}: incorrect number of arguments", &cmd[1..]));
        self.err(&command_usage(cmd));
        Err(Failure::Reported)
    }

    /// Hadoop's `checkManualStateManagementOK`.
    fn manual_state_management_ok(&mut self, target: &NnTarget) -> bool {
        if !target.auto_failover {
            return true;
        }
        if self.source != RequestSource::UserForced {
            self.err(&format!(
                "Automatic failover is enabled for {target}\nRefusing to manually manage HA state, since it may cause\na split-brain scenario or other incorrect state.\nIf you are very sure you know what you are doing, please \nspecify the --forcemanual flag."
            ));
            return false;
        }
        tracing::warn!(
            target: LOG,
            "Proceeding with manual HA state management even though\nautomatic failover is enabled for {target}"
        );
        true
    }

    async fn client(&self, target: &NnTarget, timeout: Duration) -> Result<HaClient, Failure> {
        Ok(HaClient::connect(&target.address, timeout, 0).await?)
    }

    async fn transition_to_active(
        &mut self,
        options: &[&str],
        args: &[String],
    ) -> Result<i32, Failure> {
        if args.len() != 1 {
            return self.wrong_arity("-transitionToActive");
        }
        if !options.contains(&"forceactive") && self.other_node_active(&args[0]).await? {
            return Err(Failure::Reported);
        }
        self.transition("-transitionToActive", args, true).await
    }

    /// Whether another NameNode is active (or could not be asked): `isOtherTargetNodeActive`.
    async fn other_node_active(&mut self, id: &str) -> Result<bool, Failure> {
        for other in self.target_ids()?.into_iter().filter(|o| o != id) {
            let target = self.resolve(&other)?;
            if !self.manual_state_management_ok(&target) {
                return Ok(true);
            }
            let status = match self.client(&target, Duration::from_millis(5000)).await {
                Ok(client) => client.get_service_status().await,
                Err(Failure::Io(m)) => Err(CallError::Unreachable(m)),
                Err(other) => return Err(other),
            };
            match status {
                Ok(status) if status.state == crate::zkfc::health::ServiceState::Active => {
                    self.err(&format!(
                        "transitionToActive: Node {other} is already active"
                    ));
                    self.err(&command_usage("-transitionToActive"));
                    return Ok(true);
                }
                Ok(_) => {}
                Err(e) => {
                    self.err(&format!("Unexpected error occurred  {e}"));
                    self.err(&command_usage("-transitionToActive"));
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    async fn transition(
        &mut self,
        cmd: &str,
        args: &[String],
        active: bool,
    ) -> Result<i32, Failure> {
        if args.len() != 1 {
            return self.wrong_arity(cmd);
        }
        let target = self.resolve(&args[0])?;
        if !self.manual_state_management_ok(&target) {
            return Err(Failure::Reported);
        }
        let client = self.client(&target, self.timeouts.new_active).await?;
        if active {
            client.transition_to_active(self.source).await?;
        } else {
            client.transition_to_standby(self.source).await?;
        }
        Ok(0)
    }

    async fn transition_to_observer(&mut self, args: &[String]) -> Result<i32, Failure> {
        if args.len() != 1 {
            return self.wrong_arity("-transitionToObserver");
        }
        let target = self.resolve(&args[0])?;
        if !self.manual_state_management_ok(&target) {
            return Err(Failure::Reported);
        }
        let client = self.client(&target, self.timeouts.new_active).await?;
        match client.transition_to_observer(self.source).await {
            Ok(()) => Ok(0),
            Err(CallError::Remote { message, .. }) if message.contains("observer") => {
                self.err(&format!(
                    "The target {target} doesn't support Observer state."
                ));
                Err(Failure::Reported)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn failover(&mut self, options: &[&str], args: &[String]) -> Result<i32, Failure> {
        let force_fence = options.contains(&"forcefence");
        let force_active = options.contains(&"forceactive");
        if options.len() > 3 || args.len() != 2 {
            self.err("failover: incorrect arguments");
            self.err(&command_usage("-failover"));
            return Err(Failure::Reported);
        }
        let from = self.resolve(&args[0])?;
        let to = self.resolve(&args[1])?;
        if from.auto_failover != to.auto_failover {
            self.err(&format!(
                "Inconsistent auto-failover configs between {from} and {to}!"
            ));
            return Err(Failure::Reported);
        }
        if from.auto_failover {
            if force_fence || force_active {
                self.err(
                    "forcefence and forceactive flags not supported with auto-failover enabled.",
                );
                return Err(Failure::Reported);
            }
            // The target's ZKFC coordinates the failover.
            let client = ZkfcClient::connect(&to.zkfc_address, self.timeouts.new_active).await?;
            return match client.graceful_failover().await {
                Ok(()) => {
                    self.out(&format!("Failover to {to} successful"));
                    Ok(0)
                }
                Err(CallError::Remote { class, message }) if class == "ServiceFailedException" => {
                    self.err(&format!("Failover failed: {message}"));
                    Err(Failure::Reported)
                }
                Err(e) => Err(e.into()),
            };
        }
        let fencer = FencerConf::from_conf(&from.conf)?;
        let controller = FailoverController {
            timeouts: self.timeouts,
            fencer,
            source: self.source,
        };
        match controller
            .failover(&from, &to, force_fence, force_active)
            .await
        {
            Ok(()) => {
                self.out(&format!(
                    "Failover from {} to {} successful",
                    args[0], args[1]
                ));
                Ok(0)
            }
            Err(FailoverError::Failed(message)) => {
                self.err(&format!("Failover failed: {message}"));
                Err(Failure::Reported)
            }
            Err(FailoverError::IllegalArgument(message)) => Err(Failure::IllegalArgument(message)),
        }
    }

    async fn get_service_state(&mut self, args: &[String]) -> Result<i32, Failure> {
        if args.len() != 1 {
            return self.wrong_arity("-getServiceState");
        }
        let target = self.resolve(&args[0])?;
        let status = self
            .client(&target, self.timeouts.cli_check)
            .await?
            .get_service_status()
            .await?;
        self.out(&status.state.to_string());
        Ok(0)
    }

    async fn get_all_service_state(&mut self) -> Result<i32, Failure> {
        let ids = self.target_ids()?;
        if ids.is_empty() {
            self.err("Failed to get service IDs");
            return Err(Failure::Reported);
        }
        for id in ids {
            let target = self.resolve(&id)?;
            // Named as Hadoop names it: an IP literal by its /etc/hosts name.
            let address = format!(
                "{}:{}",
                crate::host::display_host(&target.address.host),
                target.address.port
            );
            let state = match self.client(&target, self.timeouts.cli_check).await {
                Ok(client) => client.get_service_status().await.map_err(Failure::from),
                Err(e) => Err(e),
            };
            let state = match state {
                Ok(status) => status.state.to_string(),
                Err(Failure::Io(m)) => format!("Failed to connect: {m}"),
                Err(other) => return Err(other),
            };
            self.out(&format!("{address:<50} {state:<10}"));
        }
        Ok(0)
    }

    async fn check_health(&mut self, args: &[String]) -> Result<i32, Failure> {
        if args.len() != 1 {
            return self.wrong_arity("-checkHealth");
        }
        let target = self.resolve(&args[0])?;
        let client = self.client(&target, self.timeouts.cli_check).await?;
        match client.monitor_health().await {
            Ok(()) => Ok(0),
            Err(e) if e.is_health_check_failure() => {
                self.err(&format!("Health check failed: {e}"));
                Err(Failure::Reported)
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn usage_lists_commands_sorted() {
        let text = usage();
        assert!(text.starts_with(
            "Usage: haadmin [-ns <nameserviceId>]\n    [-checkHealth <serviceId>]\n    [-failover [--forcefence] [--forceactive] <serviceId> <serviceId>]\n    [-getAllServiceState]\n    [-getServiceState <serviceId>]\n    [-help <command>]\n    [-transitionToActive [--forceactive] <serviceId>]\n    [-transitionToObserver <serviceId>]\n    [-transitionToStandby <serviceId>]\n\nGeneric options supported are:"
        ));
        assert_eq!(
            command_usage("-getAllServiceState"),
            "Usage: haadmin [-ns <nameserviceId>] [-getAllServiceState]"
        );
    }

    #[test]
    fn options_before_or_after_the_ids() {
        let (o, a) =
            parse_options("-failover", &args("--forcefence nn1 nn2 -forceactive")).unwrap();
        assert_eq!(o, vec!["forcefence", "forceactive"]);
        assert_eq!(a, args("nn1 nn2"));
        assert!(parse_options("-failover", &args("--forcefoo nn1 nn2")).is_none());
        assert!(parse_options("-getServiceState", &args("--forceactive nn1")).is_none());
        let (o, _) = parse_options("-transitionToStandby", &args("--forcemanual nn1")).unwrap();
        assert_eq!(o, vec!["forcemanual"]);
    }
}

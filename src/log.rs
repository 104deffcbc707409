//! The log line every hdfs-ha binary writes, in log4j's default Hadoop pattern
//! (`%d{ISO8601} %p %c{2}: %m%n`), so that operators' grep habits and log parsers keep working:
//!
//! ```text
//! 2026-11-22 00:10:55,123 INFO conf.Configuration: dfs.name.dir is deprecated. Instead, use dfs.namenode.name.dir
//! ```
//!
//! Timestamps are in the local time zone, as log4j's are (see [`crate::wall_clock`]). The level
//! comes from `--loglevel`, else `HADOOP_ROOT_LOGGER` (`INFO,console`), else `INFO`; `RUST_LOG`
//! overrides both with a full filter.

use std::fmt;
use std::time::SystemTime;

use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::wall_clock::{WallClock, millis_of};

/// Formats events as log4j's Hadoop pattern.
pub struct HadoopFormat;

impl<S, N> FormatEvent<S, N> for HadoopFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let level = match *meta.level() {
            tracing::Level::ERROR => "ERROR",
            tracing::Level::WARN => "WARN",
            tracing::Level::INFO => "INFO",
            tracing::Level::DEBUG => "DEBUG",
            tracing::Level::TRACE => "TRACE",
        };
        write!(
            writer,
            "{} {} {}: ",
            WallClock::local(millis_of(SystemTime::now())).log4j(),
            level,
            short_target(meta.target())
        )?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let ext = span.extensions();
                match ext.get::<tracing_subscriber::fmt::FormattedFields<N>>() {
                    Some(fields) if !fields.is_empty() => {
                        write!(writer, "[{} {}] ", span.name(), fields)?
                    }
                    _ => write!(writer, "[{}] ", span.name())?,
                }
            }
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// log4j's `%c{2}`: the last two components of the logger name (`a::b::c` or `a.b.c`).
fn short_target(target: &str) -> String {
    let parts: Vec<&str> = target.split([':', '.']).filter(|p| !p.is_empty()).collect();
    parts[parts.len().saturating_sub(2)..].join(".")
}

/// The level a command runs at: `--loglevel`, else `HADOOP_ROOT_LOGGER`'s first field.
pub fn level_from(loglevel: Option<&str>) -> String {
    let from_env = std::env::var("HADOOP_ROOT_LOGGER").ok();
    let chosen = loglevel
        .map(str::to_string)
        .or_else(|| from_env.and_then(|v| v.split(',').next().map(str::to_string)))
        .unwrap_or_else(|| "INFO".to_string());
    match chosen.trim().to_ascii_uppercase().as_str() {
        "ALL" | "TRACE" => "trace",
        "DEBUG" => "debug",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        "OFF" => "off",
        _ => "info",
    }
    .to_string()
}

/// Installs the process-wide subscriber writing to stderr. Safe to call more than once.
pub fn init(level: &str) {
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .event_format(HadoopFormat)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_keep_two_components() {
        assert_eq!(
            short_target("hdfs_ha::conf::configuration"),
            "conf.configuration"
        );
        assert_eq!(short_target("conf.Configuration"), "conf.Configuration");
        assert_eq!(short_target("hdfs"), "hdfs");
    }

    #[test]
    fn hadoop_level_names_map_to_filters() {
        assert_eq!(level_from(Some("WARN")), "warn");
        assert_eq!(level_from(Some("debug")), "debug");
        assert_eq!(level_from(Some("FATAL")), "error");
        assert_eq!(level_from(Some("bogus")), "info");
    }
}

//! The log line every hdfs-ha binary writes, in log4j's default Hadoop pattern
//! (`%d{ISO8601} %p %c{2}: %m%n`), so that operators' grep habits and log parsers keep working:
//!
//! ```text
//! 2026-11-22 00:10:55,123 INFO conf.Configuration: dfs.name.dir is deprecated. Instead, use dfs.namenode.name.dir
//! ```
//!
//! Timestamps are UTC. The level comes from `--loglevel`, else `HADOOP_ROOT_LOGGER` (`INFO,console`),
//! else `INFO`; `RUST_LOG` overrides both with a full filter.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

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
            timestamp(SystemTime::now()),
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

/// ISO8601 as log4j writes it: `YYYY-MM-DD HH:MM:SS,mmm` (UTC).
pub fn timestamp(at: SystemTime) -> String {
    let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02},{:03}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        since_epoch.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
    use std::time::Duration;

    #[test]
    fn timestamps_look_like_log4j() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01 00:00:00,000");
        let at = UNIX_EPOCH + Duration::from_millis(1_795_306_255_123);
        assert_eq!(timestamp(at), "2026-11-22 00:10:55,123");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(timestamp(leap), "2000-02-29 00:00:00,000");
    }

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

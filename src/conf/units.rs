//! Hadoop's unit rules for configuration values: time durations (`getTimeDuration`) and byte
//! sizes (`getLongBytes`).
//!
//! A duration may carry a suffix `ns`, `us`, `ms`, `s`, `m`, `h` or `d` (any case); a bare
//! number is read in the unit the key is documented in, which the caller supplies. A size may
//! carry one binary prefix `k`, `m`, `g`, `t`, `p` or `e` (any case).

use std::fmt;

/// The unit a bare number is read in, and the units a suffix may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Nanoseconds,
    Microseconds,
    Milliseconds,
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl TimeUnit {
    /// Suffixes in the order Hadoop's `ParsedTimeDuration` tries them: `ms` must be tried
    /// before `s`, and `ns`/`us` before `s`.
    const SUFFIXES: [(&'static str, TimeUnit); 7] = [
        ("ns", TimeUnit::Nanoseconds),
        ("us", TimeUnit::Microseconds),
        ("ms", TimeUnit::Milliseconds),
        ("s", TimeUnit::Seconds),
        ("m", TimeUnit::Minutes),
        ("h", TimeUnit::Hours),
        ("d", TimeUnit::Days),
    ];

    fn nanos(self) -> i64 {
        match self {
            TimeUnit::Nanoseconds => 1,
            TimeUnit::Microseconds => 1_000,
            TimeUnit::Milliseconds => 1_000_000,
            TimeUnit::Seconds => 1_000_000_000,
            TimeUnit::Minutes => 60 * 1_000_000_000,
            TimeUnit::Hours => 3_600 * 1_000_000_000,
            TimeUnit::Days => 86_400 * 1_000_000_000,
        }
    }
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            TimeUnit::Nanoseconds => "ns",
            TimeUnit::Microseconds => "us",
            TimeUnit::Milliseconds => "ms",
            TimeUnit::Seconds => "s",
            TimeUnit::Minutes => "m",
            TimeUnit::Hours => "h",
            TimeUnit::Days => "d",
        };
        f.write_str(name)
    }
}

/// A duration as configured: it may be negative, which several keys use to mean "disabled"
/// (`dfs.ha.log-roll.period = -1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ConfDuration {
    nanos: i64,
}

impl ConfDuration {
    pub fn from_nanos(nanos: i64) -> Self {
        ConfDuration { nanos }
    }

    pub fn as_nanos(self) -> i64 {
        self.nanos
    }

    /// Whole milliseconds, truncated toward zero as Java's `TimeUnit.convert` does.
    pub fn as_millis(self) -> i64 {
        self.nanos / 1_000_000
    }

    pub fn is_negative(self) -> bool {
        self.nanos < 0
    }

    /// The duration, or `None` when it is negative.
    pub fn to_std(self) -> Option<std::time::Duration> {
        u64::try_from(self.nanos)
            .ok()
            .map(std::time::Duration::from_nanos)
    }
}

/// Why a value is not a valid duration or size; the caller adds the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitError(pub String);

/// Parses a Java-style integer: surrounding whitespace allowed, optional sign, decimal or
/// `0x` hexadecimal (Hadoop's `getInt`/`getLong`).
pub fn parse_java_long(text: &str) -> Result<i64, UnitError> {
    let trimmed = text.trim();
    let (negative, digits) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    let parsed = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i128::from_str_radix(hex, 16),
        None => digits.parse::<i128>(),
    };
    let magnitude = match parsed {
        Ok(value) if !digits.starts_with(['+', '-']) => value,
        _ => return Err(UnitError(format!("'{trimmed}' is not a number"))),
    };
    let value = if negative { -magnitude } else { magnitude };
    i64::try_from(value).map_err(|_| UnitError(format!("'{trimmed}' is out of range")))
}

/// Parses a time duration. `default_unit` applies to a bare number.
pub fn parse_time_duration(text: &str, default_unit: TimeUnit) -> Result<ConfDuration, UnitError> {
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    let (number, unit) = TimeUnit::SUFFIXES
        .iter()
        .find(|(suffix, _)| lower.ends_with(suffix))
        .map(|(suffix, unit)| (&trimmed[..trimmed.len() - suffix.len()], *unit))
        .unwrap_or((trimmed, default_unit));
    let count = parse_java_long(number).map_err(|_| {
        UnitError(format!(
            "'{trimmed}' is not a time duration (a number with an optional unit ns, us, ms, s, m, h or d)"
        ))
    })?;
    count
        .checked_mul(unit.nanos())
        .map(ConfDuration::from_nanos)
        .ok_or_else(|| UnitError(format!("'{trimmed}' is too large a duration")))
}

/// Parses a byte size with an optional binary prefix (`10m` = 10 MiB).
pub fn parse_size(text: &str) -> Result<i64, UnitError> {
    let trimmed = text.trim();
    let Some(last) = trimmed.chars().last() else {
        return Err(UnitError("an empty value is not a size".to_string()));
    };
    let shift = match last.to_ascii_lowercase() {
        'k' => 10,
        'm' => 20,
        'g' => 30,
        't' => 40,
        'p' => 50,
        'e' => 60,
        c if c.is_ascii_digit() => 0,
        _ => {
            return Err(UnitError(format!(
                "'{trimmed}' is not a size (a number with an optional prefix k, m, g, t, p or e)"
            )));
        }
    };
    let number = if shift == 0 {
        trimmed
    } else {
        &trimmed[..trimmed.len() - 1]
    };
    let count = parse_java_long(number).map_err(|_| {
        UnitError(format!(
            "'{trimmed}' is not a size (a number with an optional prefix k, m, g, t, p or e)"
        ))
    })?;
    count
        .checked_mul(1i64 << shift)
        .ok_or_else(|| UnitError(format!("'{trimmed}' is too large a size")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_any_hadoop_suffix_in_any_case() {
        let cases = [
            ("5ns", 5),
            ("5us", 5_000),
            ("5ms", 5_000_000),
            ("5MS", 5_000_000),
            ("5s", 5_000_000_000),
            ("2m", 120_000_000_000),
            ("1h", 3_600_000_000_000),
            ("1d", 86_400_000_000_000),
            (" 30s ", 30_000_000_000),
        ];
        for (text, nanos) in cases {
            let parsed = parse_time_duration(text, TimeUnit::Milliseconds).unwrap();
            assert_eq!(parsed.as_nanos(), nanos, "{text}");
        }
    }

    #[test]
    fn a_bare_number_is_read_in_the_keys_own_unit() {
        assert_eq!(
            parse_time_duration("60", TimeUnit::Seconds)
                .unwrap()
                .as_millis(),
            60_000
        );
        assert_eq!(
            parse_time_duration("1000", TimeUnit::Milliseconds)
                .unwrap()
                .as_millis(),
            1000
        );
    }

    #[test]
    fn negative_durations_are_kept_because_they_mean_disabled() {
        let parsed = parse_time_duration("-1", TimeUnit::Seconds).unwrap();
        assert!(parsed.is_negative());
        assert_eq!(parsed.to_std(), None);
    }

    #[test]
    fn bad_durations_say_what_is_wrong() {
        for text in ["", "ten", "5 sec", "5x", "s", "1.5s"] {
            let err = parse_time_duration(text, TimeUnit::Milliseconds).unwrap_err();
            assert!(err.0.contains("not a time duration"), "{text}: {err:?}");
        }
        let err = parse_time_duration("9223372036854775807d", TimeUnit::Seconds).unwrap_err();
        assert!(err.0.contains("too large"));
    }

    #[test]
    fn sizes_take_binary_prefixes() {
        assert_eq!(parse_size("1048576").unwrap(), 1 << 20);
        assert_eq!(parse_size("1k").unwrap(), 1024);
        assert_eq!(parse_size("10M").unwrap(), 10 << 20);
        assert_eq!(parse_size("2g").unwrap(), 2 << 30);
        assert_eq!(parse_size("1t").unwrap(), 1 << 40);
        assert!(parse_size("1x").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("k").is_err());
        assert!(parse_size("9000000e").unwrap_err().0.contains("too large"));
    }

    #[test]
    fn java_longs_accept_hex_and_whitespace_but_not_garbage() {
        assert_eq!(parse_java_long(" 42 ").unwrap(), 42);
        assert_eq!(parse_java_long("0x10").unwrap(), 16);
        assert_eq!(parse_java_long("-0x10").unwrap(), -16);
        assert_eq!(parse_java_long("-7").unwrap(), -7);
        assert!(parse_java_long("--7").is_err());
        assert!(parse_java_long("0x").is_err());
        assert!(parse_java_long("1e3").is_err());
        assert!(parse_java_long("99999999999999999999").is_err());
    }
}

//! Dates and times as Hadoop and ZooKeeper print them. Java formats a date in the JVM's
//! default time zone — `TZ`, else the system's (`/etc/localtime`), else UTC — and so does
//! every place here where Java would: log lines, `hdfs dfs -ls`, the `#<date>` line of
//! VERSION files, `zkcli stat`'s ctime and mtime. `hdfs dfs -stat`'s `%x` and `%y` are UTC, as
//! Hadoop's `Stat` sets them.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The process's time zone, fixed at first use (as the JVM fixes its default).
pub fn local_zone() -> &'static TimeZone {
    static ZONE: OnceLock<TimeZone> = OnceLock::new();
    ZONE.get_or_init(TimeZone::system)
}

/// Milliseconds since the epoch (negative before it).
pub fn millis_of(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// One moment as a wall clock in one time zone shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WallClock {
    pub year: i16,
    pub month: i8,
    pub day: i8,
    pub hour: i8,
    pub minute: i8,
    pub second: i8,
    pub millis: i16,
    /// Monday is 1, Sunday 7.
    pub weekday: i8,
    /// The zone's abbreviation at that moment (`UTC`, `CET`, `CEST`, …).
    pub zone: String,
}

impl WallClock {
    /// `millis` since the epoch in `zone` (a moment out of range reads as the epoch).
    pub fn in_zone(millis: i64, zone: &TimeZone) -> WallClock {
        let at = Timestamp::from_millisecond(millis).unwrap_or(Timestamp::UNIX_EPOCH);
        let info = zone.to_offset_info(at);
        let civil = info.offset().to_datetime(at);
        WallClock {
            year: civil.year(),
            month: civil.month(),
            day: civil.day(),
            hour: civil.hour(),
            minute: civil.minute(),
            second: civil.second(),
            millis: civil.millisecond(),
            weekday: civil.weekday().to_monday_one_offset(),
            zone: info.abbreviation().to_string(),
        }
    }

    /// `millis` since the epoch in the process's time zone.
    pub fn local(millis: i64) -> WallClock {
        WallClock::in_zone(millis, local_zone())
    }

    /// `millis` since the epoch in UTC.
    pub fn utc(millis: i64) -> WallClock {
        WallClock::in_zone(millis, &TimeZone::UTC)
    }

    /// log4j's `%d{ISO8601}`: `yyyy-MM-dd HH:mm:ss,SSS`.
    pub fn log4j(&self) -> String {
        format!("{},{:03}", self.seconds(), self.millis)
    }

    /// `yyyy-MM-dd HH:mm`, as `hdfs dfs -ls` prints it.
    pub fn minutes(&self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute
        )
    }

    /// `yyyy-MM-dd HH:mm:ss`.
    pub fn seconds(&self) -> String {
        format!("{}:{:02}", self.minutes(), self.second)
    }

    /// `java.util.Date.toString()`: `EEE MMM dd HH:mm:ss zzz yyyy`.
    pub fn java_date(&self) -> String {
        const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!(
            "{} {} {:02} {:02}:{:02}:{:02} {} {}",
            DAYS[(self.weekday - 1) as usize],
            MONTHS[(self.month - 1) as usize],
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.zone,
            self.year
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn utc_dates_in_each_format() {
        for (millis, java, log4j) in [
            (0, "Thu Jan 01 00:00:00 UTC 1970", "1970-01-01 00:00:00,000"),
            (
                951_782_400_000,
                "Tue Feb 29 00:00:00 UTC 2000",
                "2000-02-29 00:00:00,000",
            ),
            (
                1_234_567_890_000,
                "Fri Feb 13 23:31:30 UTC 2009",
                "2009-02-13 23:31:30,000",
            ),
            (
                1_795_306_255_123,
                "Sun Nov 22 00:10:55 UTC 2026",
                "2026-11-22 00:10:55,123",
            ),
            (
                4_107_542_400_000,
                "Mon Mar 01 00:00:00 UTC 2100",
                "2100-03-01 00:00:00,000",
            ),
            (
                -1_000,
                "Wed Dec 31 23:59:59 UTC 1969",
                "1969-12-31 23:59:59,000",
            ),
        ] {
            let clock = WallClock::utc(millis);
            assert_eq!(clock.java_date(), java, "{millis}");
            assert_eq!(clock.log4j(), log4j, "{millis}");
        }
        let clock = WallClock::utc(1_686_670_026_123);
        assert_eq!(clock.minutes(), "2023-06-13 15:27");
        assert_eq!(clock.seconds(), "2023-06-13 15:27:06");
    }

    #[test]
    fn a_zone_with_summer_time_shifts_the_clock_and_names_itself() {
        // Central European time as a POSIX rule, so that no zoneinfo file is needed.
        let cet = TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        let winter = WallClock::in_zone(1_234_567_890_000, &cet);
        assert_eq!(winter.java_date(), "Sat Feb 14 00:31:30 CET 2009");
        let summer = WallClock::in_zone(1_686_670_026_123, &cet);
        assert_eq!(summer.java_date(), "Tue Jun 13 17:27:06 CEST 2023");
        assert_eq!(summer.minutes(), "2023-06-13 17:27");
        let pst = TimeZone::posix("PST8PDT,M3.2.0,M11.1.0").unwrap();
        assert_eq!(
            WallClock::in_zone(0, &pst).java_date(),
            "Wed Dec 31 16:00:00 PST 1969"
        );
    }

    #[test]
    fn millis_of_system_times_either_side_of_the_epoch() {
        assert_eq!(millis_of(UNIX_EPOCH), 0);
        assert_eq!(millis_of(UNIX_EPOCH + Duration::from_millis(1_500)), 1_500);
        assert_eq!(millis_of(UNIX_EPOCH - Duration::from_millis(2_000)), -2_000);
    }
}

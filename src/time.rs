//! The one calendar filmd has: UTC instants as DICOM DA/TM values (PS3.5 6.2), as the
//! fields of PDF and XMP dates, and as the operator's timestamps. No date crate: all that
//! is needed is the proleptic Gregorian date of a Unix time.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp(pub u64);

impl Stamp {
    pub fn now() -> Stamp {
        Stamp::of(SystemTime::now())
    }

    /// The whole seconds of `time` (0 before the epoch).
    pub fn of(time: SystemTime) -> Stamp {
        Stamp(time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
    }

    /// (YYYYMMDD, HHMMSS) in UTC: a DA and a TM value.
    pub fn da_tm(self) -> (String, String) {
        let (y, m, d, h, mi, s) = utc_fields(self.0);
        (
            format!("{y:04}{m:02}{d:02}"),
            format!("{h:02}{mi:02}{s:02}"),
        )
    }

    /// `YYYY-MM-DD HH:MM:SS` in UTC, for people.
    pub fn display(self) -> String {
        let (y, m, d, h, mi, s) = utc_fields(self.0);
        format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}")
    }
}

impl From<Stamp> for SystemTime {
    fn from(stamp: Stamp) -> SystemTime {
        UNIX_EPOCH + std::time::Duration::from_secs(stamp.0)
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`: an RFC 3339 timestamp in UTC with milliseconds, as RFC 5424
/// (syslog TIMESTAMP) and XML Schema `xsd:dateTime` (the audit messages' EventDateTime,
/// which PS3.15 A.5.2.5 wants with its time zone) both take it.
pub fn rfc3339_utc(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (y, m, d, h, mi, s) = utc_fields(since.as_secs());
    format!(
        "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
        since.subsec_millis()
    )
}

/// Unix time in milliseconds: the spool's clock for rows, backoffs and retention.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// (year, month, day, hour, minute, second) in UTC of `secs` since the Unix epoch.
pub fn utc_fields(secs: u64) -> (i64, u32, u32, u64, u64, u64) {
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    (y, m, d, rem / 3600, rem / 60 % 60, rem % 60)
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(Stamp(0).da_tm(), ("19700101".into(), "000000".into()));
        assert_eq!(
            Stamp(1_795_608_000).da_tm(),
            ("20261125".into(), "120000".into())
        );
        assert_eq!(Stamp(951_782_400).da_tm().0, "20000229");
        assert_eq!(Stamp(951_782_400 + 86_399).display(), "2000-02-29 23:59:59");
        assert_eq!(utc_fields(4_107_542_400), (2100, 3, 1, 0, 0, 0));
    }

    #[test]
    fn rfc3339_timestamps_carry_milliseconds_and_utc() {
        let t = UNIX_EPOCH + std::time::Duration::from_millis(1_795_608_000_042);
        assert_eq!(rfc3339_utc(t), "2026-11-25T12:00:00.042Z");
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn instants_before_the_epoch_are_the_epoch() {
        assert_eq!(
            Stamp::of(UNIX_EPOCH - std::time::Duration::from_secs(5)),
            Stamp(0)
        );
        assert_eq!(
            SystemTime::from(Stamp(7)),
            UNIX_EPOCH + std::time::Duration::from_secs(7)
        );
    }
}

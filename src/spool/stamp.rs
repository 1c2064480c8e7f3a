//! Minimal UTC date/time stamps for DA/TM values and file names, without a date crate.

/// Seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp(pub u64);

impl Stamp {
    pub fn now() -> Stamp {
        Stamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        )
    }
    /// (YYYYMMDD, HHMMSS) in UTC.
    pub fn da_tm(self) -> (String, String) {
        let days = (self.0 / 86_400) as i64;
        let secs = self.0 % 86_400;
        // Civil-from-days (Howard Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        (
            format!("{y:04}{m:02}{d:02}"),
            format!("{:02}{:02}{:02}", secs / 3600, secs / 60 % 60, secs % 60),
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_dates() {
        assert_eq!(
            super::Stamp(0).da_tm(),
            ("19700101".into(), "000000".into())
        );
        assert_eq!(
            super::Stamp(1_795_608_000).da_tm(),
            ("20261125".into(), "120000".into())
        );
        assert_eq!(super::Stamp(951_782_400).da_tm().0, "20000229");
    }
}

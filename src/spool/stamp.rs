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
        let (y, m, d, h, mi, s) = crate::backend::pdfa::utc_fields(self.0);
        (
            format!("{y:04}{m:02}{d:02}"),
            format!("{h:02}{mi:02}{s:02}"),
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

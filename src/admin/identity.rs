//! The identity an operator gives a job (`filmd assign`, the console's assign form, the
//! JSON API): which attributes, and their values checked against their Value
//! Representation (PS3.5 6.2) before the PACS sees them.

use crate::spool::Identity;

/// The attributes an operator may give, with their VR (PS3.6): `filmd assign`'s options
/// and the console's form fields, by DICOM keyword.
pub const ASSIGNABLE: &[(&str, Vr)] = &[
    ("PatientID", Vr::Lo),
    ("PatientName", Vr::Pn),
    ("AccessionNumber", Vr::Sh),
    ("StudyInstanceUID", Vr::Ui),
    ("PatientBirthDate", Vr::Da),
    ("PatientSex", Vr::Sex),
];

/// The Value Representations of [`ASSIGNABLE`] (PS3.5 Table 6.2-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vr {
    /// Long String: 64 characters.
    Lo,
    /// Short String: 16 characters.
    Sh,
    /// Person Name: up to three component groups of 64 characters, `^`-separated
    /// components (at most five).
    Pn,
    /// Unique Identifier: 64 characters, numeric components separated by `.`.
    Ui,
    /// Date: `YYYYMMDD`.
    Da,
    /// Patient's Sex (0010,0040), a CS with the enumerated values M, F, O (PS3.3 C.7.1.1).
    Sex,
}

/// Checks an operator's identity fields: known keywords only, values trimmed and valid
/// for their VR, at least one. Returns them trimmed, or why not (for the operator).
pub fn check(fields: &Identity) -> Result<Identity, String> {
    let mut out = Identity::new();
    for (keyword, value) in fields {
        let Some((_, vr)) = ASSIGNABLE.iter().find(|(k, _)| k == keyword) else {
            let known: Vec<&str> = ASSIGNABLE.iter().map(|(k, _)| *k).collect();
            return Err(format!(
                "{keyword} cannot be assigned: one of {}",
                known.join(", ")
            ));
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("{keyword} is empty"));
        }
        check_value(*vr, value).map_err(|why| format!("{keyword} {value:?}: {why}"))?;
        out.insert(keyword.clone(), value.to_string());
    }
    if out.is_empty() {
        return Err("no identity given: at least one of patient ID, name, accession…".into());
    }
    Ok(out)
}

fn check_value(vr: Vr, value: &str) -> Result<(), String> {
    let text = |max: usize| -> Result<(), String> {
        if value.chars().count() > max {
            Err(format!("at most {max} characters"))
        } else if value.contains('\\') {
            Err("no backslash (it separates values)".into())
        } else if value.chars().any(char::is_control) {
            Err("no control characters".into())
        } else {
            Ok(())
        }
    };
    match vr {
        Vr::Lo => text(64),
        Vr::Sh => text(16),
        Vr::Pn => {
            text(3 * 64 + 2)?;
            let groups: Vec<&str> = value.split('=').collect();
            if groups.len() > 3 {
                return Err("at most three component groups (=)".into());
            }
            if groups.iter().any(|g| g.chars().count() > 64) {
                return Err("at most 64 characters per component group".into());
            }
            if groups.iter().any(|g| g.split('^').count() > 5) {
                return Err(
                    "at most five components (^): family^given^middle^prefix^suffix".into(),
                );
            }
            Ok(())
        }
        Vr::Ui => {
            let valid = value.len() <= 64
                && value.split('.').all(|c| {
                    !c.is_empty()
                        && c.bytes().all(|b| b.is_ascii_digit())
                        && (c == "0" || !c.starts_with('0'))
                });
            if valid {
                Ok(())
            } else {
                Err("a UID: digits and dots, at most 64, no empty or zero-led component".into())
            }
        }
        Vr::Da => {
            if valid_date(value) {
                Ok(())
            } else {
                Err("a date YYYYMMDD".into())
            }
        }
        Vr::Sex => match value {
            "M" | "F" | "O" => Ok(()),
            _ => Err("M, F or O".into()),
        },
    }
}

/// `YYYYMMDD` naming a day of the Gregorian calendar.
fn valid_date(value: &str) -> bool {
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let n = |r: std::ops::Range<usize>| value[r].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (n(0..4), n(4..6), n(6..8));
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(keyword: &str, value: &str) -> Result<Identity, String> {
        check(&[(keyword.to_string(), value.to_string())].into())
    }

    #[test]
    fn values_are_trimmed_and_checked_against_their_vr() {
        assert_eq!(
            one("PatientID", " 123 ").unwrap()["PatientID"],
            "123",
            "trimmed"
        );
        assert!(one("PatientID", &"x".repeat(64)).is_ok());
        assert!(one("PatientID", &"x".repeat(65)).is_err());
        assert!(one("PatientID", "a\\b").is_err());
        assert!(one("AccessionNumber", &"1".repeat(16)).is_ok());
        assert!(one("AccessionNumber", &"1".repeat(17)).is_err());
        assert!(one("PatientName", "Doe^Jane").is_ok());
        assert!(one("PatientName", "Yamada^Tarou=山田^太郎=やまだ^たろう").is_ok());
        assert!(one("PatientName", "a=b=c=d").is_err());
        assert!(one("PatientName", "a^b^c^d^e^f").is_err());
        assert!(one("StudyInstanceUID", "1.2.840.10008.5.1.4").is_ok());
        assert!(one("StudyInstanceUID", "2.25.0").is_ok());
        assert!(one("StudyInstanceUID", "1.02.3").is_err());
        assert!(one("StudyInstanceUID", "1..3").is_err());
        assert!(one("StudyInstanceUID", "1.2.x").is_err());
        assert!(one("StudyInstanceUID", &format!("1.{}", "2".repeat(63))).is_err());
        assert!(one("PatientBirthDate", "20000229").is_ok());
        assert!(
            one("PatientBirthDate", "19000229").is_err(),
            "not a leap year"
        );
        assert!(one("PatientBirthDate", "2000-01-01").is_err());
        assert!(one("PatientSex", "F").is_ok());
        assert!(one("PatientSex", "f").is_err());
        let err = one("PatientSex", "X").unwrap_err();
        assert_eq!(err, "PatientSex \"X\": M, F or O");
    }

    #[test]
    fn unknown_keywords_and_empty_identities_are_refused() {
        let err = one("PatientComments", "x").unwrap_err();
        assert!(
            err.starts_with("PatientComments cannot be assigned"),
            "{err}"
        );
        assert_eq!(one("PatientID", "  ").unwrap_err(), "PatientID is empty");
        assert!(check(&Identity::new()).is_err());
    }
}

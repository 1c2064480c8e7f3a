//! A job's patient identity: regular expressions over the film's texts, whose named groups
//! are DICOM keywords, and the Modality Worklist query built from what they found (PS3.4
//! K.6.1.2) with the mapping of its answer. Print Management carries no patient data.

use crate::spool::{Identity, PrintJob};
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{StandardDataDictionary, tags};
use dicom_object::InMemDicomObject;
use regex::{Regex, RegexBuilder};

/// The keywords an identity may name: the Patient and General Study attributes a stored
/// film carries (PS3.3 C.7.1.1, C.7.2.1). Other Patient IDs (0010,1000) is retired
/// (PS3.6), so it is not among them.
pub const KEYWORDS: &[&str] = &[
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyDescription",
    "StudyID",
];

/// Most patterns a queue may have, and longest pattern: the rules come from the
/// configuration, but a regex's compiled size is bounded too (`size_limit`).
const MAX_PATTERNS: usize = 32;
const MAX_PATTERN_LEN: usize = 1024;
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The tag and VR of an identity keyword (from the standard dictionary); `None` for a
/// keyword outside [`KEYWORDS`].
pub fn keyword_tag(keyword: &str) -> Option<(Tag, VR)> {
    if !KEYWORDS.contains(&keyword) {
        return None;
    }
    let entry = StandardDataDictionary.by_name(keyword)?;
    let tag = entry.tag_range().inner();
    match entry.vr() {
        VirtualVr::Exact(vr) => Some((tag, vr)),
        _ => None,
    }
}

/// Most characters of a value of `vr` (PS3.5 Table 6.2-1; PN per component group).
fn max_chars(vr: VR) -> usize {
    match vr {
        VR::AE | VR::CS | VR::SH => 16,
        VR::DA => 8,
        VR::LO | VR::PN | VR::UI => 64,
        VR::ST => 1024,
        _ => 64,
    }
}

/// A UID as PS3.5 9.1 defines it: digits and dots, no empty or zero-led component, at
/// most 64 characters.
pub fn valid_uid(uid: &str) -> bool {
    uid.len() <= 64
        && !uid.is_empty()
        && uid.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && (c == "0" || !c.starts_with('0'))
        })
}

/// The value of `keyword` as a data set may carry it, or `None` when the keyword is not an
/// identity keyword or the value cannot be one: trimmed; control characters and
/// backslashes (the value delimiter) become spaces in texts; cut to the VR's maximum
/// length; a UI must be a valid UID, a DA eight digits, Patient's Sex M, F or O.
/// The operator's `assign` can use it to check what is typed.
pub fn normalize(keyword: &str, value: &str) -> Option<String> {
    let (_, vr) = keyword_tag(keyword)?;
    let value = value.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    let value = match vr {
        VR::UI => valid_uid(value).then(|| value.to_string())?,
        VR::DA => (value.len() == 8 && value.bytes().all(|b| b.is_ascii_digit()))
            .then(|| value.to_string())?,
        VR::CS => {
            let v = value.to_ascii_uppercase();
            let ok = if keyword == "PatientSex" {
                matches!(v.as_str(), "M" | "F" | "O")
            } else {
                v.len() <= 16
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b' ')
            };
            ok.then_some(v)?
        }
        _ => {
            let cleaned: String = value
                .chars()
                .map(|c| if c.is_control() || c == '\\' { ' ' } else { c })
                .take(max_chars(vr))
                .collect();
            cleaned.trim().to_string()
        }
    };
    (!value.is_empty()).then_some(value)
}

/// The identity rules of a queue: patterns tried in order over the film's texts.
#[derive(Debug, Clone)]
pub struct IdentityRules {
    patterns: Vec<Regex>,
}

impl IdentityRules {
    /// Compiles `patterns`; every named group must be one of [`KEYWORDS`] and each pattern
    /// must name at least one. The error names the pattern (from 1) and what is wrong.
    pub fn parse(patterns: &[String]) -> Result<IdentityRules, String> {
        if patterns.len() > MAX_PATTERNS {
            return Err(format!(
                "{} identity patterns; at most {MAX_PATTERNS}",
                patterns.len()
            ));
        }
        let mut compiled = Vec::with_capacity(patterns.len());
        for (i, p) in patterns.iter().enumerate() {
            let n = i + 1;
            if p.len() > MAX_PATTERN_LEN {
                return Err(format!(
                    "identity pattern {n} is {} bytes long; at most {MAX_PATTERN_LEN}",
                    p.len()
                ));
            }
            let re = RegexBuilder::new(p)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| format!("identity pattern {n}: {e}"))?;
            let names: Vec<&str> = re.capture_names().flatten().collect();
            if names.is_empty() {
                return Err(format!(
                    "identity pattern {n} has no named group; name one after a DICOM keyword, \
                     e.g. (?P<AccessionNumber>...)"
                ));
            }
            if let Some(bad) = names.iter().find(|g| !KEYWORDS.contains(g)) {
                return Err(format!(
                    "identity pattern {n}: group {bad:?} is not one of {}",
                    KEYWORDS.join(", ")
                ));
            }
            compiled.push(re);
        }
        Ok(IdentityRules { patterns: compiled })
    }

    /// True when there is no pattern at all.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// What the patterns find in `texts`. Each pattern is tried on the texts in order; for
    /// each of its groups the first text where the pattern matches with that group set
    /// gives the value (normalized by [`normalize`]; a value that cannot be one is passed
    /// over). A keyword an earlier pattern found is kept over what a later one finds.
    pub fn extract(&self, texts: &[String]) -> Identity {
        let mut found = Identity::new();
        for re in &self.patterns {
            let groups: Vec<&str> = re.capture_names().flatten().collect();
            for text in texts {
                let Some(caps) = re.captures(text) else {
                    continue;
                };
                for g in &groups {
                    if found.contains_key(*g) {
                        continue;
                    }
                    if let Some(v) = caps.name(g).and_then(|m| normalize(g, m.as_str())) {
                        found.insert((*g).to_string(), v);
                    }
                }
                if groups.iter().all(|g| found.contains_key(*g)) {
                    break;
                }
            }
        }
        found
    }
}

/// The texts of a job the rules look at, in order: Film Session Label, Owner ID, then each
/// film's annotation texts in position order; empty ones left out.
pub fn film_texts(job: &PrintJob) -> Vec<String> {
    [&job.film_session_label, &job.owner_id]
        .into_iter()
        .cloned()
        .chain(
            job.films
                .iter()
                .flat_map(|f| f.annotations.iter().map(|a| a.text.clone())),
        )
        .filter(|t| !t.trim().is_empty())
        .collect()
}

/// A value usable as a C-FIND matching key without wildcard or list semantics (PS3.4
/// C.2.2.2: `*` and `?` are wildcards, `\` separates values).
fn single_value_key(v: &str) -> bool {
    !v.contains(['*', '?', '\\'])
}

fn text(tag: Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

/// The Modality Worklist C-FIND identifier for what the rules `found` (PS3.4 K.6.1.2):
/// Single Value Matching on Accession Number and/or Patient ID, return keys for the
/// identity's attributes and a universal (empty) Scheduled Procedure Step Sequence item.
/// `None` when neither key was found (or only with wildcard characters).
pub fn worklist_query(found: &Identity) -> Option<InMemDicomObject> {
    let key = |k: &str| {
        found
            .get(k)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty() && single_value_key(v))
    };
    let accession = key("AccessionNumber");
    let patient_id = key("PatientID");
    if accession.is_none() && patient_id.is_none() {
        return None;
    }
    let mut q = InMemDicomObject::from_element_iter([
        text(tags::ACCESSION_NUMBER, VR::SH, accession.unwrap_or("")),
        text(tags::REFERRING_PHYSICIAN_NAME, VR::PN, ""),
        text(tags::PATIENT_NAME, VR::PN, ""),
        text(tags::PATIENT_ID, VR::LO, patient_id.unwrap_or("")),
        text(tags::ISSUER_OF_PATIENT_ID, VR::LO, ""),
        text(tags::PATIENT_BIRTH_DATE, VR::DA, ""),
        text(tags::PATIENT_SEX, VR::CS, ""),
        text(tags::STUDY_INSTANCE_UID, VR::UI, ""),
        text(tags::REQUESTED_PROCEDURE_DESCRIPTION, VR::LO, ""),
        DataElement::new(
            tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![InMemDicomObject::new_empty()]),
        ),
    ]);
    if !accession.unwrap_or("").is_ascii() || !patient_id.unwrap_or("").is_ascii() {
        q.put(text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"));
    }
    Some(q)
}

/// The identity a worklist item gives: the identity keywords it carries (normalized), and
/// its Requested Procedure Description as the Study Description.
pub fn from_worklist(item: &InMemDicomObject) -> Identity {
    let mut identity = Identity::new();
    let read = |tag: Tag| {
        item.get(tag)
            .and_then(|e| e.to_str().ok())
            .map(|s| s.into_owned())
    };
    for keyword in KEYWORDS {
        if *keyword == "StudyDescription" {
            continue;
        }
        let Some((tag, _)) = keyword_tag(keyword) else {
            continue;
        };
        if let Some(v) = read(tag).and_then(|v| normalize(keyword, &v)) {
            identity.insert((*keyword).to_string(), v);
        }
    }
    if let Some(v) =
        read(tags::REQUESTED_PROCEDURE_DESCRIPTION).and_then(|v| normalize("StudyDescription", &v))
    {
        identity.insert("StudyDescription".into(), v);
    }
    identity
}

/// What the rules found, completed and overridden by the worklist's answer.
pub fn merge(found: &Identity, worklist: &Identity) -> Identity {
    let mut merged = found.clone();
    merged.extend(worklist.iter().map(|(k, v)| (k.clone(), v.clone())));
    merged
}

#[cfg(test)]
mod tests;

//! What filmd keeps of a printer's and a job's IPP attributes: plain, bounded data read
//! out of a parsed response. Everything a printer sends is untrusted, so every list and
//! string kept here is cut to [`MAX_LIST`] entries and [`MAX_TEXT`] bytes, and values of
//! an unexpected type are ignored rather than trusted.

use ::ipp::attribute::IppAttributeGroup;
use ::ipp::value::IppValue;

/// Most entries kept of any 1setOf attribute (a printer may list hundreds of media).
pub const MAX_LIST: usize = 256;
/// Longest string kept, in bytes (RFC 8011 `text(MAX)` is 1023 octets).
pub const MAX_TEXT: usize = 1023;

/// `printer-state` (RFC 8011 §5.4.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrinterState {
    Idle,
    Processing,
    /// Paused by an operator (CUPS `cupsdisable`) or stopped by an error; the reasons
    /// say which.
    Stopped,
    /// A value outside the enum, or the attribute was missing (`Other(0)`).
    Other(i32),
}

impl PrinterState {
    pub fn from_enum(v: i32) -> Self {
        match v {
            3 => PrinterState::Idle,
            4 => PrinterState::Processing,
            5 => PrinterState::Stopped,
            v => PrinterState::Other(v),
        }
    }
}

/// A resolution in dots per inch, cross-feed (x) by feed (y).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resolution {
    pub x: u32,
    pub y: u32,
}

/// The printer attributes filmd decides on: whether it can print now, which document
/// formats and PWG raster variants it takes (PWG 5100.14 IPP Everywhere, PWG 5102.4),
/// and which media it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterSnapshot {
    pub state: PrinterState,
    /// `printer-state-reasons` keywords, e.g. `none`, `paused`, `media-empty-error`.
    pub state_reasons: Vec<String>,
    pub state_message: Option<String>,
    pub make_and_model: Option<String>,
    /// `document-format-supported`, MIME types as sent (lower-cased).
    pub document_formats: Vec<String>,
    /// `pwg-raster-document-resolution-supported`, in dpi.
    pub pwg_resolutions: Vec<Resolution>,
    /// `pwg-raster-document-type-supported`, e.g. `black_1`, `sgray_8`, `srgb_8`.
    pub pwg_types: Vec<String>,
    pub color_supported: bool,
    pub media_supported: Vec<String>,
    pub media_ready: Vec<String>,
    pub media_default: Option<String>,
    /// `copies-supported` as an inclusive range.
    pub copies_supported: Option<(i32, i32)>,
    /// `print-scaling-supported` (PWG 5100.13 §6.2.20): `auto`, `auto-fit`, `fill`, `fit`,
    /// `none`; empty when the printer does not say.
    pub print_scaling_supported: Vec<String>,
    /// `printer-is-accepting-jobs`; a printer that omits it is taken as accepting.
    pub accepting_jobs: bool,
}

impl PrinterSnapshot {
    /// The printer attributes filmd asks for in Get-Printer-Attributes.
    pub const REQUESTED: [&'static str; 14] = [
        "printer-state",
        "printer-state-reasons",
        "printer-state-message",
        "printer-make-and-model",
        "document-format-supported",
        "pwg-raster-document-resolution-supported",
        "pwg-raster-document-type-supported",
        "color-supported",
        "media-supported",
        "media-ready",
        "media-default",
        "copies-supported",
        "print-scaling-supported",
        "printer-is-accepting-jobs",
    ];

    /// Reads a snapshot from the printer-attributes group of a response.
    pub fn from_group(g: &IppAttributeGroup) -> Self {
        PrinterSnapshot {
            state: enum_of(g, "printer-state")
                .map(PrinterState::from_enum)
                .unwrap_or(PrinterState::Other(0)),
            state_reasons: strings(g, "printer-state-reasons"),
            state_message: string(g, "printer-state-message"),
            make_and_model: string(g, "printer-make-and-model"),
            document_formats: strings(g, "document-format-supported")
                .into_iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
            pwg_resolutions: values(g, "pwg-raster-document-resolution-supported")
                .filter_map(resolution)
                .take(MAX_LIST)
                .collect(),
            pwg_types: strings(g, "pwg-raster-document-type-supported"),
            color_supported: boolean(g, "color-supported").unwrap_or(false),
            media_supported: strings(g, "media-supported"),
            media_ready: strings(g, "media-ready"),
            media_default: string(g, "media-default"),
            copies_supported: values(g, "copies-supported").find_map(|v| match v {
                IppValue::RangeOfInteger { min, max } => Some((*min, *max)),
                _ => None,
            }),
            print_scaling_supported: strings(g, "print-scaling-supported"),
            accepting_jobs: boolean(g, "printer-is-accepting-jobs").unwrap_or(true),
        }
    }

    /// Whether the printer lists this MIME type in `document-format-supported`.
    pub fn supports_format(&self, mime: &str) -> bool {
        self.document_formats
            .iter()
            .any(|f| f.eq_ignore_ascii_case(mime))
    }

    pub fn supports_pwg_type(&self, kind: &str) -> bool {
        self.pwg_types.iter().any(|t| t == kind)
    }
}

/// `job-state` (RFC 8011 §5.3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Pending,
    PendingHeld,
    Processing,
    ProcessingStopped,
    Canceled,
    Aborted,
    Completed,
    /// A value outside the enum, or the attribute was missing (`Other(0)`).
    Other(i32),
}

impl JobState {
    pub fn from_enum(v: i32) -> Self {
        match v {
            3 => JobState::Pending,
            4 => JobState::PendingHeld,
            5 => JobState::Processing,
            6 => JobState::ProcessingStopped,
            7 => JobState::Canceled,
            8 => JobState::Aborted,
            9 => JobState::Completed,
            v => JobState::Other(v),
        }
    }

    /// Whether the job will not change any more (RFC 8011 §5.3.7: canceled, aborted and
    /// completed are the terminal states).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Canceled | JobState::Aborted | JobState::Completed
        )
    }
}

/// A job as the printer reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSnapshot {
    pub id: i32,
    pub name: Option<String>,
    pub state: JobState,
    pub state_reasons: Vec<String>,
    pub state_message: Option<String>,
    pub impressions_completed: Option<i32>,
    pub pages_completed: Option<i32>,
}

impl JobSnapshot {
    /// The job attributes filmd asks for in Get-Job-Attributes.
    pub const REQUESTED: [&'static str; 7] = [
        "job-id",
        "job-name",
        "job-state",
        "job-state-reasons",
        "job-state-message",
        "job-impressions-completed",
        "job-pages-completed",
    ];

    /// Reads a job from a job-attributes group; `None` without a `job-id`.
    pub fn from_group(g: &IppAttributeGroup) -> Option<Self> {
        Some(JobSnapshot {
            id: integer(g, "job-id")?,
            name: string(g, "job-name"),
            state: enum_of(g, "job-state")
                .map(JobState::from_enum)
                .unwrap_or(JobState::Other(0)),
            state_reasons: strings(g, "job-state-reasons"),
            state_message: string(g, "job-state-message"),
            impressions_completed: integer(g, "job-impressions-completed"),
            pages_completed: integer(g, "job-pages-completed"),
        })
    }
}

/// The values of an attribute: the elements of a 1setOf, or the single value. Values of
/// a collection are not descended into.
fn values<'a>(g: &'a IppAttributeGroup, name: &str) -> impl Iterator<Item = &'a IppValue> {
    let attr = g.get(name);
    let (list, single): (&[IppValue], Option<&IppValue>) = match attr.map(|a| a.value()) {
        Some(IppValue::Array(list)) => (list.as_slice(), None),
        Some(v) => (&[], Some(v)),
        None => (&[], None),
    };
    list.iter().chain(single)
}

/// The string of a text-like value (text, name, keyword, MIME type, URI), bounded.
pub(crate) fn text_of(v: &IppValue) -> Option<String> {
    let s = match v {
        IppValue::TextWithoutLanguage(t) => t.as_ref(),
        IppValue::TextWithLanguage { text, .. } => text.as_ref(),
        IppValue::NameWithoutLanguage(n) => n.as_str(),
        IppValue::NameWithLanguage { name, .. } => name.as_str(),
        IppValue::Keyword(k) => k.as_str(),
        IppValue::MimeMediaType(m) => m.as_str(),
        IppValue::Uri(u) => u.as_str(),
        _ => return None,
    };
    Some(bounded(s))
}

/// The first 1023 bytes of `s`, cut at a character boundary.
pub(crate) fn bounded(s: &str) -> String {
    if s.len() <= MAX_TEXT {
        return s.to_string();
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn string(g: &IppAttributeGroup, name: &str) -> Option<String> {
    values(g, name).find_map(text_of)
}

fn strings(g: &IppAttributeGroup, name: &str) -> Vec<String> {
    values(g, name).filter_map(text_of).take(MAX_LIST).collect()
}

fn integer(g: &IppAttributeGroup, name: &str) -> Option<i32> {
    values(g, name).find_map(|v| match v {
        IppValue::Integer(i) => Some(*i),
        _ => None,
    })
}

fn enum_of(g: &IppAttributeGroup, name: &str) -> Option<i32> {
    values(g, name).find_map(|v| match v {
        IppValue::Enum(i) => Some(*i),
        _ => None,
    })
}

fn boolean(g: &IppAttributeGroup, name: &str) -> Option<bool> {
    values(g, name).find_map(|v| match v {
        IppValue::Boolean(b) => Some(*b),
        _ => None,
    })
}

/// A resolution value in dpi (RFC 8010 §3.9: units 3 = dots per inch, 4 = dots per
/// centimetre); nonsensical values are dropped.
fn resolution(v: &IppValue) -> Option<Resolution> {
    let IppValue::Resolution {
        cross_feed,
        feed,
        units,
    } = *v
    else {
        return None;
    };
    let to_dpi = |d: i32| -> Option<u32> {
        let d = u32::try_from(d)
            .ok()
            .filter(|d| (1..=100_000).contains(d))?;
        match units {
            3 => Some(d),
            4 => Some((d * 254 + 50) / 100),
            _ => None,
        }
    };
    Some(Resolution {
        x: to_dpi(cross_feed)?,
        y: to_dpi(feed)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::ipp::attribute::IppAttribute;
    use ::ipp::model::DelimiterTag;

    fn group(attrs: Vec<(&str, IppValue)>) -> IppAttributeGroup {
        let mut g = IppAttributeGroup::new(DelimiterTag::PrinterAttributes);
        for (name, v) in attrs {
            g.attributes_mut()
                .push(IppAttribute::with_name(name, v).unwrap());
        }
        g
    }

    fn kw(s: &str) -> IppValue {
        IppValue::new_keyword(s).unwrap()
    }

    #[test]
    fn printer_snapshot_reads_ippeveprinter_style_attributes() {
        let g = group(vec![
            ("printer-state", IppValue::Enum(5)),
            (
                "printer-state-reasons",
                IppValue::Array(vec![kw("paused"), kw("media-empty-warning")]),
            ),
            (
                "printer-state-message",
                IppValue::new_text_without_language("Paused").unwrap(),
            ),
            (
                "document-format-supported",
                IppValue::Array(vec![
                    IppValue::new_mime_media_type("application/octet-stream").unwrap(),
                    IppValue::new_mime_media_type("Image/PWG-Raster").unwrap(),
                ]),
            ),
            (
                "pwg-raster-document-resolution-supported",
                IppValue::Array(vec![
                    IppValue::new_resolution(300, 300, 3),
                    IppValue::new_resolution(236, 236, 4),
                    IppValue::new_resolution(-1, 300, 3),
                    IppValue::new_resolution(300, 300, 9),
                ]),
            ),
            ("pwg-raster-document-type-supported", kw("sgray_8")),
            ("color-supported", IppValue::Boolean(false)),
            ("media-default", kw("iso_a4_210x297mm")),
            ("copies-supported", IppValue::new_range_of_integer(1, 99)),
            ("printer-is-accepting-jobs", IppValue::Boolean(false)),
        ]);
        let s = PrinterSnapshot::from_group(&g);
        assert_eq!(s.state, PrinterState::Stopped);
        assert_eq!(s.state_reasons, ["paused", "media-empty-warning"]);
        assert_eq!(s.state_message.as_deref(), Some("Paused"));
        assert_eq!(s.make_and_model, None);
        assert_eq!(
            s.document_formats,
            ["application/octet-stream", "image/pwg-raster"]
        );
        assert!(s.supports_format("image/PWG-raster"));
        // 236 dots/cm = 599.44 dpi → 599; invalid values are dropped.
        assert_eq!(
            s.pwg_resolutions,
            [Resolution { x: 300, y: 300 }, Resolution { x: 599, y: 599 }]
        );
        assert_eq!(s.pwg_types, ["sgray_8"]);
        assert!(!s.color_supported);
        assert_eq!(s.media_default.as_deref(), Some("iso_a4_210x297mm"));
        assert!(s.media_supported.is_empty());
        assert_eq!(s.copies_supported, Some((1, 99)));
        assert!(!s.accepting_jobs);
    }

    #[test]
    fn lists_and_strings_are_bounded_and_wrong_types_ignored() {
        let many: Vec<IppValue> = (0..1000).map(|i| kw(&format!("m{i}"))).collect();
        let long = "é".repeat(600); // 1200 bytes
        let g = group(vec![
            ("media-supported", IppValue::Array(many)),
            ("printer-state", kw("idle")),
            ("color-supported", IppValue::Integer(1)),
        ]);
        let s = PrinterSnapshot::from_group(&g);
        assert_eq!(s.media_supported.len(), MAX_LIST);
        assert_eq!(s.state, PrinterState::Other(0));
        assert!(!s.color_supported);
        assert!(s.accepting_jobs);
        let b = bounded(&long);
        assert_eq!(b.len(), 1022);
        assert!(long.starts_with(&b));
    }

    #[test]
    fn job_snapshot_needs_a_job_id() {
        let g = group(vec![
            ("job-id", IppValue::Integer(7)),
            (
                "job-name",
                IppValue::new_name_without_language("filmd-1").unwrap(),
            ),
            ("job-state", IppValue::Enum(9)),
            ("job-state-reasons", kw("job-completed-successfully")),
            ("job-impressions-completed", IppValue::Integer(2)),
        ]);
        let j = JobSnapshot::from_group(&g).unwrap();
        assert_eq!(j.id, 7);
        assert_eq!(j.name.as_deref(), Some("filmd-1"));
        assert_eq!(j.state, JobState::Completed);
        assert!(j.state.is_terminal());
        assert!(!JobState::Processing.is_terminal());
        assert_eq!(j.state_reasons, ["job-completed-successfully"]);
        assert_eq!(j.impressions_completed, Some(2));
        assert_eq!(j.pages_completed, None);
        assert!(JobSnapshot::from_group(&group(vec![("job-state", IppValue::Enum(3))])).is_none());
    }
}

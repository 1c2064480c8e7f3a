//! What an IPP printer says about itself, in DICOM's words: `printer-state` and
//! `printer-state-reasons` (RFC 8011 §5.4.11, §5.4.12) and reachability become Printer
//! Status (2110,0010) NORMAL / WARNING / FAILURE with a Printer Status Info (2110,0020)
//! defined term; a job's `job-state` and `job-state-reasons` (RFC 8011 §5.3.7, §5.3.8)
//! become Execution Status (2100,0020) and Execution Status Info (2100,0030). Only these
//! defined terms of PS3.3 C.13.9.1 are used: NORMAL, SUPPLY LOW, SUPPLY EMPTY, FILM JAM,
//! COVER OPEN, PRINTER DOWN, PRINTER OFFLINE, PRINTER INIT, QUEUED, UNKNOWN.
//!
//! # Printer Status
//!
//! * Unreachable printer: FAILURE, PRINTER DOWN ([`UNREACHABLE`]).
//! * `printer-state` 3 (idle) or 4 (processing): NORMAL unless a reason says otherwise;
//!   5 (stopped): FAILURE; any other value: WARNING, UNKNOWN.
//! * Each reason is looked up as given (PWG 5107.3 has keywords that end in `-error`
//!   themselves), else without its severity suffix. `-report` reasons and `none` are
//!   ignored (NORMAL): RFC 8011 says a report "MUST contain nothing that could affect the
//!   printed output". `-warning` gives at most WARNING. `-error` gives FAILURE: RFC 8011
//!   requires the printer to be stopped while it reports an error.
//! * A reason without a suffix is an error by RFC 8011, yet printers report e.g.
//!   `media-empty` for one tray while printing from another without stopping (the PWG
//!   noted this in 2014). So it gives the row's level only while the printer is stopped,
//!   and at most WARNING while it is idle or processing.
//! * Keywords not in the table are ignored, unless they carry `-error` (FAILURE,
//!   UNKNOWN).
//! * The most severe reason names the info: highest resulting status, then highest level,
//!   then first in the table. A stopped printer whose worst reason is below FAILURE
//!   reports PRINTER DOWN.
//!
//! The table ([`PRINTER_STATE_REASONS`]); level is how grave the condition is in itself:
//! FAILURE when it stops printing, WARNING when it needs attention soon.
//!
//! | `printer-state-reasons` keyword | level | Printer Status Info | defined by |
//! |---|---|---|---|
//! | `shutdown` | FAILURE | PRINTER DOWN | RFC 8011 |
//! | `fuser-over-temp` | FAILURE | PRINTER DOWN | RFC 8011 |
//! | `paused` | FAILURE | PRINTER OFFLINE | RFC 8011 |
//! | `offline` | FAILURE | PRINTER OFFLINE | CUPS |
//! | `media-jam` | FAILURE | FILM JAM | RFC 8011 |
//! | `cover-open` | FAILURE | COVER OPEN | RFC 8011 |
//! | `door-open` | FAILURE | COVER OPEN | RFC 8011 |
//! | `interlock-open` | FAILURE | COVER OPEN | RFC 8011 |
//! | `media-empty` | FAILURE | SUPPLY EMPTY | RFC 8011 |
//! | `media-needed` | FAILURE | SUPPLY EMPTY | RFC 8011 |
//! | `input-manual-input-request` | FAILURE | SUPPLY EMPTY | PWG 5100.9 |
//! | `toner-empty` | FAILURE | SUPPLY EMPTY | RFC 8011 |
//! | `marker-supply-empty` | FAILURE | SUPPLY EMPTY | RFC 8011 |
//! | `developer-empty` | FAILURE | SUPPLY EMPTY | RFC 8011 |
//! | `marker-developer-empty` | FAILURE | SUPPLY EMPTY | PWG 5100.9 |
//! | `opc-life-over` | FAILURE | SUPPLY EMPTY | RFC 8011 |
//! | `input-tray-missing` | FAILURE | PRINTER DOWN | RFC 8011 |
//! | `output-tray-missing` | FAILURE | PRINTER DOWN | RFC 8011 |
//! | `output-area-full` | FAILURE | PRINTER DOWN | RFC 8011 |
//! | `marker-waste-full` | FAILURE | PRINTER DOWN | RFC 8011 |
//! | `stopping` | WARNING | PRINTER DOWN | RFC 8011 |
//! | `moving-to-paused` | WARNING | PRINTER OFFLINE | RFC 8011 |
//! | `timed-out` | WARNING | PRINTER OFFLINE | RFC 8011 |
//! | `connecting-to-device` | WARNING | PRINTER INIT | RFC 8011 |
//! | `fuser-under-temp` | WARNING | PRINTER INIT | RFC 8011 |
//! | `printer-manual-reset` | WARNING | PRINTER INIT | PWG 5100.9 |
//! | `printer-nms-reset` | WARNING | PRINTER INIT | PWG 5100.9 |
//! | `media-low` | WARNING | SUPPLY LOW | RFC 8011 |
//! | `toner-low` | WARNING | SUPPLY LOW | RFC 8011 |
//! | `marker-supply-low` | WARNING | SUPPLY LOW | RFC 8011 |
//! | `developer-low` | WARNING | SUPPLY LOW | RFC 8011 |
//! | `marker-developer-almost-empty` | WARNING | SUPPLY LOW | PWG 5100.9 |
//! | `opc-near-eol` | WARNING | SUPPLY LOW | RFC 8011 |
//! | `marker-waste-almost-full` | WARNING | SUPPLY LOW | RFC 8011 |
//! | `output-area-almost-full` | WARNING | UNKNOWN | RFC 8011 |
//! | `stopped-partly` | WARNING | UNKNOWN | RFC 8011 |
//! | `spool-area-full` | WARNING | UNKNOWN | RFC 8011 |
//! | `interpreter-resource-unavailable` | WARNING | UNKNOWN | RFC 8011 |
//! | `other` | WARNING | UNKNOWN | RFC 8011 |//!
//! # Execution Status
//!
//! [`execution_status`] takes the first row ([`JOB_STATES`]) with the job's state whose
//! reason is among the job's `job-state-reasons` (or that names none). Cancelled jobs have
//! no matching defined term and report UNKNOWN.
//!
//! | `job-state` | `job-state-reasons` | Execution Status | Execution Status Info |
//! |---|---|---|---|
//! | 9 completed | `job-completed-with-errors` | FAILURE | UNKNOWN |
//! | 9 completed | any other | DONE | NORMAL |
//! | 8 aborted | `service-off-line` | FAILURE | PRINTER OFFLINE |
//! | 8 aborted | `printer-stopped` | FAILURE | PRINTER DOWN |
//! | 8 aborted | `document-format-error` | FAILURE | UNKNOWN |
//! | 8 aborted | `unsupported-document-format` | FAILURE | UNKNOWN |
//! | 8 aborted | `compression-error` | FAILURE | UNKNOWN |
//! | 8 aborted | `unsupported-compression` | FAILURE | UNKNOWN |
//! | 8 aborted | any other | FAILURE | PRINTER DOWN |
//! | 7 canceled | any other | FAILURE | UNKNOWN |
//! | 6 processing-stopped | any other | PRINTING | PRINTER DOWN |
//! | 5 processing | any other | PRINTING | NORMAL |
//! | 4 pending-held | any other | PENDING | QUEUED |
//! | 3 pending | any other | PENDING | QUEUED |
use crate::outputs::board::{PrinterStatus, info};

/// Execution Status (2100,0020) of a Print Job (PS3.3 C.13.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionStatus {
    Pending,
    Printing,
    Done,
    Failure,
}

impl ExecutionStatus {
    pub fn term(self) -> &'static str {
        match self {
            ExecutionStatus::Pending => "PENDING",
            ExecutionStatus::Printing => "PRINTING",
            ExecutionStatus::Done => "DONE",
            ExecutionStatus::Failure => "FAILURE",
        }
    }
}

/// One `printer-state-reasons` keyword (without severity suffix) and what it means for
/// DICOM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReasonRow {
    pub keyword: &'static str,
    /// How grave the condition is in itself (see the module doc).
    pub level: PrinterStatus,
    /// Printer Status Info defined term.
    pub info: &'static str,
    /// Where the keyword is defined.
    pub source: &'static str,
}

use ExecutionStatus as E;
use PrinterStatus as P;

const fn reason(
    keyword: &'static str,
    level: PrinterStatus,
    info: &'static str,
    source: &'static str,
) -> ReasonRow {
    ReasonRow {
        keyword,
        level,
        info,
        source,
    }
}

/// The printer reasons filmd understands, most severe first within a level.
#[rustfmt::skip]
pub const PRINTER_STATE_REASONS: &[ReasonRow] = &[
    reason("shutdown",                         P::Failure, info::PRINTER_DOWN,    "RFC 8011"),
    reason("fuser-over-temp",                  P::Failure, info::PRINTER_DOWN,    "RFC 8011"),
    reason("paused",                           P::Failure, info::PRINTER_OFFLINE, "RFC 8011"),
    reason("offline",                          P::Failure, info::PRINTER_OFFLINE, "CUPS"),
    reason("media-jam",                        P::Failure, info::FILM_JAM,        "RFC 8011"),
    reason("cover-open",                       P::Failure, info::COVER_OPEN,      "RFC 8011"),
    reason("door-open",                        P::Failure, info::COVER_OPEN,      "RFC 8011"),
    reason("interlock-open",                   P::Failure, info::COVER_OPEN,      "RFC 8011"),
    reason("media-empty",                      P::Failure, info::SUPPLY_EMPTY,    "RFC 8011"),
    reason("media-needed",                     P::Failure, info::SUPPLY_EMPTY,    "RFC 8011"),
    reason("input-manual-input-request",       P::Failure, info::SUPPLY_EMPTY,    "PWG 5100.9"),
    reason("toner-empty",                      P::Failure, info::SUPPLY_EMPTY,    "RFC 8011"),
    reason("marker-supply-empty",              P::Failure, info::SUPPLY_EMPTY,    "RFC 8011"),
    reason("developer-empty",                  P::Failure, info::SUPPLY_EMPTY,    "RFC 8011"),
    reason("marker-developer-empty",           P::Failure, info::SUPPLY_EMPTY,    "PWG 5100.9"),
    reason("opc-life-over",                    P::Failure, info::SUPPLY_EMPTY,    "RFC 8011"),
    reason("input-tray-missing",               P::Failure, info::PRINTER_DOWN,    "RFC 8011"),
    reason("output-tray-missing",              P::Failure, info::PRINTER_DOWN,    "RFC 8011"),
    reason("output-area-full",                 P::Failure, info::PRINTER_DOWN,    "RFC 8011"),
    reason("marker-waste-full",                P::Failure, info::PRINTER_DOWN,    "RFC 8011"),
    reason("stopping",                         P::Warning, info::PRINTER_DOWN,    "RFC 8011"),
    reason("moving-to-paused",                 P::Warning, info::PRINTER_OFFLINE, "RFC 8011"),
    reason("timed-out",                        P::Warning, info::PRINTER_OFFLINE, "RFC 8011"),
    reason("connecting-to-device",             P::Warning, info::PRINTER_INIT,    "RFC 8011"),
    reason("fuser-under-temp",                 P::Warning, info::PRINTER_INIT,    "RFC 8011"),
    reason("printer-manual-reset",             P::Warning, info::PRINTER_INIT,    "PWG 5100.9"),
    reason("printer-nms-reset",                P::Warning, info::PRINTER_INIT,    "PWG 5100.9"),
    reason("media-low",                        P::Warning, info::SUPPLY_LOW,      "RFC 8011"),
    reason("toner-low",                        P::Warning, info::SUPPLY_LOW,      "RFC 8011"),
    reason("marker-supply-low",                P::Warning, info::SUPPLY_LOW,      "RFC 8011"),
    reason("developer-low",                    P::Warning, info::SUPPLY_LOW,      "RFC 8011"),
    reason("marker-developer-almost-empty",    P::Warning, info::SUPPLY_LOW,      "PWG 5100.9"),
    reason("opc-near-eol",                     P::Warning, info::SUPPLY_LOW,      "RFC 8011"),
    reason("marker-waste-almost-full",         P::Warning, info::SUPPLY_LOW,      "RFC 8011"),
    reason("output-area-almost-full",          P::Warning, info::UNKNOWN,         "RFC 8011"),
    reason("stopped-partly",                   P::Warning, info::UNKNOWN,         "RFC 8011"),
    reason("spool-area-full",                  P::Warning, info::UNKNOWN,         "RFC 8011"),
    reason("interpreter-resource-unavailable", P::Warning, info::UNKNOWN,         "RFC 8011"),
    reason("other",                            P::Warning, info::UNKNOWN,         "RFC 8011"),
];

/// One `job-state` (with an optional `job-state-reasons` keyword) and its DICOM outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobRow {
    /// RFC 8011 §5.3.7: 3 pending, 4 pending-held, 5 processing, 6 processing-stopped,
    /// 7 canceled, 8 aborted, 9 completed.
    pub job_state: i32,
    /// The row applies only if the job has this reason; `None` matches any.
    pub reason: Option<&'static str>,
    pub status: ExecutionStatus,
    /// Execution Status Info defined term.
    pub info: &'static str,
}

const fn job(
    job_state: i32,
    reason: Option<&'static str>,
    status: ExecutionStatus,
    info: &'static str,
) -> JobRow {
    JobRow {
        job_state,
        reason,
        status,
        info,
    }
}

/// Job states and reasons; the first matching row wins.
#[rustfmt::skip]
pub const JOB_STATES: &[JobRow] = &[
    job(9, Some("job-completed-with-errors"),   E::Failure, info::UNKNOWN),
    job(9, None,                                E::Done,    info::NORMAL),
    job(8, Some("service-off-line"),            E::Failure, info::PRINTER_OFFLINE),
    job(8, Some("printer-stopped"),             E::Failure, info::PRINTER_DOWN),
    job(8, Some("document-format-error"),       E::Failure, info::UNKNOWN),
    job(8, Some("unsupported-document-format"), E::Failure, info::UNKNOWN),
    job(8, Some("compression-error"),           E::Failure, info::UNKNOWN),
    job(8, Some("unsupported-compression"),     E::Failure, info::UNKNOWN),
    job(8, None,                                E::Failure, info::PRINTER_DOWN),
    job(7, None,                                E::Failure, info::UNKNOWN),
    job(6, None,                                E::Printing,info::PRINTER_DOWN),
    job(5, None,                                E::Printing,info::NORMAL),
    job(4, None,                                E::Pending, info::QUEUED),
    job(3, None,                                E::Pending, info::QUEUED),
];

/// `printer-state` values (RFC 8011 §5.4.11).
pub const PRINTER_IDLE: i32 = 3;
pub const PRINTER_PROCESSING: i32 = 4;
pub const PRINTER_STOPPED: i32 = 5;

/// A Printer Status with its Printer Status Info, or an Execution Status with its
/// Execution Status Info.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DicomPrinterStatus {
    pub status: PrinterStatus,
    pub info: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DicomExecutionStatus {
    pub status: ExecutionStatus,
    pub info: &'static str,
}

/// A printer that does not answer (connection refused, timeout, no IPP response).
pub const UNREACHABLE: DicomPrinterStatus = DicomPrinterStatus {
    status: PrinterStatus::Failure,
    info: info::PRINTER_DOWN,
};

/// The severity suffix of a reason keyword (RFC 8011 §5.4.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Suffix {
    None,
    Report,
    Warning,
    Error,
}

/// The table row (and its index) of a keyword: as given first, then without its suffix.
fn lookup(keyword: &str) -> (Option<(usize, &'static ReasonRow)>, Suffix) {
    let find = |k: &str| {
        PRINTER_STATE_REASONS
            .iter()
            .enumerate()
            .find(|(_, r)| r.keyword == k)
    };
    if let Some(row) = find(keyword) {
        return (Some(row), Suffix::None);
    }
    for (suffix, kind) in [
        ("-report", Suffix::Report),
        ("-warning", Suffix::Warning),
        ("-error", Suffix::Error),
    ] {
        if let Some(base) = keyword.strip_suffix(suffix) {
            return (find(base), kind);
        }
    }
    (None, Suffix::None)
}

/// Maps a printer's `printer-state` and `printer-state-reasons` to Printer Status and
/// Printer Status Info (rules in the module doc).
pub fn printer_status<S: AsRef<str>>(printer_state: i32, reasons: &[S]) -> DicomPrinterStatus {
    let stopped = printer_state == PRINTER_STOPPED;
    let (state_status, state_info) = match printer_state {
        PRINTER_IDLE | PRINTER_PROCESSING => (PrinterStatus::Normal, info::NORMAL),
        PRINTER_STOPPED => (PrinterStatus::Failure, info::PRINTER_DOWN),
        _ => (PrinterStatus::Warning, info::UNKNOWN),
    };
    // (resulting status, level, table position) of the worst reason, and its info.
    let mut worst: Option<((PrinterStatus, PrinterStatus, usize), &'static str)> = None;
    for keyword in reasons {
        let keyword = keyword.as_ref().trim();
        let (row, suffix) = lookup(keyword);
        let (level, info, position) = match row {
            // Earlier rows rank higher.
            Some((index, row)) => (row.level, row.info, PRINTER_STATE_REASONS.len() - index),
            // An error the table does not know: FAILURE by its suffix, but any known
            // condition names the info before it.
            None if suffix == Suffix::Error => (PrinterStatus::Warning, info::UNKNOWN, 0),
            None => continue,
        };
        let status = match suffix {
            Suffix::Report => continue,
            Suffix::Warning => PrinterStatus::Warning,
            Suffix::Error => PrinterStatus::Failure,
            Suffix::None if stopped => level,
            Suffix::None => level.min(PrinterStatus::Warning),
        };
        let key = (status, level, position);
        if worst.is_none_or(|(k, _)| key > k) {
            worst = Some((key, info));
        }
    }
    match worst {
        Some(((status, _, _), info))
            if status >= state_status && status > PrinterStatus::Normal =>
        {
            DicomPrinterStatus { status, info }
        }
        _ => DicomPrinterStatus {
            status: state_status,
            info: state_info,
        },
    }
}

/// Maps a job's `job-state` and `job-state-reasons` to Execution Status and Execution
/// Status Info; `None` for a `job-state` RFC 8011 does not define.
pub fn execution_status<S: AsRef<str>>(
    job_state: i32,
    reasons: &[S],
) -> Option<DicomExecutionStatus> {
    JOB_STATES
        .iter()
        .find(|row| {
            row.job_state == job_state
                && row
                    .reason
                    .is_none_or(|r| reasons.iter().any(|k| k.as_ref().trim() == r))
        })
        .map(|row| DicomExecutionStatus {
            status: row.status,
            info: row.info,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ExecutionStatus as E;
    use PrinterStatus::{Failure, Normal, Warning};

    fn status(state: i32, reasons: &[&str]) -> (PrinterStatus, &'static str) {
        let s = printer_status(state, reasons);
        (s.status, s.info)
    }

    #[test]
    fn an_idle_or_busy_printer_without_reasons_is_normal() {
        for state in [PRINTER_IDLE, PRINTER_PROCESSING] {
            assert_eq!(status(state, &[]), (Normal, info::NORMAL));
            assert_eq!(status(state, &["none"]), (Normal, info::NORMAL));
        }
    }

    #[test]
    fn the_issue_requirements() {
        let stopped = PRINTER_STOPPED;
        assert_eq!(status(stopped, &["media-empty"]), (Failure, "SUPPLY EMPTY"));
        assert_eq!(status(3, &["media-empty-error"]), (Failure, "SUPPLY EMPTY"));
        assert_eq!(status(3, &["media-low-warning"]), (Warning, "SUPPLY LOW"));
        assert_eq!(status(4, &["toner-low"]), (Warning, "SUPPLY LOW"));
        assert_eq!(
            status(4, &["marker-supply-low-warning"]),
            (Warning, "SUPPLY LOW")
        );
        assert_eq!(status(stopped, &["media-jam"]), (Failure, "FILM JAM"));
        assert_eq!(status(stopped, &["door-open"]), (Failure, "COVER OPEN"));
        assert_eq!(
            status(stopped, &["cover-open-error"]),
            (Failure, "COVER OPEN")
        );
        assert_eq!(status(3, &["offline-error"]), (Failure, "PRINTER OFFLINE"));
        assert_eq!(status(stopped, &["paused"]), (Failure, "PRINTER OFFLINE"));
        assert_eq!(status(stopped, &[]), (Failure, "PRINTER DOWN"));
        assert_eq!(
            (UNREACHABLE.status, UNREACHABLE.info),
            (Failure, "PRINTER DOWN")
        );
    }

    #[test]
    fn reports_are_ignored_and_warnings_cap_at_warning() {
        assert_eq!(status(3, &["media-empty-report"]), (Normal, "NORMAL"));
        assert_eq!(status(3, &["offline-report", "none"]), (Normal, "NORMAL"));
        assert_eq!(status(4, &["media-jam-warning"]), (Warning, "FILM JAM"));
    }

    #[test]
    fn unsuffixed_reasons_give_failure_only_while_stopped() {
        assert_eq!(status(4, &["media-empty"]), (Warning, "SUPPLY EMPTY"));
        assert_eq!(status(5, &["media-empty"]), (Failure, "SUPPLY EMPTY"));
        // A stopped printer whose only reason is a warning-level condition is down.
        assert_eq!(status(5, &["media-low"]), (Failure, "PRINTER DOWN"));
        assert_eq!(status(5, &["toner-low-warning"]), (Failure, "PRINTER DOWN"));
    }

    #[test]
    fn the_most_severe_reason_names_the_info() {
        // Resulting status first.
        assert_eq!(
            status(3, &["media-jam-warning", "toner-low-error"]),
            (Failure, "SUPPLY LOW")
        );
        // Then the condition's level: empty beats low at the same status.
        assert_eq!(
            status(3, &["toner-low-warning", "media-empty-warning"]),
            (Warning, "SUPPLY EMPTY")
        );
        // Then the table order, whatever the order the printer lists them in.
        for reasons in [["cover-open", "media-jam"], ["media-jam", "cover-open"]] {
            assert_eq!(status(5, &reasons), (Failure, "FILM JAM"));
        }
        assert_eq!(
            status(5, &["media-empty", "shutdown", "media-jam"]),
            (Failure, "PRINTER DOWN")
        );
    }

    #[test]
    fn unknown_keywords_count_only_as_errors() {
        assert_eq!(
            status(3, &["com.example-foo", "cups-waiting-for-job-completed"]),
            (Normal, "NORMAL")
        );
        assert_eq!(status(3, &["com.example-foo-warning"]), (Normal, "NORMAL"));
        assert_eq!(status(3, &["com.example-foo-error"]), (Failure, "UNKNOWN"));
        // A known condition names the info before an unknown error.
        assert_eq!(
            status(3, &["com.example-foo-error", "toner-low-error"]),
            (Failure, "SUPPLY LOW")
        );
        // PWG 5107.3 keywords that end in "-error" are not mistaken for another keyword.
        assert_eq!(
            status(3, &["media-path-input-feed-error"]),
            (Failure, "UNKNOWN")
        );
    }

    #[test]
    fn an_unknown_printer_state_is_a_warning() {
        assert_eq!(status(0, &[]), (Warning, "UNKNOWN"));
        assert_eq!(status(9, &["toner-low"]), (Warning, "SUPPLY LOW"));
        assert_eq!(status(-1, &["media-jam-error"]), (Failure, "FILM JAM"));
    }

    #[test]
    fn every_row_of_the_table() {
        for row in PRINTER_STATE_REASONS {
            let error = format!("{}-error", row.keyword);
            assert_eq!(
                status(PRINTER_STOPPED, &[row.keyword]),
                (
                    Failure,
                    if row.level == Failure {
                        row.info
                    } else {
                        info::PRINTER_DOWN
                    }
                ),
                "{}",
                row.keyword
            );
            assert_eq!(
                status(PRINTER_IDLE, &[&error]),
                (Failure, row.info),
                "{error}"
            );
            assert_eq!(
                status(PRINTER_IDLE, &[row.keyword]),
                (Warning, row.info),
                "{}",
                row.keyword
            );
        }
    }

    #[test]
    fn the_tables_use_only_the_listed_defined_terms_and_no_keyword_twice() {
        let mut seen = std::collections::HashSet::new();
        for row in PRINTER_STATE_REASONS {
            assert!(info::ALL.contains(&row.info), "{}", row.info);
            assert!(seen.insert(row.keyword), "{} twice", row.keyword);
            assert!(!row.keyword.ends_with("-report") && !row.keyword.ends_with("-warning"));
        }
        for row in JOB_STATES {
            assert!(info::ALL.contains(&row.info), "{}", row.info);
        }
        // Most severe first within a level: every FAILURE row precedes every WARNING row.
        let first_warning = PRINTER_STATE_REASONS
            .iter()
            .position(|r| r.level == Warning)
            .unwrap();
        assert!(
            PRINTER_STATE_REASONS[first_warning..]
                .iter()
                .all(|r| r.level == Warning)
        );
    }

    #[test]
    fn the_module_doc_shows_the_tables_as_they_are() {
        let source = include_str!("status.rs");
        for row in PRINTER_STATE_REASONS {
            let line = format!(
                "//! | `{}` | {} | {} | {} |",
                row.keyword,
                row.level.term(),
                row.info,
                row.source
            );
            assert!(source.contains(&line), "missing from the doc: {line}");
        }
        let names = [
            "",
            "",
            "",
            "pending",
            "pending-held",
            "processing",
            "processing-stopped",
            "canceled",
            "aborted",
            "completed",
        ];
        for row in JOB_STATES {
            let reason = row
                .reason
                .map_or("any other".to_string(), |r| format!("`{r}`"));
            let line = format!(
                "//! | {} {} | {} | {} | {} |",
                row.job_state,
                names[row.job_state as usize],
                reason,
                row.status.term(),
                row.info
            );
            assert!(source.contains(&line), "missing from the doc: {line}");
        }
        let doc_rows = source
            .lines()
            .filter(|l| {
                l.starts_with("//! | ")
                    && !l.starts_with("//! | `printer-state-reasons`")
                    && !l.starts_with("//! | `job-state`")
            })
            .count();
        assert_eq!(
            doc_rows,
            PRINTER_STATE_REASONS.len() + JOB_STATES.len(),
            "no extra doc rows"
        );
    }

    fn job(state: i32, reasons: &[&str]) -> Option<(ExecutionStatus, &'static str)> {
        execution_status(state, reasons).map(|s| (s.status, s.info))
    }

    #[test]
    fn final_job_states() {
        assert_eq!(
            job(9, &["job-completed-successfully"]),
            Some((E::Done, "NORMAL"))
        );
        assert_eq!(job(9, &[]), Some((E::Done, "NORMAL")));
        assert_eq!(
            job(9, &["job-completed-with-warnings"]),
            Some((E::Done, "NORMAL"))
        );
        assert_eq!(
            job(9, &["job-completed-with-errors"]),
            Some((E::Failure, "UNKNOWN"))
        );
        assert_eq!(
            job(8, &["aborted-by-system"]),
            Some((E::Failure, "PRINTER DOWN"))
        );
        assert_eq!(
            job(8, &["aborted-by-system", "service-off-line"]),
            Some((E::Failure, "PRINTER OFFLINE"))
        );
        assert_eq!(
            job(8, &["document-format-error"]),
            Some((E::Failure, "UNKNOWN"))
        );
        assert_eq!(
            job(7, &["job-canceled-by-user"]),
            Some((E::Failure, "UNKNOWN"))
        );
        assert_eq!(
            job(7, &["job-canceled-at-device"]),
            Some((E::Failure, "UNKNOWN"))
        );
    }

    #[test]
    fn other_job_states() {
        assert_eq!(job(3, &["job-incoming"]), Some((E::Pending, "QUEUED")));
        assert_eq!(
            job(4, &["job-hold-until-specified"]),
            Some((E::Pending, "QUEUED"))
        );
        assert_eq!(job(5, &["job-printing"]), Some((E::Printing, "NORMAL")));
        assert_eq!(
            job(6, &["printer-stopped"]),
            Some((E::Printing, "PRINTER DOWN"))
        );
        assert_eq!(job(2, &[]), None);
        assert_eq!(job(10, &[]), None);
        // A reason for another state does not match.
        assert_eq!(job(9, &["service-off-line"]), Some((E::Done, "NORMAL")));
    }
}

//! Prometheus metrics: counters and histograms the server's layers update as things
//! happen, and gauges filled at scrape time from the spool and the printer board, encoded
//! in the Prometheus text format 0.0.4 for `GET /metrics`.
//!
//! Names follow Prometheus' conventions: prefix `filmd_`, `_total` on counters, base units
//! (`_seconds`, `_bytes`) in the name. Labels have few values only: queue, job state,
//! DIMSE operation, status class, rejection reason, document format; never AE titles,
//! patient data or job IDs. A film is a sheet: film boxes × Number of Copies, in every
//! film counter.
//!
//! | metric | type | labels | source |
//! |---|---|---|---|
//! | `filmd_associations_open` | gauge | | association layer |
//! | `filmd_associations_accepted_total` | counter | | A-ASSOCIATE-AC sent |
//! | `filmd_associations_rejected_total` | counter | `reason` ([`Rejection`]) | listener, association layer |
//! | `filmd_dimse_requests_total` | counter | `operation`, `status_class` | every response sent |
//! | `filmd_films_received_total` | counter | `queue` | print N-ACTION accepted by the spool |
//! | `filmd_films_printed_total`, `filmd_films_failed_total` | counter | `queue` | spool's finished hook |
//! | `filmd_jobs` | gauge | `queue`, `state` | scrape: the spool's counts |
//! | `filmd_compose_duration_seconds` | histogram | `queue` | [`crate::outputs::timed`] |
//! | `filmd_encode_duration_seconds` | histogram | `format` (`pdf`, `pwg`, `png`) | archive, IPP submission |
//! | `filmd_delivery_duration_seconds` | histogram | `queue` | submission until the printer's completed |
//! | `filmd_printer_status` | gauge | `queue`, `status` (NORMAL, WARNING, FAILURE) | scrape: the printer board |
//! | `filmd_spool_free_bytes` | gauge | | scrape: statvfs of the spool directory |
//! | `filmd_build_info` | gauge (1) | `version` | |
//! | `filmd_start_time_seconds` | gauge | | |

use crate::net::dimse::command_field as cf;
use crate::net::journal::Rejection;
use crate::net::status;
use crate::outputs::board::PrinterStatus;
use crate::spool::{JobRow, State};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `Content-Type` of what [`Metrics::encode`] returns (text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Histogram buckets of the duration metrics, in seconds: from a 10 ms archive PDF to a
/// 10 minute print of a long job.
pub const DURATION_BUCKETS: [f64; 15] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 600.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DimseLabels {
    operation: &'static str,
    status_class: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    queue: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    queue: String,
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PrinterLabels {
    queue: String,
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FormatLabels {
    format: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: &'static str,
}

/// The label set of a metric without labels that may be absent.
type NoLabels = Vec<(String, String)>;

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

type Durations<L> = Family<L, Histogram, fn() -> Histogram>;

/// The requests an SCP answers (PS3.7 9.3, 10.3), whose counters start at 0.
const DIMSE_OPERATIONS: [u16; 6] = [
    cf::C_ECHO_RQ,
    cf::N_CREATE_RQ,
    cf::N_SET_RQ,
    cf::N_GET_RQ,
    cf::N_ACTION_RQ,
    cf::N_DELETE_RQ,
];

/// The values of the `status_class` label.
const STATUS_CLASSES: [&str; 3] = ["success", "warning", "failure"];

/// The DIMSE operation label of a request's Command Field (PS3.7 9.3, 10.3).
pub fn dimse_operation(command_field: u16) -> &'static str {
    match command_field {
        cf::C_ECHO_RQ => "c_echo",
        cf::N_CREATE_RQ => "n_create",
        cf::N_SET_RQ => "n_set",
        cf::N_GET_RQ => "n_get",
        cf::N_ACTION_RQ => "n_action",
        cf::N_DELETE_RQ => "n_delete",
        cf::N_EVENT_REPORT_RQ => "n_event_report",
        _ => "other",
    }
}

/// The status class label of a DIMSE status (PS3.7 C.1): `success`, `warning` or
/// `failure`.
pub fn status_class(code: u16) -> &'static str {
    if status::is_success(code) {
        "success"
    } else if status::is_warning(code) {
        "warning"
    } else {
        "failure"
    }
}

/// Values read at scrape time (a plain struct, so that tests and the web layer can build
/// one without a spool).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape {
    /// Jobs per queue and state.
    pub jobs: Vec<(String, State, u64)>,
    /// The Printer Status of each queue's printer.
    pub printers: Vec<(String, PrinterStatus)>,
    /// Free bytes on the spool's file system, when statvfs answered.
    pub spool_free_bytes: Option<u64>,
}

/// Every metric of one server; shared as `Arc<Metrics>`, created once in `app.rs`.
pub struct Metrics {
    registry: Registry,
    queues: Vec<String>,
    associations_open: Gauge,
    associations_accepted: Counter,
    associations_rejected: Family<ReasonLabels, Counter>,
    dimse_requests: Family<DimseLabels, Counter>,
    films_received: Family<QueueLabels, Counter>,
    films_printed: Family<QueueLabels, Counter>,
    films_failed: Family<QueueLabels, Counter>,
    compose_duration: Durations<QueueLabels>,
    encode_duration: Durations<FormatLabels>,
    delivery_duration: Durations<QueueLabels>,
    jobs: Family<JobLabels, Gauge>,
    printer_status: Family<PrinterLabels, Gauge>,
    /// Without labels; absent when statvfs did not answer (rather than a false 0).
    spool_free_bytes: Family<NoLabels, Gauge>,
    /// Scrape-time gauges are set and encoded under this lock, so that two scrapes at
    /// once do not mix their values.
    scraping: Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("queues", &self.queues)
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(std::iter::empty::<&str>())
    }
}

impl Metrics {
    /// The metrics of a server with these queues. Every family is there from the first
    /// scrape (a family without samples would be left out): each queue's film counters
    /// and duration histograms, every rejection reason, every DIMSE operation and status
    /// class, and PDF encoding start at 0, so that a rate or an increase is defined from
    /// the start.
    pub fn new<'a>(queues: impl IntoIterator<Item = &'a str>) -> Metrics {
        let queues: Vec<String> = queues.into_iter().map(str::to_string).collect();
        let mut m = Metrics {
            registry: Registry::default(),
            queues,
            associations_open: Gauge::default(),
            associations_accepted: Counter::default(),
            associations_rejected: Family::default(),
            dimse_requests: Family::default(),
            films_received: Family::default(),
            films_printed: Family::default(),
            films_failed: Family::default(),
            compose_duration: Family::new_with_constructor(duration_histogram),
            encode_duration: Family::new_with_constructor(duration_histogram),
            delivery_duration: Family::new_with_constructor(duration_histogram),
            jobs: Family::default(),
            printer_status: Family::default(),
            spool_free_bytes: Family::default(),
            scraping: Mutex::new(()),
        };
        m.register();
        for reason in Rejection::ALL {
            let _ = m.associations_rejected.get_or_create(&ReasonLabels {
                reason: reason.label(),
            });
        }
        for queue in &m.queues {
            let labels = QueueLabels {
                queue: queue.clone(),
            };
            let _ = m.films_received.get_or_create(&labels);
            let _ = m.films_printed.get_or_create(&labels);
            let _ = m.films_failed.get_or_create(&labels);
            let _ = m.compose_duration.get_or_create(&labels);
            let _ = m.delivery_duration.get_or_create(&labels);
        }
        for operation in DIMSE_OPERATIONS {
            for status_class in STATUS_CLASSES {
                let _ = m.dimse_requests.get_or_create(&DimseLabels {
                    operation: dimse_operation(operation),
                    status_class,
                });
            }
        }
        let _ = m
            .encode_duration
            .get_or_create(&FormatLabels { format: "pdf" });
        m
    }

    fn register(&mut self) {
        let r = &mut self.registry;
        r.register(
            "filmd_associations_open",
            "DICOM associations open now",
            self.associations_open.clone(),
        );
        r.register(
            "filmd_associations_accepted",
            "DICOM associations accepted (A-ASSOCIATE-AC sent)",
            self.associations_accepted.clone(),
        );
        r.register(
            "filmd_associations_rejected",
            "Association attempts turned away, by reason: limit_exceeded, access_address, \
             access_calling_ae, called_ae, negotiation (A-ASSOCIATE-RJ sent); pending_full, \
             pending_evicted, tls_failed, no_request (closed before an A-ASSOCIATE-RQ)",
            self.associations_rejected.clone(),
        );
        r.register(
            "filmd_dimse_requests",
            "DIMSE requests answered, by operation and status class of the response",
            self.dimse_requests.clone(),
        );
        r.register(
            "filmd_films_received",
            "Films queued by a print N-ACTION the spool accepted (film boxes x copies)",
            self.films_received.clone(),
        );
        r.register(
            "filmd_films_printed",
            "Films of jobs that ended done (film boxes x copies)",
            self.films_printed.clone(),
        );
        r.register(
            "filmd_films_failed",
            "Films of jobs that ended failed (film boxes x copies)",
            self.films_failed.clone(),
        );
        r.register(
            "filmd_jobs",
            "Jobs in the spool, by queue and state",
            self.jobs.clone(),
        );
        r.register(
            "filmd_compose_duration_seconds",
            "Time to compose a job's documents (render, encode, write)",
            self.compose_duration.clone(),
        );
        r.register(
            "filmd_encode_duration_seconds",
            "Time to build one document, by format (pdf, pwg, png): its films' pages are \
             composed and encoded in one pass, so this includes composing them",
            self.encode_duration.clone(),
        );
        r.register(
            "filmd_delivery_duration_seconds",
            "Time from a job's submission to its printer until the printer reported it \
             completed (none on a queue without a printer)",
            self.delivery_duration.clone(),
        );
        r.register(
            "filmd_printer_status",
            "Printer Status of each queue's printer (PS3.3 C.13.9.1): 1 for the current one",
            self.printer_status.clone(),
        );
        r.register(
            "filmd_spool_free_bytes",
            "Bytes free on the spool's file system",
            self.spool_free_bytes.clone(),
        );
        let build: Family<VersionLabels, Gauge> = Family::default();
        build
            .get_or_create(&VersionLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        r.register("filmd_build_info", "filmd's version, as a label", build);
        let start: Gauge<f64, AtomicU64> = Gauge::default();
        start.set(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        );
        r.register(
            "filmd_start_time_seconds",
            "When the server started, in seconds since the Unix epoch",
            start,
        );
    }

    /// An association was accepted; the gauge of open ones goes down when the guard drops.
    pub fn association_opened(self: &Arc<Self>) -> OpenAssociation {
        self.associations_accepted.inc();
        self.associations_open.inc();
        OpenAssociation {
            metrics: self.clone(),
        }
    }

    /// An association attempt was turned away.
    pub fn association_rejected(&self, reason: Rejection) {
        self.associations_rejected
            .get_or_create(&ReasonLabels {
                reason: reason.label(),
            })
            .inc();
    }

    /// A DIMSE request with this Command Field was answered with this status.
    pub fn dimse_request(&self, command_field: u16, status: u16) {
        self.dimse_requests
            .get_or_create(&DimseLabels {
                operation: dimse_operation(command_field),
                status_class: status_class(status),
            })
            .inc();
    }

    /// `films` films were queued on `queue`.
    pub fn films_received(&self, queue: &str, films: u64) {
        self.films_received
            .get_or_create(&queue_labels(queue))
            .inc_by(films);
    }

    /// A job ended (the spool's finished hook): its films count as printed or failed.
    pub fn job_finished(&self, row: &JobRow) {
        let family = match row.state {
            State::Done => &self.films_printed,
            State::Failed => &self.films_failed,
            _ => return,
        };
        let films = u64::from(row.films).saturating_mul(u64::from(row.copies.max(1)));
        family
            .get_or_create(&queue_labels(&row.queue))
            .inc_by(films);
    }

    pub fn observe_compose(&self, queue: &str, took: Duration) {
        self.compose_duration
            .get_or_create(&queue_labels(queue))
            .observe(took.as_secs_f64());
    }

    /// `format`: `pdf`, `pwg` or `png`.
    pub fn observe_encode(&self, format: &'static str, took: Duration) {
        self.encode_duration
            .get_or_create(&FormatLabels { format })
            .observe(took.as_secs_f64());
    }

    pub fn observe_delivery(&self, queue: &str, took: Duration) {
        self.delivery_duration
            .get_or_create(&queue_labels(queue))
            .observe(took.as_secs_f64());
    }

    /// The queues the server was started with, in configuration order.
    pub fn queues(&self) -> &[String] {
        &self.queues
    }

    /// The metrics in the Prometheus text format 0.0.4 ([`CONTENT_TYPE`]), with the
    /// scrape-time gauges set from `scrape`.
    pub fn encode(&self, scrape: &Scrape) -> String {
        let _one_at_a_time = self.scraping.lock().unwrap_or_else(|p| p.into_inner());
        self.jobs.clear();
        for (queue, state, n) in &scrape.jobs {
            self.jobs
                .get_or_create(&JobLabels {
                    queue: queue.clone(),
                    state: state.as_str(),
                })
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
        self.printer_status.clear();
        for (queue, current) in &scrape.printers {
            for status in [
                PrinterStatus::Normal,
                PrinterStatus::Warning,
                PrinterStatus::Failure,
            ] {
                self.printer_status
                    .get_or_create(&PrinterLabels {
                        queue: queue.clone(),
                        status: status.term(),
                    })
                    .set(i64::from(status == *current));
            }
        }
        self.spool_free_bytes.clear();
        if let Some(free) = scrape.spool_free_bytes {
            self.spool_free_bytes
                .get_or_create(&Vec::new())
                .set(i64::try_from(free).unwrap_or(i64::MAX));
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry);
        text
    }
}

fn queue_labels(queue: &str) -> QueueLabels {
    QueueLabels {
        queue: queue.to_string(),
    }
}

/// Held while an association is open: `filmd_associations_open` counts it.
#[derive(Debug)]
pub struct OpenAssociation {
    metrics: Arc<Metrics>,
}

impl Drop for OpenAssociation {
    fn drop(&mut self) {
        self.metrics.associations_open.dec();
    }
}

#[cfg(test)]
mod tests;

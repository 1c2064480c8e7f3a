//! The live state of every queue's printer, as DICOM sees it: Printer Status and Printer
//! Status Info (PS3.3 C.13.9.1), kept up to date by whoever watches the real device (the
//! IPP poller for an IPP queue) and read by the Printer SOP class (N-GET, and an
//! N-EVENT-REPORT to every association watching the queue when it changes, PS3.4 H.4.6.1).
//!
//! A queue with only a PDF archive has nothing that can run out of film: it stays NORMAL.

use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::watch;
use tracing::warn;

/// Printer Status (2110,0010), ordered by severity, with the Event Type ID of its Printer
/// N-EVENT-REPORT (PS3.4 Table H.4-10: 1 NORMAL, 2 WARNING, 3 FAILURE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrinterStatus {
    Normal,
    Warning,
    Failure,
}

impl PrinterStatus {
    /// The defined term of Printer Status (PS3.3 C.13.9.1).
    pub fn term(self) -> &'static str {
        match self {
            PrinterStatus::Normal => "NORMAL",
            PrinterStatus::Warning => "WARNING",
            PrinterStatus::Failure => "FAILURE",
        }
    }

    /// Event Type ID of the Printer N-EVENT-REPORT announcing this status.
    pub fn event_type_id(self) -> u16 {
        match self {
            PrinterStatus::Normal => 1,
            PrinterStatus::Warning => 2,
            PrinterStatus::Failure => 3,
        }
    }
}

/// The Printer Status Info and Execution Status Info defined terms filmd uses
/// (PS3.3 C.13.9.1).
pub mod info {
    pub const NORMAL: &str = "NORMAL";
    pub const SUPPLY_LOW: &str = "SUPPLY LOW";
    pub const SUPPLY_EMPTY: &str = "SUPPLY EMPTY";
    pub const FILM_JAM: &str = "FILM JAM";
    pub const COVER_OPEN: &str = "COVER OPEN";
    pub const PRINTER_DOWN: &str = "PRINTER DOWN";
    pub const PRINTER_OFFLINE: &str = "PRINTER OFFLINE";
    pub const PRINTER_INIT: &str = "PRINTER INIT";
    pub const QUEUED: &str = "QUEUED";
    pub const UNKNOWN: &str = "UNKNOWN";
    /// All of them.
    pub const ALL: [&str; 10] = [
        NORMAL,
        SUPPLY_LOW,
        SUPPLY_EMPTY,
        FILM_JAM,
        COVER_OPEN,
        PRINTER_DOWN,
        PRINTER_OFFLINE,
        PRINTER_INIT,
        QUEUED,
        UNKNOWN,
    ];
}

/// One printer's condition as the Printer SOP class reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterCondition {
    pub status: PrinterStatus,
    /// Printer Status Info (2110,0020): a defined term of [`info`], e.g. SUPPLY EMPTY,
    /// FILM JAM, PRINTER DOWN.
    pub info: String,
    /// What the device itself said (IPP printer-state and reasons), for logs and admins.
    pub detail: String,
}

impl PrinterCondition {
    pub fn normal() -> Self {
        PrinterCondition {
            status: PrinterStatus::Normal,
            info: info::NORMAL.into(),
            detail: String::new(),
        }
    }
}

/// Every queue's printer status, by queue name.
#[derive(Debug)]
pub struct PrinterBoard {
    queues: HashMap<String, watch::Sender<PrinterCondition>>,
}

impl PrinterBoard {
    /// All the named queues, NORMAL until told otherwise.
    pub fn new<'a>(queues: impl IntoIterator<Item = &'a str>) -> Arc<Self> {
        Arc::new(PrinterBoard {
            queues: queues
                .into_iter()
                .map(|q| (q.to_string(), watch::channel(PrinterCondition::normal()).0))
                .collect(),
        })
    }

    /// The queue's status now (NORMAL for a queue the board does not know).
    pub fn get(&self, queue: &str) -> PrinterCondition {
        self.queues
            .get(queue)
            .map(|s| s.borrow().clone())
            .unwrap_or_else(PrinterCondition::normal)
    }

    /// Records the queue's status; watchers hear of it only when the level or the info
    /// changed (a new detail alone is not news to a modality). Returns whether it did.
    pub fn set(&self, queue: &str, status: PrinterCondition) -> bool {
        let Some(sender) = self.queues.get(queue) else {
            return false;
        };
        sender.send_if_modified(|current| {
            let news = current.status != status.status || current.info != status.info;
            if news {
                let line = format!(
                    "printer of queue {queue}: {} ({}) was {} ({}){}",
                    status.status.term(),
                    status.info,
                    current.status.term(),
                    current.info,
                    if status.detail.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", status.detail)
                    }
                );
                if status.status == PrinterStatus::Normal {
                    tracing::info!("{line}");
                } else {
                    warn!("{line}");
                }
            }
            *current = status;
            news
        })
    }

    /// A receiver that wakes on every change of the queue's level or info.
    pub fn subscribe(&self, queue: &str) -> Option<watch::Receiver<PrinterCondition>> {
        self.queues.get(queue).map(|s| s.subscribe())
    }
}

/// Calls `back(queue)` whenever one of `queues`' printer leaves FAILURE (it answers
/// again, or was resumed), so that a film waiting out a retry backoff goes at once rather
/// than up to a minute after the outage. `back` runs on a blocking thread. The tasks run
/// until aborted.
pub fn follow_recoveries(
    board: &PrinterBoard,
    queues: Vec<String>,
    back: Arc<dyn Fn(&str) + Send + Sync>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for queue in queues {
        let Some(mut rx) = board.subscribe(&queue) else {
            continue;
        };
        // Read before the task starts, so that a recovery in between is not missed.
        let mut was_down = rx.borrow_and_update().status == PrinterStatus::Failure;
        let back = back.clone();
        tasks.push(tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let down = rx.borrow_and_update().status == PrinterStatus::Failure;
                if was_down && !down {
                    let (back, q) = (back.clone(), queue.clone());
                    let _ = tokio::task::spawn_blocking(move || back(&q)).await;
                }
                was_down = down;
            }
        }));
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: PrinterStatus, info: &str, detail: &str) -> PrinterCondition {
        PrinterCondition {
            status,
            info: info.into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn watchers_hear_of_level_and_info_changes_only() {
        let board = PrinterBoard::new(["a", "b"]);
        let mut rx = board.subscribe("a").unwrap();
        assert!(!rx.has_changed().unwrap());
        assert!(board.set(
            "a",
            status(PrinterStatus::Warning, "SUPPLY LOW", "media-low-warning")
        ));
        assert!(rx.has_changed().unwrap());
        assert_eq!(rx.borrow_and_update().info, "SUPPLY LOW");
        // Same level and info, new detail: recorded, not announced.
        assert!(!board.set(
            "a",
            status(PrinterStatus::Warning, "SUPPLY LOW", "toner-low-warning")
        ));
        assert!(!rx.has_changed().unwrap());
        assert_eq!(board.get("a").detail, "toner-low-warning");
        assert_eq!(board.get("b"), PrinterCondition::normal());
        assert!(!board.set("unknown", PrinterCondition::normal()));
        assert_eq!(PrinterStatus::Failure.event_type_id(), 3);
        assert!(
            PrinterStatus::Failure > PrinterStatus::Warning
                && PrinterStatus::Warning > PrinterStatus::Normal
        );
    }
}

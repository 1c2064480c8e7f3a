//! The live state of every queue's printer, as DICOM sees it: Printer Status and Printer
//! Status Info (PS3.3 C.13.9.1), kept up to date by whoever watches the real device (the
//! IPP poller for an IPP queue) and read by the Printer SOP class (N-GET, and an
//! N-EVENT-REPORT to every association watching the queue when it changes, PS3.4 H.4.6.1).
//!
//! A queue with only a PDF archive has nothing that can run out of film: it stays NORMAL.

use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::watch;
use tracing::{info, warn};

/// Printer Status (2110,0010), with the Event Type ID of its Printer N-EVENT-REPORT
/// (PS3.4 Table H.4-10: 1 NORMAL, 2 WARNING, 3 FAILURE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Normal,
    Warning,
    Failure,
}

impl Level {
    /// The defined term of Printer Status.
    pub fn term(self) -> &'static str {
        match self {
            Level::Normal => "NORMAL",
            Level::Warning => "WARNING",
            Level::Failure => "FAILURE",
        }
    }

    /// Event Type ID of the Printer N-EVENT-REPORT announcing this status.
    pub fn event_type_id(self) -> u16 {
        match self {
            Level::Normal => 1,
            Level::Warning => 2,
            Level::Failure => 3,
        }
    }
}

/// One printer's status as the Printer SOP class reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterStatus {
    pub level: Level,
    /// Printer Status Info (2110,0020): a defined term of PS3.3 C.13.9.1, e.g. SUPPLY
    /// EMPTY, FILM JAM, PRINTER DOWN.
    pub info: String,
    /// What the device itself said (IPP printer-state and reasons), for logs and admins.
    pub detail: String,
}

impl PrinterStatus {
    pub fn normal() -> Self {
        PrinterStatus {
            level: Level::Normal,
            info: "NORMAL".into(),
            detail: String::new(),
        }
    }
}

/// Every queue's printer status, by queue name.
#[derive(Debug)]
pub struct PrinterBoard {
    queues: HashMap<String, watch::Sender<PrinterStatus>>,
}

impl PrinterBoard {
    /// All the named queues, NORMAL until told otherwise.
    pub fn new<'a>(queues: impl IntoIterator<Item = &'a str>) -> Arc<Self> {
        Arc::new(PrinterBoard {
            queues: queues
                .into_iter()
                .map(|q| (q.to_string(), watch::channel(PrinterStatus::normal()).0))
                .collect(),
        })
    }

    /// The queue's status now (NORMAL for a queue the board does not know).
    pub fn get(&self, queue: &str) -> PrinterStatus {
        self.queues
            .get(queue)
            .map(|s| s.borrow().clone())
            .unwrap_or_else(PrinterStatus::normal)
    }

    /// Records the queue's status; watchers hear of it only when the level or the info
    /// changed (a new detail alone is not news to a modality). Returns whether it did.
    pub fn set(&self, queue: &str, status: PrinterStatus) -> bool {
        let Some(sender) = self.queues.get(queue) else {
            return false;
        };
        sender.send_if_modified(|current| {
            let news = current.level != status.level || current.info != status.info;
            if news {
                let line = format!(
                    "printer of queue {queue}: {} ({}) was {} ({}){}",
                    status.level.term(),
                    status.info,
                    current.level.term(),
                    current.info,
                    if status.detail.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", status.detail)
                    }
                );
                if status.level == Level::Normal {
                    info!("{line}");
                } else {
                    warn!("{line}");
                }
            }
            *current = status;
            news
        })
    }

    /// A receiver that wakes on every change of the queue's level or info.
    pub fn subscribe(&self, queue: &str) -> Option<watch::Receiver<PrinterStatus>> {
        self.queues.get(queue).map(|s| s.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(level: Level, info: &str, detail: &str) -> PrinterStatus {
        PrinterStatus {
            level,
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
            status(Level::Warning, "SUPPLY LOW", "media-low-warning")
        ));
        assert!(rx.has_changed().unwrap());
        assert_eq!(rx.borrow_and_update().info, "SUPPLY LOW");
        // Same level and info, new detail: recorded, not announced.
        assert!(!board.set(
            "a",
            status(Level::Warning, "SUPPLY LOW", "toner-low-warning")
        ));
        assert!(!rx.has_changed().unwrap());
        assert_eq!(board.get("a").detail, "toner-low-warning");
        assert_eq!(board.get("b"), PrinterStatus::normal());
        assert!(!board.set("unknown", PrinterStatus::normal()));
        assert_eq!(Level::Failure.event_type_id(), 3);
        assert!(Level::Failure > Level::Warning && Level::Warning > Level::Normal);
    }
}

//! The association journal: the last few hundred associations the server saw, newest
//! first, with their peer, AE titles, films and how they ended (what a modality engineer
//! asks first when "the CT cannot print"). Held in memory only; a restart starts it afresh.
//!
//! Connections that never sent an A-ASSOCIATE-RQ are not journaled (they have no AE
//! titles to show); the metrics count them under [`Rejection`].

use serde::Serialize;
use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// Associations kept by default.
pub const CAPACITY: usize = 500;

/// Why an association attempt was turned away: a small closed set, used as the `reason`
/// label of `filmd_associations_rejected_total` and in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    /// Over `max_associations` or `max_associations_per_host`: A-ASSOCIATE-RJ transient,
    /// "local limit exceeded" (PS3.8 Table 9-21).
    LimitExceeded,
    /// The source address is in none of the queue's `allow_from` networks.
    AccessAddress,
    /// The calling AE title matches none of the queue's `allow_calling` patterns.
    AccessCallingAe,
    /// The called AE title is none of this server's (PS3.8 Table 9-21, reason 7).
    CalledAe,
    /// Protocol version or application context name not supported.
    Negotiation,
    /// Not journaled: every pending slot was taken, this address holding the most.
    PendingFull,
    /// Not journaled: closed while pending to make room for another address.
    PendingEvicted,
    /// Not journaled: the TLS handshake failed or timed out.
    TlsFailed,
    /// Not journaled: no A-ASSOCIATE-RQ within `association_timeout`, or another PDU
    /// instead of one.
    NoRequest,
}

impl Rejection {
    /// Every reason, in the order the metrics list them.
    pub const ALL: [Rejection; 9] = [
        Rejection::LimitExceeded,
        Rejection::AccessAddress,
        Rejection::AccessCallingAe,
        Rejection::CalledAe,
        Rejection::Negotiation,
        Rejection::PendingFull,
        Rejection::PendingEvicted,
        Rejection::TlsFailed,
        Rejection::NoRequest,
    ];

    /// The label value (snake case, as serialized).
    pub fn label(self) -> &'static str {
        match self {
            Rejection::LimitExceeded => "limit_exceeded",
            Rejection::AccessAddress => "access_address",
            Rejection::AccessCallingAe => "access_calling_ae",
            Rejection::CalledAe => "called_ae",
            Rejection::Negotiation => "negotiation",
            Rejection::PendingFull => "pending_full",
            Rejection::PendingEvicted => "pending_evicted",
            Rejection::TlsFailed => "tls_failed",
            Rejection::NoRequest => "no_request",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rejection::LimitExceeded => "association limit exceeded",
            Rejection::AccessAddress => "source address not allowed",
            Rejection::AccessCallingAe => "calling AE title not allowed",
            Rejection::CalledAe => "called AE title unknown",
            Rejection::Negotiation => "negotiation failed",
            Rejection::PendingFull => "too many connections waiting",
            Rejection::PendingEvicted => "closed to make room",
            Rejection::TlsFailed => "TLS handshake failed",
            Rejection::NoRequest => "no A-ASSOCIATE-RQ",
        })
    }
}

/// How an association ended, or that it is still open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    Open,
    /// A-RELEASE-RQ answered (PS3.8 7.2).
    Released,
    /// The peer sent A-ABORT.
    AbortedByPeer,
    /// filmd sent A-ABORT: a protocol error, or the server shutting down.
    AbortedByFilmd {
        why: String,
    },
    /// A-ASSOCIATE-RJ sent.
    Rejected {
        reason: Rejection,
        why: String,
    },
    /// The connection closed or broke without A-RELEASE or A-ABORT.
    ConnectionLost {
        why: String,
    },
    /// Silent for `idle_timeout`: aborted.
    TimedOut,
}

impl Outcome {
    /// A short machine-readable name: `open`, `released`, `aborted_by_peer`,
    /// `aborted_by_filmd`, `rejected`, `connection_lost`, `timed_out`.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Open => "open",
            Outcome::Released => "released",
            Outcome::AbortedByPeer => "aborted_by_peer",
            Outcome::AbortedByFilmd { .. } => "aborted_by_filmd",
            Outcome::Rejected { .. } => "rejected",
            Outcome::ConnectionLost { .. } => "connection_lost",
            Outcome::TimedOut => "timed_out",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Open => f.write_str("open"),
            Outcome::Released => f.write_str("released"),
            Outcome::AbortedByPeer => f.write_str("aborted by peer"),
            Outcome::AbortedByFilmd { why } => write!(f, "aborted by filmd: {why}"),
            Outcome::Rejected { reason, why } => write!(f, "rejected ({reason}): {why}"),
            Outcome::ConnectionLost { why } => write!(f, "connection lost: {why}"),
            Outcome::TimedOut => f.write_str("timed out"),
        }
    }
}

/// One association as the journal shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssociationRecord {
    /// The number in the server's log lines (`assoc=`), unique within a run.
    pub id: u64,
    pub peer: SocketAddr,
    pub calling_ae: String,
    pub called_ae: String,
    pub tls: bool,
    /// Unix milliseconds.
    pub started_ms: i64,
    pub ended_ms: Option<i64>,
    /// Films queued for printing on this association: film boxes × Number of Copies of
    /// every print N-ACTION the spool accepted.
    pub films: u32,
    pub outcome: Outcome,
}

impl AssociationRecord {
    /// A record of an association starting now, open.
    pub fn new(
        id: u64,
        peer: SocketAddr,
        calling_ae: &str,
        called_ae: &str,
        tls: bool,
    ) -> AssociationRecord {
        AssociationRecord {
            id,
            peer,
            calling_ae: calling_ae.trim().to_string(),
            called_ae: called_ae.trim().to_string(),
            tls,
            started_ms: crate::time::now_ms(),
            ended_ms: None,
            films: 0,
            outcome: Outcome::Open,
        }
    }
}

type Entry = Arc<Mutex<AssociationRecord>>;

struct Shared {
    capacity: usize,
    /// Newest first.
    records: Mutex<VecDeque<Entry>>,
    /// Associations open now (also those pushed out of `records` by newer ones).
    open: Mutex<usize>,
    /// Bumped on every change, for the console's live refresh.
    changes: watch::Sender<u64>,
}

impl Shared {
    fn bump(&self) {
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update is one step: a holder that panicked leaves it consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The journal of one server; cheap to clone (shared).
#[derive(Clone)]
pub struct AssociationJournal {
    shared: Arc<Shared>,
}

impl fmt::Debug for AssociationJournal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssociationJournal")
            .field("capacity", &self.shared.capacity)
            .field("open", &self.open())
            .finish()
    }
}

impl Default for AssociationJournal {
    fn default() -> Self {
        AssociationJournal::new(CAPACITY)
    }
}

impl AssociationJournal {
    /// A journal keeping the last `capacity` associations (at least one).
    pub fn new(capacity: usize) -> AssociationJournal {
        let capacity = capacity.max(1);
        AssociationJournal {
            shared: Arc::new(Shared {
                capacity,
                records: Mutex::new(VecDeque::with_capacity(capacity)),
                open: Mutex::new(0),
                changes: watch::channel(0).0,
            }),
        }
    }

    fn push(&self, record: AssociationRecord) -> Entry {
        let entry = Arc::new(Mutex::new(record));
        {
            let mut records = lock(&self.shared.records);
            records.push_front(entry.clone());
            records.truncate(self.shared.capacity);
        }
        entry
    }

    /// An association was accepted: its record is open until [`Handle::end`].
    pub fn opened(&self, record: AssociationRecord) -> Handle {
        let entry = self.push(AssociationRecord {
            outcome: Outcome::Open,
            ended_ms: None,
            ..record
        });
        *lock(&self.shared.open) += 1;
        self.shared.bump();
        Handle {
            live: Some(Live {
                entry,
                shared: self.shared.clone(),
            }),
        }
    }

    /// An association was rejected after its A-ASSOCIATE-RQ.
    pub fn rejected(&self, record: AssociationRecord, reason: Rejection, why: impl Into<String>) {
        let ended = record.started_ms.max(crate::time::now_ms());
        self.push(AssociationRecord {
            ended_ms: Some(ended),
            outcome: Outcome::Rejected {
                reason,
                why: why.into(),
            },
            ..record
        });
        self.shared.bump();
    }

    /// Up to `limit` records, newest first.
    pub fn snapshot(&self, limit: usize) -> Vec<AssociationRecord> {
        let entries: Vec<Entry> = lock(&self.shared.records)
            .iter()
            .take(limit)
            .cloned()
            .collect();
        entries.iter().map(|e| lock(e).clone()).collect()
    }

    /// Associations open now.
    pub fn open(&self) -> usize {
        *lock(&self.shared.open)
    }

    /// A number that changes whenever the journal does.
    pub fn version(&self) -> u64 {
        *self.shared.changes.borrow()
    }

    /// Wakes on every change (a new association, one ending, films added).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.shared.changes.subscribe()
    }

    /// How many records it keeps.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }
}

struct Live {
    entry: Entry,
    shared: Arc<Shared>,
}

/// An open association's record, for the layers that learn more about it (the print
/// service counts its films). The default handle belongs to no journal and records
/// nothing (tests and the fuzz targets open associations without a server).
#[derive(Default)]
pub struct Handle {
    live: Option<Live>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.live {
            Some(live) => write!(f, "Handle({})", lock(&live.entry).id),
            None => f.write_str("Handle(detached)"),
        }
    }
}

/// Clones share the record; the association layer keeps the one that ends it.
impl Clone for Handle {
    fn clone(&self) -> Self {
        Handle {
            live: self.live.as_ref().map(|l| Live {
                entry: l.entry.clone(),
                shared: l.shared.clone(),
            }),
        }
    }
}

impl Handle {
    /// `n` more films were queued on this association.
    pub fn add_films(&self, n: u32) {
        if let Some(live) = &self.live {
            let mut r = lock(&live.entry);
            r.films = r.films.saturating_add(n);
            drop(r);
            live.shared.bump();
        }
    }

    /// The association ended so; later calls change nothing.
    pub fn end(&self, outcome: Outcome) {
        let Some(live) = &self.live else { return };
        let mut r = lock(&live.entry);
        if r.outcome != Outcome::Open {
            return;
        }
        r.outcome = if outcome == Outcome::Open {
            Outcome::ConnectionLost {
                why: "ended without an outcome".into(),
            }
        } else {
            outcome
        };
        r.ended_ms = Some(crate::time::now_ms().max(r.started_ms));
        drop(r);
        let mut open = lock(&live.shared.open);
        *open = open.saturating_sub(1);
        drop(open);
        live.shared.bump();
    }

    /// The record as it stands (None for a detached handle).
    pub fn record(&self) -> Option<AssociationRecord> {
        self.live.as_ref().map(|l| lock(&l.entry).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64) -> AssociationRecord {
        AssociationRecord::new(
            id,
            SocketAddr::from(([127, 0, 0, 1], 1000 + id as u16)),
            "CT1 ",
            " FILMD",
            false,
        )
    }

    #[test]
    fn the_journal_keeps_the_newest_records_up_to_its_capacity_newest_first() {
        let journal = AssociationJournal::new(3);
        let handles: Vec<Handle> = (1..=5).map(|id| journal.opened(record(id))).collect();
        let ids: Vec<u64> = journal.snapshot(10).iter().map(|r| r.id).collect();
        assert_eq!(ids, [5, 4, 3]);
        assert_eq!(journal.snapshot(2).len(), 2);
        // Associations pushed out of the journal still count as open until they end.
        assert_eq!(journal.open(), 5);
        for h in &handles {
            h.end(Outcome::Released);
        }
        assert_eq!(journal.open(), 0);
    }

    #[test]
    fn a_record_shows_its_films_and_how_it_ended_once() {
        let journal = AssociationJournal::default();
        let handle = journal.opened(record(7));
        let snapshot = journal.snapshot(1);
        assert_eq!(snapshot[0].outcome, Outcome::Open);
        assert_eq!(snapshot[0].ended_ms, None);
        assert_eq!(
            (
                snapshot[0].calling_ae.as_str(),
                snapshot[0].called_ae.as_str()
            ),
            ("CT1", "FILMD")
        );
        handle.clone().add_films(2);
        handle.add_films(3);
        handle.end(Outcome::AbortedByPeer);
        handle.end(Outcome::Released);
        let r = &journal.snapshot(1)[0];
        assert_eq!(r.films, 5);
        assert_eq!(r.outcome, Outcome::AbortedByPeer);
        assert!(r.ended_ms.is_some_and(|e| e >= r.started_ms));
        assert_eq!(journal.open(), 0);
    }

    #[test]
    fn a_rejection_is_journaled_ended_with_its_reason() {
        let journal = AssociationJournal::default();
        journal.rejected(
            record(3),
            Rejection::AccessCallingAe,
            "calling AE title \"X\" matches no allow_calling pattern",
        );
        let r = &journal.snapshot(5)[0];
        assert!(matches!(
            r.outcome,
            Outcome::Rejected {
                reason: Rejection::AccessCallingAe,
                ..
            }
        ));
        assert!(r.ended_ms.is_some());
        assert_eq!(journal.open(), 0);
        let json = serde_json::to_value(r).unwrap();
        assert_eq!(json["outcome"]["kind"], "rejected");
        assert_eq!(json["outcome"]["reason"], "access_calling_ae");
        assert_eq!(json["peer"], "127.0.0.1:1003");
    }

    #[test]
    fn every_change_moves_the_version_and_wakes_watchers() {
        let journal = AssociationJournal::default();
        let mut changes = journal.changes();
        let v0 = journal.version();
        let handle = journal.opened(record(1));
        assert!(changes.has_changed().unwrap());
        changes.mark_unchanged();
        handle.add_films(1);
        assert!(changes.has_changed().unwrap());
        changes.mark_unchanged();
        handle.end(Outcome::TimedOut);
        assert!(changes.has_changed().unwrap());
        assert_eq!(journal.version(), v0 + 3);
    }

    #[test]
    fn a_detached_handle_records_nothing() {
        let handle = Handle::default();
        handle.add_films(1);
        handle.end(Outcome::Released);
        assert_eq!(handle.record(), None);
    }

    #[test]
    fn rejection_labels_are_distinct_snake_case_and_match_serde() {
        let labels: std::collections::HashSet<_> =
            Rejection::ALL.iter().map(|r| r.label()).collect();
        assert_eq!(labels.len(), Rejection::ALL.len());
        for r in Rejection::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.label());
        }
    }
}

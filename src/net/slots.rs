//! Who holds the server's slots: connections still waiting for their A-ASSOCIATE-RQ
//! ("pending") and established associations, counted per source address.
//!
//! Pending connections count apart from associations, so that devices which connect and
//! never speak cannot take the association slots. When every pending slot is taken, a new
//! connection takes one from the address holding the most (its oldest connection is
//! closed): one host flooding the port cannot keep another host out. Associations are
//! bounded in total and per source address, so that one device leaving associations idle
//! cannot lock out the others.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;

/// The limits, from `[server]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotLimits {
    /// Connections that have not yet sent their A-ASSOCIATE-RQ (or finished their TLS
    /// handshake).
    pub max_pending: usize,
    /// Associations at once.
    pub max_associations: usize,
    /// Associations at once from one source address.
    pub max_associations_per_host: usize,
}

/// Why an association did not get a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// `max_associations` associations are open.
    Server(usize),
    /// The source address already holds `max_associations_per_host`.
    Host(usize),
}

impl std::fmt::Display for Full {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Full::Server(n) => write!(f, "{n} associations already open (max_associations)"),
            Full::Host(n) => write!(
                f,
                "{n} associations already open from this address (max_associations_per_host)"
            ),
        }
    }
}

/// A new connection's place among the pending ones.
#[derive(Debug)]
pub enum Arrival {
    /// Admitted; it must give up its slot when `evicted` fires.
    Admitted {
        slot: PendingSlot,
        evicted: oneshot::Receiver<()>,
        /// The address whose oldest pending connection was closed to make room.
        displaced: Option<IpAddr>,
    },
    /// Every pending slot is taken and this connection's own address holds the most.
    Refused,
}

#[derive(Debug, Default)]
struct Host {
    /// Pending connections, oldest first: their number and the signal that closes them.
    pending: VecDeque<(u64, oneshot::Sender<()>)>,
    associations: usize,
}

#[derive(Debug, Default)]
struct Table {
    hosts: HashMap<IpAddr, Host>,
    pending: usize,
    associations: usize,
    next: u64,
}

impl Table {
    fn forget_if_empty(&mut self, ip: IpAddr) {
        if let Some(h) = self.hosts.get(&ip)
            && h.pending.is_empty()
            && h.associations == 0
        {
            self.hosts.remove(&ip);
        }
    }
}

/// The shared slot table of one server (all its listeners).
#[derive(Debug, Clone)]
pub struct Slots {
    limits: SlotLimits,
    table: Arc<Mutex<Table>>,
}

/// A pending connection's slot, given back when dropped.
#[derive(Debug)]
pub struct PendingSlot {
    table: Arc<Mutex<Table>>,
    ip: IpAddr,
    number: u64,
}

/// An association's slot, given back when dropped.
#[derive(Debug)]
pub struct AssociationSlot {
    table: Arc<Mutex<Table>>,
    ip: IpAddr,
}

fn lock(table: &Mutex<Table>) -> MutexGuard<'_, Table> {
    // The table stays consistent even if a holder panicked: every update is one step.
    table.lock().unwrap_or_else(|p| p.into_inner())
}

impl Slots {
    pub fn new(limits: SlotLimits) -> Slots {
        Slots {
            limits,
            table: Arc::default(),
        }
    }

    pub fn limits(&self) -> SlotLimits {
        self.limits
    }

    /// A connection from `ip` was accepted.
    pub fn arrive(&self, ip: IpAddr) -> Arrival {
        let mut t = lock(&self.table);
        let mut displaced = None;
        if t.pending >= self.limits.max_pending {
            // The address with the most pending connections gives up its oldest.
            let Some((&busiest, count)) = t
                .hosts
                .iter()
                .map(|(ip, h)| (ip, h.pending.len()))
                .max_by_key(|&(_, n)| n)
            else {
                return Arrival::Refused;
            };
            let own = t.hosts.get(&ip).map_or(0, |h| h.pending.len());
            if count == 0 || own + 1 >= count {
                return Arrival::Refused;
            }
            let host = t.hosts.get_mut(&busiest).expect("found above");
            if let Some((_, close)) = host.pending.pop_front() {
                let _ = close.send(());
                t.pending -= 1;
                displaced = Some(busiest);
            }
        }
        let number = t.next;
        t.next += 1;
        let (close, evicted) = oneshot::channel();
        t.hosts
            .entry(ip)
            .or_default()
            .pending
            .push_back((number, close));
        t.pending += 1;
        Arrival::Admitted {
            slot: PendingSlot {
                table: self.table.clone(),
                ip,
                number,
            },
            evicted,
            displaced,
        }
    }

    /// The pending connection sent its A-ASSOCIATE-RQ: it becomes an association if the
    /// limits allow. Either way its pending slot is given back.
    pub fn establish(&self, pending: PendingSlot) -> Result<AssociationSlot, Full> {
        let ip = pending.ip;
        drop(pending);
        let mut t = lock(&self.table);
        if t.associations >= self.limits.max_associations {
            return Err(Full::Server(self.limits.max_associations));
        }
        let host = t.hosts.entry(ip).or_default();
        if host.associations >= self.limits.max_associations_per_host {
            let n = host.associations;
            t.forget_if_empty(ip);
            return Err(Full::Host(n));
        }
        host.associations += 1;
        t.associations += 1;
        Ok(AssociationSlot {
            table: self.table.clone(),
            ip,
        })
    }

    /// Pending connections and associations now open.
    pub fn counts(&self) -> (usize, usize) {
        let t = lock(&self.table);
        (t.pending, t.associations)
    }
}

impl Drop for PendingSlot {
    fn drop(&mut self) {
        let mut t = lock(&self.table);
        let Some(host) = t.hosts.get_mut(&self.ip) else {
            return;
        };
        // Absent when it was evicted: the evicting arrival already counted it out.
        if let Some(i) = host.pending.iter().position(|(n, _)| *n == self.number) {
            host.pending.remove(i);
            t.pending -= 1;
        }
        t.forget_if_empty(self.ip);
    }
}

impl Drop for AssociationSlot {
    fn drop(&mut self) {
        let mut t = lock(&self.table);
        if let Some(host) = t.hosts.get_mut(&self.ip) {
            host.associations = host.associations.saturating_sub(1);
            t.associations = t.associations.saturating_sub(1);
        }
        t.forget_if_empty(self.ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    fn slots(max_pending: usize, max_associations: usize, per_host: usize) -> Slots {
        Slots::new(SlotLimits {
            max_pending,
            max_associations,
            max_associations_per_host: per_host,
        })
    }

    fn admitted(a: Arrival) -> (PendingSlot, oneshot::Receiver<()>, Option<IpAddr>) {
        match a {
            Arrival::Admitted {
                slot,
                evicted,
                displaced,
            } => (slot, evicted, displaced),
            Arrival::Refused => panic!("refused"),
        }
    }

    #[test]
    fn a_flooding_host_gives_up_its_oldest_connection_to_another_host() {
        let s = slots(4, 8, 8);
        let mut flood: Vec<_> = (0..4).map(|_| admitted(s.arrive(ip(2)))).collect();
        // The flooding host cannot push out its own connections.
        assert!(matches!(s.arrive(ip(2)), Arrival::Refused));
        let (_slot, _ev, displaced) = admitted(s.arrive(ip(1)));
        assert_eq!(displaced, Some(ip(2)));
        // The oldest one was told to close; the others were not.
        assert!(flood[0].1.try_recv().is_ok());
        for f in &mut flood[1..] {
            assert!(f.1.try_recv().is_err());
        }
        assert_eq!(s.counts(), (4, 0));
        // The evicted connection's slot going away changes nothing more.
        let first = flood.remove(0);
        drop(first);
        assert_eq!(s.counts(), (4, 0));
    }

    #[test]
    fn two_hosts_sharing_the_pending_slots_evenly_refuse_newcomers_from_either() {
        let s = slots(4, 8, 8);
        let _a: Vec<_> = (0..2).map(|_| admitted(s.arrive(ip(1)))).collect();
        let _b: Vec<_> = (0..2).map(|_| admitted(s.arrive(ip(2)))).collect();
        assert!(matches!(s.arrive(ip(1)), Arrival::Refused));
        // A third host still gets in, at the expense of one of them.
        let (_c, _, displaced) = admitted(s.arrive(ip(3)));
        assert!(displaced == Some(ip(1)) || displaced == Some(ip(2)));
    }

    #[test]
    fn associations_are_bounded_per_host_and_in_total() {
        let s = slots(16, 3, 2);
        let a1 = s.establish(admitted(s.arrive(ip(2))).0).unwrap();
        let _a2 = s.establish(admitted(s.arrive(ip(2))).0).unwrap();
        assert_eq!(
            s.establish(admitted(s.arrive(ip(2))).0).unwrap_err(),
            Full::Host(2)
        );
        let _b1 = s.establish(admitted(s.arrive(ip(1))).0).unwrap();
        assert_eq!(
            s.establish(admitted(s.arrive(ip(1))).0).unwrap_err(),
            Full::Server(3)
        );
        assert_eq!(s.counts(), (0, 3));
        drop(a1);
        let _a3 = s.establish(admitted(s.arrive(ip(2))).0).unwrap();
        assert_eq!(s.counts(), (0, 3));
    }

    #[test]
    fn slots_come_back_and_hosts_are_forgotten() {
        let s = slots(2, 2, 2);
        let (p, _, _) = admitted(s.arrive(ip(1)));
        let a = s.establish(p).unwrap();
        let (p2, _, _) = admitted(s.arrive(ip(1)));
        assert_eq!(s.counts(), (1, 1));
        drop(p2);
        drop(a);
        assert_eq!(s.counts(), (0, 0));
        assert!(lock(&s.table).hosts.is_empty());
    }
}

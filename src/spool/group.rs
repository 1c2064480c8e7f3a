//! Group commit: callers that arrive while a commit is in flight share the next one.
//!
//! A database's classic answer to fsync latency (PostgreSQL's commit_delay without the
//! delay; Helland et al., "Group Commit Timers and High Volume Transaction Systems",
//! HPTS 1987): there is no timer. A caller that finds no commit in flight leads one at
//! once with whatever is queued (a lone caller waits for nothing but its own commit);
//! callers that arrive meanwhile queue up, and when the commit ends one of them leads
//! the next with all of them. Each caller returns only once the commit that holds its
//! item has ended, with that item's own outcome.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};

/// Commits items of type `T` in groups; each caller gets an `R`.
pub struct GroupCommit<T, R> {
    state: Mutex<Groups<T, R>>,
    ended: Condvar,
}

struct Groups<T, R> {
    /// Items waiting for the next commit, with their tickets.
    queued: Vec<(u64, T)>,
    /// Outcomes of committed items not yet taken by their callers.
    outcomes: HashMap<u64, R>,
    next_ticket: u64,
    in_flight: bool,
}

impl<T, R> Default for GroupCommit<T, R> {
    fn default() -> Self {
        GroupCommit {
            state: Mutex::new(Groups {
                queued: Vec::new(),
                outcomes: HashMap::new(),
                next_ticket: 0,
                in_flight: false,
            }),
            ended: Condvar::new(),
        }
    }
}

impl<T, R> GroupCommit<T, R> {
    fn lock(&self) -> MutexGuard<'_, Groups<T, R>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `item` and returns its outcome once a commit holding it has ended.
    /// `commit` gets a group of items in arrival order and must return one outcome per
    /// item, in the same order (a failure of the whole group is each item's failure).
    /// It runs on the calling thread of whichever caller leads the group, so every
    /// caller must pass an equivalent function.
    pub fn commit(&self, item: T, commit: impl Fn(Vec<T>) -> Vec<R>) -> R {
        let mut groups = self.lock();
        let ticket = groups.next_ticket;
        groups.next_ticket += 1;
        groups.queued.push((ticket, item));
        loop {
            if let Some(outcome) = groups.outcomes.remove(&ticket) {
                return outcome;
            }
            if groups.in_flight {
                groups = self.ended.wait(groups).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            // Lead: take every queued item (ours among them) into one commit.
            groups.in_flight = true;
            let (tickets, items): (Vec<u64>, Vec<T>) =
                std::mem::take(&mut groups.queued).into_iter().unzip();
            drop(groups);
            let outcomes = Lead { group: self }.run(items, &commit);
            groups = self.lock();
            groups.in_flight = false;
            debug_assert_eq!(tickets.len(), outcomes.len());
            groups.outcomes.extend(tickets.into_iter().zip(outcomes));
            self.ended.notify_all();
        }
    }

    /// Items waiting for the next commit (for tests).
    #[cfg(test)]
    pub fn queued(&self) -> usize {
        self.lock().queued.len()
    }
}

/// The leader's commit; if it panics, the group is let go so that the other callers
/// do not wait forever (they lead the next commit, and the panic goes on up).
struct Lead<'a, T, R> {
    group: &'a GroupCommit<T, R>,
}

impl<T, R> Lead<'_, T, R> {
    fn run(self, items: Vec<T>, commit: &impl Fn(Vec<T>) -> Vec<R>) -> Vec<R> {
        let outcomes = commit(items);
        std::mem::forget(self);
        outcomes
    }
}

impl<T, R> Drop for Lead<'_, T, R> {
    fn drop(&mut self) {
        self.group.lock().in_flight = false;
        self.group.ended.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    fn wait_until(what: &str, cond: impl Fn() -> bool) {
        let start = Instant::now();
        while !cond() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out: {what}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_lone_caller_commits_at_once_and_gets_its_outcome() {
        let group = GroupCommit::default();
        let commits = AtomicUsize::new(0);
        let outcome = group.commit(7, |items: Vec<i32>| {
            commits.fetch_add(1, Ordering::SeqCst);
            items.into_iter().map(|i| i * 2).collect()
        });
        assert_eq!((outcome, commits.load(Ordering::SeqCst)), (14, 1));
    }

    /// Callers arriving while a commit is in flight share the next one, and each
    /// returns only after the commit that holds its item.
    #[test]
    fn callers_arriving_during_a_commit_share_the_next_and_return_after_it() {
        const N: usize = 12;
        let group = Arc::new(GroupCommit::<usize, Result<usize, String>>::default());
        let committed = Arc::new(Mutex::new(Vec::<usize>::new()));
        let groups = Arc::new(Mutex::new(Vec::<Vec<usize>>::new()));
        let commit = {
            let (group, committed, groups) = (group.clone(), committed.clone(), groups.clone());
            move |items: Vec<usize>| {
                // The first commit is held until every other caller has queued.
                if groups.lock().unwrap().is_empty() {
                    let g = group.clone();
                    wait_until("the others queued", move || g.queued() == N - 1);
                }
                groups.lock().unwrap().push(items.clone());
                committed.lock().unwrap().extend(&items);
                items.into_iter().map(Ok).collect::<Vec<_>>()
            }
        };
        let first = {
            let (group, commit) = (group.clone(), commit.clone());
            std::thread::spawn(move || group.commit(0, commit))
        };
        wait_until("the first commit started", || {
            group.queued() == 0 && group.lock().in_flight
        });
        let others: Vec<_> = (1..N)
            .map(|i| {
                let (group, commit, committed) = (group.clone(), commit.clone(), committed.clone());
                std::thread::spawn(move || {
                    let outcome = group.commit(i, commit);
                    assert!(
                        committed.lock().unwrap().contains(&i),
                        "{i} returned before its commit"
                    );
                    outcome
                })
            })
            .collect();
        assert_eq!(first.join().unwrap(), Ok(0));
        for (i, t) in (1..N).zip(others) {
            assert_eq!(t.join().unwrap(), Ok(i), "each caller gets its own outcome");
        }
        let groups = groups.lock().unwrap();
        assert_eq!(groups.len(), 2, "{groups:?}");
        assert_eq!(groups[0], [0]);
        let mut second = groups[1].clone();
        second.sort();
        assert_eq!(second, (1..N).collect::<Vec<_>>());
    }

    #[test]
    fn a_failed_commit_fails_every_member_of_its_group() {
        const N: usize = 8;
        let group = Arc::new(GroupCommit::<usize, Result<(), String>>::default());
        let commits = Arc::new(AtomicUsize::new(0));
        let commit = {
            let (group, commits) = (group.clone(), commits.clone());
            move |items: Vec<usize>| {
                if commits.fetch_add(1, Ordering::SeqCst) == 0 {
                    let g = group.clone();
                    wait_until("the others queued", move || g.queued() == N - 1);
                    return items.iter().map(|_| Ok(())).collect();
                }
                items
                    .iter()
                    .map(|_| Err("disk I/O error".to_string()))
                    .collect()
            }
        };
        let threads: Vec<_> = (0..N)
            .map(|i| {
                let (group, commit) = (group.clone(), commit.clone());
                // The first caller leads the first commit alone.
                if i == 1 {
                    let g = group.clone();
                    wait_until("the first commit started", move || g.lock().in_flight);
                }
                std::thread::spawn(move || group.commit(i, commit))
            })
            .collect();
        let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(outcomes[0], Ok(()));
        assert!(
            outcomes[1..]
                .iter()
                .all(|o| *o == Err("disk I/O error".to_string())),
            "{outcomes:?}"
        );
        assert_eq!(commits.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_panicking_leader_lets_the_others_go_on() {
        let group = Arc::new(GroupCommit::<u32, u32>::default());
        let g = group.clone();
        let panicked = std::thread::spawn(move || {
            g.commit(1, |_| panic!("commit panicked"));
        })
        .join();
        assert!(panicked.is_err());
        assert_eq!(group.commit(2, |items| items), 2);
    }
}

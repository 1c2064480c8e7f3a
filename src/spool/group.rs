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
    /// Outcomes of committed items not yet taken by their callers; `None` for an item
    /// whose group's leader panicked during the commit.
    outcomes: HashMap<u64, Option<R>>,
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
    /// caller must pass an equivalent function. Should the leader panic in `commit`, the
    /// other callers of its group get `lost()`: whether their items were committed is not
    /// known, so it must be a failure (the panic goes on up in the leader).
    pub fn commit(
        &self,
        item: T,
        commit: impl Fn(Vec<T>) -> Vec<R>,
        lost: impl FnOnce() -> R,
    ) -> R {
        let mut groups = self.lock();
        let ticket = groups.next_ticket;
        groups.next_ticket += 1;
        groups.queued.push((ticket, item));
        loop {
            if let Some(outcome) = groups.outcomes.remove(&ticket) {
                return outcome.unwrap_or_else(lost);
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
            let lead = Lead {
                group: self,
                leader: ticket,
                tickets: &tickets,
            };
            let outcomes = lead.run(items, &commit);
            groups = self.lock();
            groups.in_flight = false;
            debug_assert_eq!(tickets.len(), outcomes.len());
            groups
                .outcomes
                .extend(tickets.iter().copied().zip(outcomes.into_iter().map(Some)));
            self.ended.notify_all();
        }
    }

    /// Items waiting for the next commit (for tests).
    #[cfg(test)]
    pub fn queued(&self) -> usize {
        self.lock().queued.len()
    }
}

/// The leader's commit; if it panics, every other caller of the group is told its item
/// was lost (rather than leading empty commits for ever while waiting for an outcome
/// that never comes), and the panic goes on up in the leader.
struct Lead<'a, T, R> {
    group: &'a GroupCommit<T, R>,
    leader: u64,
    tickets: &'a [u64],
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
        let mut groups = self.group.lock();
        groups.in_flight = false;
        for &ticket in self.tickets.iter().filter(|&&t| t != self.leader) {
            groups.outcomes.insert(ticket, None);
        }
        drop(groups);
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
        let outcome = group.commit(
            7,
            |items: Vec<i32>| {
                commits.fetch_add(1, Ordering::SeqCst);
                items.into_iter().map(|i| i * 2).collect()
            },
            || -1,
        );
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
            std::thread::spawn(move || group.commit(0, commit, || Err("lost".into())))
        };
        wait_until("the first commit started", || {
            group.queued() == 0 && group.lock().in_flight
        });
        let others: Vec<_> = (1..N)
            .map(|i| {
                let (group, commit, committed) = (group.clone(), commit.clone(), committed.clone());
                std::thread::spawn(move || {
                    let outcome = group.commit(i, commit, || Err("lost".into()));
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
                std::thread::spawn(move || group.commit(i, commit, || Err("lost".into())))
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
            g.commit(1, |_| panic!("commit panicked"), || 0);
        })
        .join();
        assert!(panicked.is_err());
        assert_eq!(group.commit(2, |items| items, || 0), 2);
    }

    /// The members of a group whose leader panics are told their items were lost; they
    /// neither wait for ever nor lead empty commits in a loop, and the next caller
    /// commits normally.
    #[test]
    fn the_members_of_a_group_whose_leader_panics_get_lost() {
        const N: usize = 5;
        let group = Arc::new(GroupCommit::<usize, Result<usize, &str>>::default());
        let commits = Arc::new(AtomicUsize::new(0));
        let commit = {
            let (group, commits) = (group.clone(), commits.clone());
            move |items: Vec<usize>| -> Vec<Result<usize, &str>> {
                if commits.fetch_add(1, Ordering::SeqCst) == 0 {
                    // The first commit (item 0 alone) waits for the others, who form
                    // the second group, whose leader panics.
                    let g = group.clone();
                    wait_until("the others queued", move || g.queued() == N - 1);
                    return items.into_iter().map(Ok).collect();
                }
                assert!(!items.is_empty(), "an empty group was led");
                panic!("commit panicked");
            }
        };
        let threads: Vec<_> = (0..N)
            .map(|i| {
                let (group, commit) = (group.clone(), commit.clone());
                if i == 1 {
                    let g = group.clone();
                    wait_until("the first commit started", move || g.lock().in_flight);
                }
                std::thread::spawn(move || group.commit(i, commit, || Err("lost")))
            })
            .collect();
        let outcomes: Vec<_> = threads.into_iter().map(|t| t.join()).collect();
        assert_eq!(outcomes[0].as_ref().ok(), Some(&Ok(0)));
        let panicked = outcomes[1..].iter().filter(|o| o.is_err()).count();
        let lost = outcomes[1..]
            .iter()
            .filter(|o| matches!(o, Ok(Err("lost"))))
            .count();
        assert_eq!((panicked, lost), (1, N - 2), "one leader, the rest lost");
        assert_eq!(commits.load(Ordering::SeqCst), 2, "no empty commits led");
        assert_eq!(
            group.commit(
                9,
                |items| items.into_iter().map(Ok).collect(),
                || Err("lost")
            ),
            Ok(9)
        );
        assert!(group.lock().outcomes.is_empty(), "no outcome left behind");
    }
}

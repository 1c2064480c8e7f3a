//! A queue's outputs with a stopwatch: how long composition takes, and how long the
//! printer takes from a job's submission until it reports the job completed, for the
//! duration histograms of [`crate::metrics`]. Wraps any [`QueueOutputs`], so the spool
//! and the outputs stay unaware of metrics.

use crate::metrics::Metrics;
use crate::spool::{
    BoxFuture, Composed, DeliveryError, Identification, PrintJob, QueueOutputs, RemoteState,
    StoreOutcome, StoreRequest, Submission,
};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Submissions remembered at most: a printer that never completes its jobs cannot grow
/// the map without bound (the oldest is forgotten, and its delivery not measured).
const MAX_IN_FLIGHT: usize = 4096;

/// [`QueueOutputs`] that time `inner`.
pub struct Timed {
    queue: String,
    inner: Arc<dyn QueueOutputs>,
    metrics: Arc<Metrics>,
    /// When each job now at the printer began its submission, by job name. A job adopted
    /// after a restart (found by name, never submitted by this process) is not measured.
    submitted: Mutex<HashMap<String, Instant>>,
}

impl Timed {
    pub fn new(queue: &str, inner: Arc<dyn QueueOutputs>, metrics: Arc<Metrics>) -> Timed {
        Timed {
            queue: queue.to_string(),
            inner,
            metrics,
            submitted: Mutex::new(HashMap::new()),
        }
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.submitted.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn submission_began(&self, job_name: String, at: Instant) {
        let mut map = self.in_flight();
        if map.len() >= MAX_IN_FLIGHT
            && !map.contains_key(&job_name)
            && let Some(oldest) = map.iter().min_by_key(|(_, t)| **t).map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(job_name, at);
    }

    fn ended(&self, job_name: &str, state: &RemoteState) {
        if matches!(state, RemoteState::Pending | RemoteState::Processing) {
            return;
        }
        let began = self.in_flight().remove(job_name);
        if let (RemoteState::Done, Some(began)) = (state, began) {
            self.metrics.observe_delivery(&self.queue, began.elapsed());
        }
    }
}

impl QueueOutputs for Timed {
    fn compose(&self, job: &PrintJob, out_dir: &Path) -> Result<Composed, DeliveryError> {
        let started = Instant::now();
        let result = self.inner.compose(job, out_dir);
        if result.is_ok() {
            self.metrics.observe_compose(&self.queue, started.elapsed());
        }
        result
    }

    fn has_printer(&self) -> bool {
        self.inner.has_printer()
    }

    fn submit(&self, submission: Submission) -> BoxFuture<'_, Result<String, DeliveryError>> {
        Box::pin(async move {
            let began = Instant::now();
            let job_name = submission.job_name.clone();
            let result = self.inner.submit(submission).await;
            if result.is_ok() {
                self.submission_began(job_name, began);
            }
            result
        })
    }

    fn poll<'a>(
        &'a self,
        remote_id: &'a str,
        job_name: &'a str,
    ) -> BoxFuture<'a, Result<RemoteState, DeliveryError>> {
        Box::pin(async move {
            let result = self.inner.poll(remote_id, job_name).await;
            if let Ok(state) = &result {
                self.ended(job_name, state);
            }
            result
        })
    }

    fn find<'a>(
        &'a self,
        job_name: &'a str,
    ) -> BoxFuture<'a, Result<Option<(String, RemoteState)>, DeliveryError>> {
        self.inner.find(job_name)
    }

    fn cancel<'a>(&'a self, remote_id: &'a str) -> BoxFuture<'a, Result<(), DeliveryError>> {
        self.inner.cancel(remote_id)
    }

    fn destinations(&self) -> Vec<String> {
        self.inner.destinations()
    }

    fn identify<'a>(
        &'a self,
        job: &'a PrintJob,
    ) -> BoxFuture<'a, Result<Identification, DeliveryError>> {
        self.inner.identify(job)
    }

    fn store(&self, request: StoreRequest) -> BoxFuture<'_, Result<StoreOutcome, DeliveryError>> {
        self.inner.store(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A printer that completes every job on the second poll.
    struct Printer;

    impl QueueOutputs for Printer {
        fn compose(&self, _job: &PrintJob, _out_dir: &Path) -> Result<Composed, DeliveryError> {
            Ok(Composed {
                document: None,
                note: String::new(),
            })
        }
        fn has_printer(&self) -> bool {
            true
        }
        fn submit(&self, _s: Submission) -> BoxFuture<'_, Result<String, DeliveryError>> {
            Box::pin(async { Ok("1".to_string()) })
        }
        fn poll<'a>(
            &'a self,
            remote_id: &'a str,
            _job_name: &'a str,
        ) -> BoxFuture<'a, Result<RemoteState, DeliveryError>> {
            let state = if remote_id == "done" {
                RemoteState::Done
            } else {
                RemoteState::Processing
            };
            Box::pin(async move { Ok(state) })
        }
    }

    fn submission(job: &str) -> Submission {
        Submission {
            job_id: job.into(),
            job_name: crate::spool::job_name(job),
            copies: 1,
            priority: crate::spool::Priority::Med,
            requesting_user: "CT".into(),
            label: String::new(),
            document: crate::spool::Document {
                path: "/nonexistent".into(),
                format: "application/pdf".into(),
            },
        }
    }

    fn delivery_count(metrics: &Metrics) -> String {
        metrics
            .encode(&Default::default())
            .lines()
            .find(|l| l.starts_with("filmd_delivery_duration_seconds_count{queue=\"q\"}"))
            .unwrap_or("")
            .to_string()
    }

    #[tokio::test]
    async fn a_delivery_is_measured_once_from_submission_to_completion() {
        let metrics = Arc::new(Metrics::new(["q"]));
        let timed = Timed::new("q", Arc::new(Printer), metrics.clone());
        let name = crate::spool::job_name("J1");
        timed.submit(submission("J1")).await.unwrap();
        timed.poll("busy", &name).await.unwrap();
        assert_eq!(
            delivery_count(&metrics),
            "filmd_delivery_duration_seconds_count{queue=\"q\"} 0"
        );
        timed.poll("done", &name).await.unwrap();
        assert_eq!(
            delivery_count(&metrics),
            "filmd_delivery_duration_seconds_count{queue=\"q\"} 1"
        );
        // A second report of the same end is not a second delivery.
        timed.poll("done", &name).await.unwrap();
        assert!(delivery_count(&metrics).ends_with(" 1"));
        assert!(timed.in_flight().is_empty());
    }
}

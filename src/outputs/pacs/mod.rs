//! The PACS output: every printed film stored in a PACS (PS3.4 Annex B, C-STORE as
//! Storage SCU), optionally committed (PS3.4 Annex J), under a patient identity found in
//! the film's texts or the Modality Worklist (PS3.4 Annex K).
//!
//! - [`instance`]: the DICOM instances a job becomes (Secondary Capture images or one
//!   Encapsulated PDF) and their UIDs, derived from the job.
//! - [`identity`]: the identity rules (regular expressions over the film's texts) and the
//!   worklist query and its answer.
//!
//! [`WithPacs`] adds the PACS to a queue's other outputs (its archive, its printer), which
//! go on as before: the spool drives both and the job is done when both are.

pub mod identity;
pub mod instance;

use crate::backend::dimse::{ClientError, ClientOptions, Destination, Session, failed_instances};
use crate::config::{PacsSettings, StoreAs, Unmatched};
use crate::film::compose::compose;
use crate::net::tls::client_config;
use crate::outputs::archive::job_pdf_copies;
use crate::scu::ScuTls;
use crate::spool::{
    BoxFuture, CommitmentResult, Composed, DeliveryError, DestinationState, Identification,
    Identity, PrintJob, QueueOutputs, RemoteState, StoreOutcome, StoreRequest, Submission,
};
use identity::IdentityRules;
pub use instance::{ENCAPSULATED_PDF, SECONDARY_CAPTURE};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};

/// Storage Commitment Push Model SOP Class (PS3.4 J.3).
pub const STORAGE_COMMITMENT: &str = "1.2.840.10008.1.20.1";
/// Modality Worklist Information Model - FIND (PS3.4 K.6.1).
pub const WORKLIST_FIND: &str = "1.2.840.10008.5.1.4.31";

/// How long a store waits on its own association for the commitment report before
/// releasing it (PS3.4 J.3.3: the PACS may report on it or on an association of its own,
/// as Orthanc always does; a PACS that finds it released opens one). The wait ends as
/// soon as the report arrives, on either association.
const SAME_ASSOCIATION_REPORT: Duration = Duration::from_secs(2);
/// The wait above in slices, between which a report on the PACS's own association is
/// looked for ([`ReportsElsewhere`]). A slice that ends in the middle of a PDU loses
/// nothing: dicom-ul keeps the bytes read so far for the next receive.
const REPORT_SLICE: Duration = Duration::from_millis(50);

/// The Transaction UIDs that stores are waiting for on their own association, and
/// whether their report came meanwhile on an association the PACS opened to filmd's
/// listener (told by the listener's inbox): such a store stops waiting at once.
#[derive(Debug, Default)]
pub struct ReportsElsewhere(std::sync::Mutex<HashMap<String, bool>>);

impl ReportsElsewhere {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, bool>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn waiting(&self, transaction_uid: &str) {
        self.lock().insert(transaction_uid.to_string(), false);
    }

    /// The listener took the report of `transaction_uid` (only a waiting store's is kept).
    pub fn arrived(&self, transaction_uid: &str) {
        if let Some(seen) = self.lock().get_mut(transaction_uid) {
            *seen = true;
        }
    }

    fn seen(&self, transaction_uid: &str) -> bool {
        self.lock().get(transaction_uid).copied().unwrap_or(false)
    }

    fn done(&self, transaction_uid: &str) {
        self.lock().remove(transaction_uid);
    }
}
/// Worklist answers read at most: one is a match, more are ambiguous.
const MAX_WORKLIST_MATCHES: usize = 8;

/// Why the output could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PacsSetupError {
    #[error("identity: {0}")]
    Identity(String),
    #[error("DICOM TLS to the PACS: {0}")]
    Tls(String),
}

/// The PACS side of one queue.
pub struct PacsOutput {
    queue: String,
    settings: PacsSettings,
    rules: IdentityRules,
    tls: Option<Arc<rustls::ClientConfig>>,
    elsewhere: Arc<ReportsElsewhere>,
}

impl PacsOutput {
    pub fn new(
        queue: &str,
        settings: PacsSettings,
        elsewhere: Arc<ReportsElsewhere>,
    ) -> Result<PacsOutput, PacsSetupError> {
        let rules = IdentityRules::parse(&settings.identity).map_err(PacsSetupError::Identity)?;
        let tls = settings
            .tls
            .as_ref()
            .map(client_config)
            .transpose()
            .map_err(|e| PacsSetupError::Tls(e.to_string()))?;
        Ok(PacsOutput {
            queue: queue.to_string(),
            settings,
            rules,
            tls,
            elsewhere,
        })
    }

    fn options(&self, dest: &Destination) -> ClientOptions {
        ClientOptions {
            tls: self.tls.as_ref().map(|config| ScuTls {
                config: config.clone(),
                server_name: dest.host.clone(),
            }),
            ..ClientOptions::new(self.settings.calling_ae.clone())
        }
    }

    fn destination(&self, name: &str) -> Option<&Destination> {
        self.settings
            .destinations
            .iter()
            .find(|d| d.to_string() == name)
    }

    /// The SOP class of what a job becomes.
    fn sop_class(&self) -> &'static str {
        match self.settings.store_as {
            StoreAs::SecondaryCapture => SECONDARY_CAPTURE,
            StoreAs::EncapsulatedPdf => ENCAPSULATED_PDF,
        }
    }

    /// The instances of a job as (SOP Class UID, SOP Instance UID), known without
    /// composing anything: the commitment request names them.
    fn references(&self, job: &PrintJob) -> Vec<(String, String)> {
        match self.settings.store_as {
            StoreAs::SecondaryCapture => (1..=job.films.len())
                .map(|n| (SECONDARY_CAPTURE.into(), instance::film_uid(job, n)))
                .collect(),
            StoreAs::EncapsulatedPdf => vec![(ENCAPSULATED_PDF.into(), instance::pdf_uid(job))],
        }
    }

    /// Asks the worklist for the patient of `found`: Some(identity) on exactly one match.
    fn ask_worklist(
        &self,
        worklist: &Destination,
        found: &Identity,
    ) -> Result<Option<Identity>, WorklistTrouble> {
        let Some(query) = identity::worklist_query(found) else {
            return Ok(None);
        };
        let mut session =
            Session::open(worklist, &self.options(worklist), &[WORKLIST_FIND]).map_err(wl_err)?;
        let items = session
            .c_find(WORKLIST_FIND, &query, MAX_WORKLIST_MATCHES)
            .map_err(wl_err)?;
        let _ = session.release();
        Ok(one_study(&items))
    }

    /// Identification from the film's texts, blocking (runs the worklist C-FIND).
    fn identify_blocking(
        &self,
        job_id: &str,
        texts: &[String],
    ) -> Result<Identification, DeliveryError> {
        let found = self.rules.extract(texts);
        let (identity, matched, tried) = match &self.settings.worklist {
            Some(worklist) => match self.ask_worklist(worklist, &found) {
                Err(WorklistTrouble::Later(e)) => return Err(e),
                Err(WorklistTrouble::Refused(why)) => (found.clone(), false, why),
                Ok(Some(item)) => (identity::merge(&found, &item), true, String::new()),
                Ok(None) => (
                    found.clone(),
                    false,
                    if identity::worklist_query(&found).is_some() {
                        format!("no single worklist item at {worklist} for {found:?}")
                    } else {
                        "no AccessionNumber or PatientID in the film's texts".into()
                    },
                ),
            },
            None => {
                let matched =
                    found.contains_key("PatientID") || found.contains_key("AccessionNumber");
                (
                    found.clone(),
                    matched,
                    "no PatientID or AccessionNumber in the film's texts".into(),
                )
            }
        };
        if matched {
            info!(job = %job_id, queue = %self.queue, "identity: {identity:?}");
            return Ok(Identification::Found(identity));
        }
        match self.settings.unmatched {
            Unmatched::Send => {
                warn!(job = %job_id, queue = %self.queue, "{tried}: sent with what was found");
                Ok(Identification::Found(identity))
            }
            Unmatched::Hold => Ok(Identification::Hold(format!(
                "patient identity not found ({tried}): give it with `filmd assign {job_id}`"
            ))),
        }
    }

    /// One store, blocking: the association, every instance (unless only the commitment
    /// is asked again), the commitment request and a short wait for its report.
    fn store_blocking(&self, request: &StoreRequest) -> Result<StoreOutcome, DeliveryError> {
        let dest = self.destination(&request.destination).ok_or_else(|| {
            DeliveryError::Permanent(format!(
                "{} is no longer a destination of queue {}",
                request.destination, self.queue
            ))
        })?;
        let job = &request.job;
        let mut classes = vec![self.sop_class()];
        if self.settings.commit {
            classes.push(STORAGE_COMMITMENT);
        }
        let mut session = Session::open(dest, &self.options(dest), &classes).map_err(store_err)?;
        for class in &classes {
            if !session.accepted(class) {
                let _ = session.release();
                return Err(DeliveryError::Permanent(format!(
                    "{dest} did not accept SOP class {class}"
                )));
            }
        }
        if request.state == DestinationState::Pending {
            self.send_instances(&mut session, job, &request.identity)?;
            info!(job = %job.id, "stored at {dest}");
        }
        if !self.settings.commit {
            let _ = session.release();
            return Ok(StoreOutcome::Stored);
        }
        // A Transaction UID of its own for each attempt (PS3.4 J.3.2), random: a report
        // naming it comes from the PACS that was asked, not from someone who could
        // compute it from what the console shows.
        let tx = &format!("2.25.{}", rand::random::<u128>() >> 1);
        self.elsewhere.waiting(tx);
        let report = session
            .request_commitment(tx, &self.references(job))
            .and_then(|()| self.wait_here(&mut session, tx))
            .map_err(store_err);
        self.elsewhere.done(tx);
        let _ = session.release();
        match report? {
            Some(result) => settle_commitment(&result),
            None => Ok(StoreOutcome::CommitRequested {
                transaction_uid: tx.clone(),
            }),
        }
    }

    /// The report of `tx` on this association, if it comes within
    /// [`SAME_ASSOCIATION_REPORT`] and not first on one the PACS opened.
    fn wait_here(
        &self,
        session: &mut Session,
        tx: &str,
    ) -> Result<Option<CommitmentResult>, ClientError> {
        let deadline = std::time::Instant::now() + SAME_ASSOCIATION_REPORT;
        while std::time::Instant::now() < deadline && !self.elsewhere.seen(tx) {
            match session.wait_commitment(REPORT_SLICE)? {
                Some(result) if result.transaction_uid == tx => return Ok(Some(result)),
                // A late report of an earlier attempt, which this one supersedes.
                Some(_) | None => {}
            }
        }
        Ok(None)
    }

    /// C-STOREs every instance of the job, composing one film at a time so that a
    /// twenty-film job does not hold twenty pages.
    fn send_instances(
        &self,
        session: &mut Session,
        job: &PrintJob,
        identity: &Identity,
    ) -> Result<(), DeliveryError> {
        match self.settings.store_as {
            StoreAs::SecondaryCapture => {
                for (n, film) in job.films.iter().enumerate() {
                    let page = compose(film, &job.device);
                    let dataset = instance::secondary_capture(job, n + 1, page, identity);
                    session.c_store(&dataset).map_err(store_err)?;
                }
            }
            StoreAs::EncapsulatedPdf => {
                let pdf = job_pdf_copies(job, 1, None)?;
                let dataset = instance::encapsulated_pdf(job, &pdf, identity);
                session.c_store(&dataset).map_err(store_err)?;
            }
        }
        Ok(())
    }
}

/// The identity of the one study the worklist answers describe: a worklist answers once
/// per Scheduled Procedure Step, so several answers are one match when they agree on the
/// patient, the study and the accession number; none, or answers that disagree, are no
/// match.
fn one_study(items: &[dicom_object::InMemDicomObject]) -> Option<Identity> {
    let identities: Vec<Identity> = items.iter().map(identity::from_worklist).collect();
    let first = identities.first()?;
    let key = |i: &Identity| {
        ["PatientID", "StudyInstanceUID", "AccessionNumber"].map(|k| i.get(k).cloned())
    };
    identities
        .iter()
        .all(|i| key(i) == key(first))
        .then(|| first.clone())
}

/// What a commitment report on the store's own association means for the destination:
/// committed, or (some instances failed) not committed, so that the spool sends them
/// again.
pub fn settle_commitment(result: &CommitmentResult) -> Result<StoreOutcome, DeliveryError> {
    if result.failed.is_empty() {
        Ok(StoreOutcome::Committed)
    } else {
        Ok(StoreOutcome::NotCommitted(failed_instances(result)))
    }
}

fn store_err(e: ClientError) -> DeliveryError {
    if e.is_retryable() {
        DeliveryError::Retryable(e.to_string())
    } else {
        DeliveryError::Permanent(e.to_string())
    }
}

/// Why the worklist could not be asked: a worklist that is away or busy only delays
/// (the job's identity waits for it); one that refuses (rejects the association, does
/// not take the worklist model, fails the query) is no match.
enum WorklistTrouble {
    Later(DeliveryError),
    Refused(String),
}

fn wl_err(e: ClientError) -> WorklistTrouble {
    if e.is_retryable() {
        WorklistTrouble::Later(DeliveryError::Retryable(format!("worklist: {e}")))
    } else {
        WorklistTrouble::Refused(format!("worklist: {e}"))
    }
}

/// A queue's other outputs with its PACS destinations beside them.
pub struct WithPacs {
    /// The archive or printer; `None` for a queue that only stores in a PACS.
    pub inner: Option<Arc<dyn QueueOutputs>>,
    pub pacs: Arc<PacsOutput>,
    /// Where the previews of a PACS-only queue go (the console shows them).
    pub previews: Option<crate::data_dir::DataDir>,
}

impl QueueOutputs for WithPacs {
    fn compose(&self, job: &PrintJob, out_dir: &Path) -> Result<Composed, DeliveryError> {
        if let Some(inner) = &self.inner {
            return inner.compose(job, out_dir);
        }
        if let Some(data) = &self.previews {
            for (n, film) in job.films.iter().enumerate() {
                let preview = crate::outputs::archive::compose_preview(film, &job.device);
                crate::outputs::archive::write_preview(data, job, n, &preview);
            }
        }
        Ok(Composed {
            document: None,
            note: format!(
                "for {}",
                self.pacs
                    .settings
                    .destinations
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }

    fn has_printer(&self) -> bool {
        self.inner.as_ref().is_some_and(|i| i.has_printer())
    }

    fn submit(&self, submission: Submission) -> BoxFuture<'_, Result<String, DeliveryError>> {
        match &self.inner {
            Some(inner) => inner.submit(submission),
            None => Box::pin(async { Err(DeliveryError::Permanent("no printer".into())) }),
        }
    }

    fn poll<'a>(
        &'a self,
        remote_id: &'a str,
        job_name: &'a str,
    ) -> BoxFuture<'a, Result<RemoteState, DeliveryError>> {
        match &self.inner {
            Some(inner) => inner.poll(remote_id, job_name),
            None => Box::pin(async { Err(DeliveryError::Permanent("no printer".into())) }),
        }
    }

    fn find<'a>(
        &'a self,
        job_name: &'a str,
    ) -> BoxFuture<'a, Result<Option<(String, RemoteState)>, DeliveryError>> {
        match &self.inner {
            Some(inner) => inner.find(job_name),
            None => Box::pin(async { Ok(None) }),
        }
    }

    fn cancel<'a>(&'a self, remote_id: &'a str) -> BoxFuture<'a, Result<(), DeliveryError>> {
        match &self.inner {
            Some(inner) => inner.cancel(remote_id),
            None => Box::pin(async { Ok(()) }),
        }
    }

    fn destinations(&self) -> Vec<String> {
        self.pacs
            .settings
            .destinations
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn identify<'a>(
        &'a self,
        job: &'a PrintJob,
    ) -> BoxFuture<'a, Result<Identification, DeliveryError>> {
        let pacs = self.pacs.clone();
        let texts = identity::film_texts(job);
        let job_id = job.id.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || pacs.identify_blocking(&job_id, &texts))
                .await
                .map_err(|e| DeliveryError::Retryable(format!("identification: {e}")))?
        })
    }

    fn store(&self, request: StoreRequest) -> BoxFuture<'_, Result<StoreOutcome, DeliveryError>> {
        let pacs = self.pacs.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || pacs.store_blocking(&request))
                .await
                .map_err(|e| DeliveryError::Retryable(format!("store: {e}")))?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    use dicom_object::InMemDicomObject;

    fn item(patient: &str, study: &str, accession: &str, step: &str) -> InMemDicomObject {
        let text = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
        InMemDicomObject::from_element_iter([
            text(tags::PATIENT_ID, VR::LO, patient),
            text(tags::STUDY_INSTANCE_UID, VR::UI, study),
            text(tags::ACCESSION_NUMBER, VR::SH, accession),
            text(tags::REQUESTED_PROCEDURE_DESCRIPTION, VR::LO, step),
        ])
    }

    #[test]
    fn worklist_answers_are_one_match_when_they_name_one_study() {
        assert_eq!(one_study(&[]), None);
        let one = one_study(&[item("P1", "1.2.3", "A1", "CT")]).expect("a match");
        assert_eq!(one["PatientID"], "P1");
        // Two Scheduled Procedure Steps of one requested procedure: one study.
        let steps = [
            item("P1", "1.2.3", "A1", "CT"),
            item("P1", "1.2.3", "A1", "CT"),
        ];
        assert_eq!(
            one_study(&steps).map(|i| i["StudyInstanceUID"].clone()),
            Some("1.2.3".into())
        );
        // Two patients, or two studies, under one accession number: no match.
        assert_eq!(
            one_study(&[
                item("P1", "1.2.3", "A1", "CT"),
                item("P2", "1.2.3", "A1", "CT")
            ]),
            None
        );
        assert_eq!(
            one_study(&[
                item("P1", "1.2.3", "A1", "CT"),
                item("P1", "1.2.4", "A1", "CT")
            ]),
            None
        );
    }

    #[test]
    fn a_report_with_failures_names_them() {
        let ok = CommitmentResult {
            transaction_uid: "2.25.1".into(),
            committed: vec!["2.25.2".into()],
            failed: vec![],
        };
        assert_eq!(settle_commitment(&ok), Ok(StoreOutcome::Committed));
        let failed = CommitmentResult {
            failed: vec![("2.25.3".into(), 0x0112)],
            ..ok
        };
        match settle_commitment(&failed) {
            Ok(StoreOutcome::NotCommitted(why)) => {
                assert!(why.contains("2.25.3") && why.contains("0x0112"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }
}

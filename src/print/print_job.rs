//! Print Job SOP Class (PS3.4 H.4.8): turning an N-ACTION into a queued job, N-GET of the
//! job's status, and N-EVENT-REPORTs of its progress to the association that created it.

use super::attrs::Refusal;
use super::film_box::FilmBox;
use super::film_box::reference;
use super::image_box::{film_fit_status, fit_rank};
use super::status;
use super::uids;
use super::{PrintHandler, new_uid};
use crate::film::{Device, Film, ImageBox, PresentationLut, Smoothing};
use crate::net::{EventReport, EventSender, Response};
use crate::spool::{PrintJob, Progress, SpoolError};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use std::collections::HashMap;
use std::sync::Mutex;

/// Referenced Print Job Sequence of the N-ACTION reply: PS3.4 H.4.1.2.4.1 and H.4.2.2.4.1
/// name (2100,0500); the dictionary lists that tag under a retired Pull Print alias.
pub const REFERENCED_PRINT_JOB_SEQUENCE: dicom_core::Tag = dicom_core::Tag(0x2100, 0x0500);

/// Print Job N-EVENT-REPORT Event Type IDs (PS3.4 H.4.8.1.1, Table H.4-12): the
/// Execution Status the job reached.
pub const EVENT_PENDING: u16 = 1;
/// Event Type ID 2: PRINTING.
pub const EVENT_PRINTING: u16 = 2;
/// Event Type ID 3: DONE.
pub const EVENT_DONE: u16 = 3;
/// Event Type ID 4: FAILURE.
pub const EVENT_FAILURE: u16 = 4;

/// Illumination default when neither film box nor session gives one (PS3.4 H.4.2.2.1.1).
pub const DEFAULT_ILLUMINATION: u16 = 2000;
/// Reflected Ambient Light default (PS3.4 H.4.2.2.1.1).
pub const DEFAULT_REFLECTED_AMBIENT_LIGHT: u16 = 10;

/// Where a job's events go: the creating association, while it is open and only if it
/// negotiated the Print Job context (H.4.8.1.1).
#[derive(Debug, Clone)]
struct EventTarget {
    association: u64,
    context_id: u8,
    sender: EventSender,
}

/// A Print Job SOP instance.
#[derive(Debug, Clone)]
pub struct JobRecord {
    pub uid: String,
    pub state: Progress,
    pub priority: String,
    pub originator: String,
    pub printer_name: String,
    pub film_session_label: String,
    pub created: crate::time::Stamp,
    target: Option<EventTarget>,
}

/// Print Job instances of the whole server, by SOP Instance UID.
#[derive(Debug, Default)]
pub struct JobRegistry {
    jobs: Mutex<HashMap<String, JobRecord>>,
}

/// Execution Status, Execution Status Info (PS3.3 C.13.9.1 defined terms) and the
/// N-EVENT-REPORT Event Type ID (PS3.4 H.4.8.1.1) of a state.
/// A failure's info is the defined term in its reason (`"printer: SUPPLY EMPTY: ..."`, as
/// the IPP output reports an aborted job), else PRINTER DOWN.
fn execution_status(state: &Progress) -> (&'static str, &'static str, u16) {
    match state {
        Progress::Pending => ("PENDING", "QUEUED", EVENT_PENDING),
        Progress::Printing => ("PRINTING", "NORMAL", EVENT_PRINTING),
        Progress::Done => ("DONE", "NORMAL", EVENT_DONE),
        Progress::Failed(reason) => {
            // The first ':'-separated part that is a defined term ("printer: SUPPLY
            // EMPTY: ..." as the spool records an aborted IPP job).
            let info = reason
                .split(':')
                .map(str::trim)
                .find_map(|part| {
                    crate::outputs::board::info::ALL
                        .into_iter()
                        .find(|t| *t == part)
                })
                .unwrap_or(crate::outputs::board::info::PRINTER_DOWN);
            ("FAILURE", info, EVENT_FAILURE)
        }
    }
}

impl JobRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, JobRecord>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn insert(&self, record: JobRecord) {
        self.lock().insert(record.uid.clone(), record);
    }

    /// Forgets a job that was never created (its N-ACTION was refused).
    fn remove(&self, uid: &str) {
        self.lock().remove(uid);
    }

    pub fn get(&self, uid: &str) -> Option<JobRecord> {
        self.lock().get(uid).cloned()
    }

    /// The association ended: its jobs print on, but send no more events; finished ones
    /// whose last event was never confirmed go now.
    pub fn detach_association(&self, association: u64) {
        self.lock().retain(|_, job| {
            if job
                .target
                .as_ref()
                .is_some_and(|t| t.association == association)
            {
                job.target = None;
                return !job.state.is_final();
            }
            true
        });
    }

    /// The SCU confirmed an event: after DONE (3) or FAILURE (4) the Print Job instance is
    /// deleted (PS3.4 H.4.8.1.1: "after receiving a confirmation from the SCU").
    pub fn confirmed(&self, uid: &str, event_type_id: u16, status: u16) {
        if matches!(event_type_id, 3 | 4) {
            tracing::debug!(
                job = uid,
                "SCU confirmed the final event (status 0x{status:04X}): Print Job deleted"
            );
            self.lock().remove(uid);
        }
    }

    /// Records a state change and reports it (PS3.4 H.4.8.1.1, Table H.4-12). After DONE or
    /// FAILURE the instance is deleted (H.4.8.2: once the SCU was told).
    pub fn update(&self, uid: &str, state: Progress) {
        let mut jobs = self.lock();
        let Some(job) = jobs.get_mut(uid) else { return };
        job.state = state.clone();
        if let Some(target) = &job.target {
            let (_, info, event_type_id) = execution_status(&state);
            let mut data = InMemDicomObject::from_element_iter([
                DataElement::new(
                    tags::EXECUTION_STATUS_INFO,
                    VR::CS,
                    PrimitiveValue::from(info),
                ),
                DataElement::new(
                    tags::PRINTER_NAME,
                    VR::LO,
                    PrimitiveValue::from(job.printer_name.as_str()),
                ),
            ]);
            if !job.film_session_label.is_empty() {
                data.put(DataElement::new(
                    tags::FILM_SESSION_LABEL,
                    VR::LO,
                    PrimitiveValue::from(job.film_session_label.as_str()),
                ));
            }
            let _ = target.sender.send(EventReport {
                context_id: target.context_id,
                sop_class_uid: uids::PRINT_JOB.into(),
                sop_instance_uid: job.uid.clone(),
                event_type_id,
                data: Some(data),
            });
        }
        // Without an association to confirm the final event, nobody can ask for the job.
        if state.is_final() && job.target.is_none() {
            jobs.remove(uid);
        }
    }
}

impl PrintHandler {
    /// Copies film box `i` as it is now into a composable film (PS3.4 H.4.1.2.4: later
    /// N-SETs do not change a queued print).
    pub(crate) fn film_for(&self, fb: &FilmBox) -> Film {
        let session = self.session();
        let session_lut = session
            .and_then(|s| s.presentation_lut.as_ref())
            .and_then(|uid| self.luts.get(uid))
            .map(|l| l.lut.clone());
        let medium = session
            .map(|s| s.medium)
            .unwrap_or(crate::film::Medium::BlueFilm);
        Film {
            display_format: fb.display_format.clone(),
            size: fb.size,
            orientation: fb.orientation,
            magnification: fb.magnification,
            border_density: fb.border_density,
            empty_image_density: fb.empty_image_density,
            min_density: fb.min_density,
            max_density: fb.max_density,
            trim: fb.trim,
            medium,
            illumination: fb
                .illumination
                .or(session.and_then(|s| s.illumination))
                .unwrap_or(DEFAULT_ILLUMINATION),
            reflected_ambient_light: fb
                .reflected_ambient_light
                .or(session.and_then(|s| s.reflected_ambient_light))
                .unwrap_or(DEFAULT_REFLECTED_AMBIENT_LIGHT),
            presentation_lut: fb
                .presentation_lut
                .clone()
                .or(session_lut)
                .unwrap_or(PresentationLut::Identity),
            color: session.is_some_and(|s| s.color),
            image_boxes: fb
                .image_boxes
                .iter()
                .map(|b| ImageBox {
                    // The image box's Smoothing Type overrides the film box's (H.4.3.1.2.1.1);
                    // a term filmd does not define prints with the default kernel.
                    smoothing: b
                        .smoothing_type
                        .as_ref()
                        .or(fb.smoothing_type.as_ref())
                        .and_then(|t| Smoothing::from_term(t)),
                    ..b.image_box.clone()
                })
                .collect(),
            annotations: self.film_annotations(fb),
        }
    }

    /// The output device of this association's queue at STANDARD or HIGH resolution.
    pub(crate) fn device(&self, high: bool) -> Device {
        self.queue().device(high)
    }

    /// Queues film boxes `indices` as one print job and answers the N-ACTION.
    pub(crate) fn print(
        &mut self,
        indices: &[usize],
        session_level: bool,
    ) -> Result<Response, Refusal> {
        let Some(session) = self.session().cloned() else {
            return Err(Refusal::new(
                status::INVALID_OBJECT_INSTANCE,
                "no film session",
            ));
        };
        let queue = self.queue().clone();
        let films: Vec<Film> = indices
            .iter()
            .map(|&i| self.film_for(&self.film_boxes[i]))
            .collect();
        let high = indices.iter().any(|&i| self.film_boxes[i].high_resolution);
        let device = self.device(high);
        // The images are checked against their boxes again: a film box N-SET may have
        // changed the Magnification Type since the image box N-SETs (PS3.4 H.4.2.2.4).
        let mut fit = (status::SUCCESS, String::new());
        for (n, film) in films.iter().enumerate() {
            let (code, comment) = film_fit_status(film, &device, |_| true)?;
            if fit_rank(code) > fit_rank(fit.0) {
                fit = (code, format!("film {}: {comment}", n + 1));
            }
        }
        let uid = new_uid();
        let printer_name = queue.printer_name.clone();
        let job = PrintJob {
            id: String::new(),
            uid: uid.clone(),
            queue: queue.name.clone(),
            calling_ae_title: self.info.calling_ae_title.clone(),
            film_session_label: session.label.clone(),
            owner_id: session.owner_id.clone(),
            priority: session.print_priority.clone(),
            copies: session.number_of_copies,
            created_unix: crate::time::Stamp::now().0,
            device,
            films,
        };
        let target = self.info.context_for(uids::PRINT_JOB).map(|c| EventTarget {
            association: self.info.id,
            context_id: c.id,
            sender: self.events.clone(),
        });
        let print_job_negotiated = target.is_some();
        self.jobs.insert(JobRecord {
            uid: uid.clone(),
            state: Progress::Pending,
            priority: session.print_priority.clone(),
            originator: self.info.calling_ae_title.clone(),
            printer_name,
            film_session_label: session.label.clone(),
            created: crate::time::Stamp::now(),
            target,
        });
        let jobs = self.jobs.clone();
        let observed_uid = uid.clone();
        let observer = Box::new(move |state: Progress| jobs.update(&observed_uid, state));
        // Films are sheets: film boxes × Number of Copies (as the spool counts them).
        let sheets = u32::try_from(indices.len())
            .unwrap_or(u32::MAX)
            .saturating_mul(job.copies.max(1));
        match self.spool.submit(job, observer) {
            Ok(id) => {
                self.info.record.add_films(sheets);
                self.metrics.films_received(&queue.name, u64::from(sheets));
                tracing::info!(assoc = self.info.id, job = %id, "queued {} film(s) for queue {}", indices.len(), queue.name);
            }
            Err(e) => {
                // No print job was created: the SCU never hears of this UID.
                self.jobs.remove(&uid);
                let full = if session_level {
                    status::SESSION_PRINT_QUEUE_FULL
                } else {
                    status::FILM_BOX_PRINT_QUEUE_FULL
                };
                return Err(match e {
                    // An operator's refusal is answered as a full queue (PS3.4 H.4.1.2.4,
                    // H.4.2.2.4: the SCP cannot create the print job), with the
                    // operator's reason as Error Comment: it is what the modality shows.
                    SpoolError::Refused { queue, reason } => {
                        tracing::warn!(assoc = self.info.id, queue = %queue, "N-ACTION refused, queue refusing: {reason}");
                        Refusal::new(full, reason)
                    }
                    SpoolError::Full(_) => {
                        Refusal::new(full, format!("print job not created: {e}"))
                    }
                    e => Refusal::new(
                        status::PROCESSING_FAILURE,
                        format!("print job not created: {e}"),
                    ),
                });
            }
        }
        let mut r = if fit.0 == status::SUCCESS {
            Response::status(status::SUCCESS)
        } else {
            Response::error(fit.0, fit.1, None)
        };
        r.action_type_id = Some(1);
        // The reply carries Referenced Print Job Sequence only when Print Job is supported
        // on this association (H.4.1.2.4.2): an unasked-for data set upsets some modalities.
        if print_job_negotiated {
            r.data = Some(InMemDicomObject::from_element_iter([DataElement::new(
                REFERENCED_PRINT_JOB_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(vec![reference(uids::PRINT_JOB, &uid)]),
            )]));
        }
        Ok(r)
    }

    pub(crate) fn print_job_get(
        &self,
        instance: Option<String>,
        requested: &[u32],
    ) -> Result<Response, Refusal> {
        let uid = instance.ok_or_else(|| {
            Refusal::new(
                status::MISSING_ATTRIBUTE,
                "Requested SOP Instance UID missing",
            )
        })?;
        let job = self.jobs.get(&uid).ok_or_else(|| {
            Refusal::new(status::NO_SUCH_SOP_INSTANCE, format!("no print job {uid}"))
        })?;
        let (execution, info, _) = execution_status(&job.state);
        let (date, time) = job.created.da_tm();
        let obj = InMemDicomObject::from_element_iter([
            DataElement::new(
                tags::EXECUTION_STATUS,
                VR::CS,
                PrimitiveValue::from(execution),
            ),
            DataElement::new(
                tags::EXECUTION_STATUS_INFO,
                VR::CS,
                PrimitiveValue::from(info),
            ),
            DataElement::new(
                tags::PRINT_PRIORITY,
                VR::CS,
                PrimitiveValue::from(job.priority.as_str()),
            ),
            DataElement::new(tags::CREATION_DATE, VR::DA, PrimitiveValue::from(date)),
            DataElement::new(tags::CREATION_TIME, VR::TM, PrimitiveValue::from(time)),
            DataElement::new(
                tags::PRINTER_NAME,
                VR::LO,
                PrimitiveValue::from(job.printer_name.as_str()),
            ),
            DataElement::new(
                tags::ORIGINATOR,
                VR::AE,
                PrimitiveValue::from(job.originator.as_str()),
            ),
        ]);
        Ok(Self::get_response(uids::PRINT_JOB, &uid, obj, requested))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_reports_the_defined_term_in_its_reason() {
        let failed = |r: &str| execution_status(&Progress::Failed(r.into()));
        assert_eq!(
            failed("printer: SUPPLY EMPTY: printer aborted the job (media-empty-error)"),
            ("FAILURE", "SUPPLY EMPTY", 4)
        );
        assert_eq!(failed("FILM JAM: media-jam"), ("FAILURE", "FILM JAM", 4));
        assert_eq!(
            failed("printer refused the job: client-error-not-found"),
            ("FAILURE", "PRINTER DOWN", 4)
        );
        assert_eq!(
            execution_status(&Progress::Pending),
            ("PENDING", "QUEUED", 1)
        );
        assert_eq!(execution_status(&Progress::Done), ("DONE", "NORMAL", 3));
    }

    /// `filmd print` reads the Event Type IDs this SCP sends with the same constants:
    /// each state's Execution Status is the name the SCU gives its event.
    #[test]
    fn event_type_ids_are_the_standards_and_the_scu_names_them_alike() {
        assert_eq!(
            (EVENT_PENDING, EVENT_PRINTING, EVENT_DONE, EVENT_FAILURE),
            (1, 2, 3, 4),
            "PS3.4 H.4.8.1.1"
        );
        for state in [
            Progress::Pending,
            Progress::Printing,
            Progress::Done,
            Progress::Failed("FILM JAM".into()),
        ] {
            let (execution, _, id) = execution_status(&state);
            assert_eq!(crate::scu::job::report::print_job_event(id), execution);
        }
        assert_eq!(crate::scu::job::report::print_job_event(5), "unknown event");
    }
}

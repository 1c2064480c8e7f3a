//! The network half of `filmd print`: one association, in the order of PS3.4 H.4 and
//! DCMTK's dcmprscu. Printer N-GET (H.4.6.2.1), Film Session N-CREATE (H.4.1.2.1), for
//! each film a Film Box N-CREATE (H.4.2.2.1), Image Box N-SETs (H.4.3.1.2) and Annotation
//! Box N-SETs (H.4.5.1.2), then N-ACTION on each film box (H.4.2.2.5) or once on the
//! session (H.4.1.2.4), the Print Job N-EVENT-REPORTs (H.4.8.1.1) within the timeout,
//! N-DELETE, A-RELEASE. Every response is reported on its own line; the first refusal
//! ends the job (the session is still deleted), as dcmprscu does.

use super::plan::{self, plan_films};
use super::report::{self, is_done, status_line};
use super::{PrintError, PrintRequest, Printed};
use crate::film::{Image, Photometric};
use crate::net::dimse::{Command, command_field as cf};
use crate::print::print_job::{EVENT_DONE, EVENT_FAILURE, REFERENCED_PRINT_JOB_SEQUENCE};
use crate::print::uids;
use crate::scu::{
    COLOR_META, GRAY_META, Reply, Scu, ScuError, ScuOptions, ScuTls, VERIFICATION,
    load::boxes_of_format, referenced_uids,
};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_ul::pdu::PresentationContextResultReason;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

/// Bound on the N-EVENT-REPORTs received while one request waits for its response.
pub const MAX_UNREAD_EVENTS: usize = 1024;

/// What to print, loaded and checked.
pub struct Job {
    /// Print-ready images, one image box each, in order.
    pub images: Vec<Image>,
    /// `--color`: a colour film even when every image is grayscale.
    pub color: bool,
    /// Connect, each DIMSE response, and the wait for the Print Job events.
    pub timeout: Duration,
    pub tls: Option<ScuTls>,
}

/// Why the job stopped before its end.
enum Stop {
    /// A response with a failure status, or something the job cannot go on with: the
    /// association still works (the session is deleted, then released).
    Refused(String),
    /// The association is unusable (aborted, timed out, broken PDUs).
    Broken(String),
}

/// One print job over one association.
struct Printing<'a> {
    scu: Scu,
    out: &'a mut dyn Write,
    meta: &'static str,
    color: bool,
    films: usize,
    printed: usize,
    warnings: usize,
    /// Print Job SOP Instance UIDs from the N-ACTION responses, with their last state
    /// (the Event Type ID of the last N-EVENT-REPORT; 0 before any).
    jobs: BTreeMap<String, u16>,
    /// Failures after which the job went on (a Print Job FAILURE event, a refused
    /// Printer N-GET or Film Session N-DELETE): the exit status is 1 all the same. A
    /// refused Film Box N-DELETE is a warning instead: its film printed.
    failures: Vec<String>,
}

macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        // The report is for a person or a log; a closed stdout must not stop a print.
        let _ = writeln!($out, $($arg)*);
    }};
}

/// Prints `job` as `request` asks, reporting to `out`.
pub fn print(request: &PrintRequest, job: Job, out: &mut dyn Write) -> Result<Printed, PrintError> {
    let args = &request.args;
    let color = job.color || job.images.iter().any(|i| i.photometric == Photometric::Rgb);
    let meta = if color { COLOR_META } else { GRAY_META };
    let format = &args.film.display_format;
    let films = match boxes_of_format(format) {
        Some(boxes) => {
            let films = plan_films(job.images.len(), boxes as usize).len();
            say!(
                out,
                "{} image(s) on {films} {} film(s) of {format} ({boxes} image boxes each)",
                job.images.len(),
                if color { "colour" } else { "grayscale" }
            );
            films
        }
        None => {
            say!(
                out,
                "{} image(s) on {} films of {format} (the SCP counts its image boxes)",
                job.images.len(),
                if color { "colour" } else { "grayscale" }
            );
            1
        }
    };
    let mut syntaxes = vec![meta.to_string(), uids::PRINT_JOB.to_string()];
    if !args.film.annotations.is_empty() {
        syntaxes.push(uids::BASIC_ANNOTATION_BOX.to_string());
    }
    let options = ScuOptions {
        calling_ae: args.calling_ae.clone(),
        called_ae: args.to.ae_title.clone(),
        abstract_syntaxes: syntaxes,
        max_pdu: 65536,
        connect_timeout: job.timeout,
        dimse_timeout: job.timeout,
        tls: job.tls.clone(),
    };
    let destination = args.to.to_string();
    let scu = match Scu::connect((args.to.host.as_str(), args.to.port), &options) {
        Ok(scu) => scu,
        Err(ScuError::Rejected { why, .. }) => {
            say!(out, "A-ASSOCIATE-RJ from {destination}: {why}");
            return Err(PrintError::NotPrinted {
                films,
                printed: 0,
                reason: format!("{destination} rejected the association: {why}"),
            });
        }
        Err(e) => {
            return Err(PrintError::Unreachable {
                destination,
                reason: e.to_string(),
            });
        }
    };
    let mut scu = scu;
    // Events are read after every response: more than this many unread is a peer that
    // floods the association, which is then aborted.
    scu.set_max_events(MAX_UNREAD_EVENTS);
    let mut p = Printing {
        scu,
        out,
        meta,
        color,
        films,
        printed: 0,
        warnings: 0,
        jobs: BTreeMap::new(),
        failures: Vec::new(),
    };
    p.negotiated(&args.calling_ae, &destination, &options.abstract_syntaxes);
    let result = p.session(request, &job.images, job.timeout);
    p.finish(result)
}

impl Printing<'_> {
    /// Reports the association: the SCP's maximum PDU length and each context's result.
    fn negotiated(&mut self, calling_ae: &str, destination: &str, proposed: &[String]) {
        let Some(link) = self.scu.assoc.as_ref() else {
            return;
        };
        let max_pdu = match link.acceptor_max_pdu_length() {
            0 => "unlimited".to_string(),
            n => n.to_string(),
        };
        say!(
            self.out,
            "association {calling_ae} -> {destination}: accepted, SCP max PDU {max_pdu}"
        );
        // dicom-ul keeps the accepted contexts only: a proposed syntax missing from its
        // list was rejected.
        let contexts = link.presentation_contexts();
        for syntax in std::iter::once(VERIFICATION).chain(proposed.iter().map(String::as_str)) {
            let name = report::sop_class_name(syntax);
            match contexts.iter().find(|c| {
                c.abstract_syntax == syntax
                    && c.reason == PresentationContextResultReason::Acceptance
            }) {
                Some(c) => say!(
                    self.out,
                    "  context {} {name}: accepted, {}",
                    c.id,
                    report::transfer_syntax_name(&c.transfer_syntax)
                ),
                None => say!(self.out, "  {name}: not accepted"),
            }
        }
    }

    /// Reports a response: its status line, and whether the job goes on.
    fn judge(
        &mut self,
        service: &str,
        reply: Result<Reply, ScuError>,
        extra: impl FnOnce(&Reply) -> String,
    ) -> Result<Reply, Stop> {
        self.report_events();
        let reply = match reply {
            Ok(r) => r,
            Err(e) => {
                let line = format!("{service}: {e}");
                say!(self.out, "{line}");
                return Err(if e.is_fatal() {
                    Stop::Broken(line)
                } else {
                    Stop::Refused(line)
                });
            }
        };
        let status = reply.status();
        let line = status_line(service, status, reply.command.error_comment.as_deref());
        if !is_done(status) {
            say!(self.out, "{line}");
            return Err(Stop::Refused(line));
        }
        say!(self.out, "{line}{}", extra(&reply));
        if status != crate::print::status::SUCCESS {
            self.warnings += 1;
        }
        Ok(reply)
    }

    /// The film session and its films: the first refusal ends it, after which the
    /// session is deleted (when it was created) so that the SCP holds nothing of it.
    fn session(
        &mut self,
        request: &PrintRequest,
        images: &[Image],
        timeout: Duration,
    ) -> Result<(), Stop> {
        let args = &request.args;
        if self.scu.context(self.meta).is_none() {
            return Err(Stop::Refused(format!(
                "the SCP did not accept the {} context",
                report::sop_class_name(self.meta)
            )));
        }
        if !args.no_printer_status {
            self.printer_status()?;
        }
        let data = plan::film_session(
            args.copies,
            args.priority.as_deref(),
            args.film.medium.as_deref(),
            args.label.as_deref(),
        );
        let reply = self.create(uids::BASIC_FILM_SESSION, &data);
        let reply = self.judge("Film Session N-CREATE", reply, |_| String::new())?;
        let session_uid = reply
            .command
            .affected_sop_instance_uid
            .clone()
            .ok_or_else(|| {
                Stop::Refused("the Film Session N-CREATE response has no SOP Instance UID".into())
            })?;
        let printed = self.films(request, images, &session_uid).and_then(|()| {
            if args.session_print {
                let reply = self
                    .scu
                    .n_action(self.meta, uids::BASIC_FILM_SESSION, &session_uid);
                let reply = self.judge("Film Session N-ACTION", reply, print_job_of)?;
                self.note_jobs(&reply);
                self.printed = self.films;
            }
            Ok(())
        });
        if let Err(Stop::Broken(_)) = printed {
            return printed;
        }
        // The films printed so far, also when a later one was refused.
        self.wait_jobs(timeout);
        let reply = self
            .scu
            .n_delete(self.meta, uids::BASIC_FILM_SESSION, &session_uid);
        let deleted = self.judge("Film Session N-DELETE", reply, |_| String::new());
        printed?;
        deleted.map(drop)
    }

    /// Printer N-GET of the well-known Printer SOP Instance (PS3.4 H.4.6.2.1): reported,
    /// a refusal counted as a failure but not ending the job.
    fn printer_status(&mut self) -> Result<(), Stop> {
        let reply = self
            .scu
            .n_get(self.meta, uids::PRINTER, uids::PRINTER_INSTANCE, &[]);
        match self.judge("Printer N-GET", reply, printer_of) {
            Ok(_) => Ok(()),
            Err(Stop::Refused(why)) => {
                self.failures.push(why);
                Ok(())
            }
            Err(broken) => Err(broken),
        }
    }

    /// Film Box N-DELETE of a printed film (PS3.4 H.4.2.2.2): a refusal is a warning and
    /// the job goes on, since the N-ACTION succeeded and the Film Session N-DELETE at the
    /// end deletes the film box with it (H.4.1.2.2); a broken association still stops.
    fn delete_film_box(&mut self, film: usize, film_box_uid: &str) -> Result<(), Stop> {
        let reply = self
            .scu
            .n_delete(self.meta, uids::BASIC_FILM_BOX, film_box_uid);
        let judged = self.judge(&format!("Film Box N-DELETE (film {film})"), reply, |_| {
            String::new()
        });
        match judged {
            Ok(_) => Ok(()),
            Err(Stop::Refused(_)) => {
                self.warnings += 1;
                say!(
                    self.out,
                    "  film {film} printed; its film box goes with the Film Session N-DELETE"
                );
                Ok(())
            }
            Err(broken) => Err(broken),
        }
    }

    /// N-CREATE letting the SCP assign the SOP Instance UID; no data set when `data` is
    /// empty (PS3.7 10.1.5.1.3: the attribute list is optional).
    fn create(&mut self, class: &str, data: &InMemDicomObject) -> Result<Reply, ScuError> {
        let command = Command {
            command_field: cf::N_CREATE_RQ,
            affected_sop_class_uid: Some(class.into()),
            ..Default::default()
        };
        let empty = data.iter().next().is_none();
        self.scu
            .request(self.meta, command, (!empty).then_some(data))
    }

    /// Each film: a film box, its image and annotation boxes, and (unless the session is
    /// printed) its N-ACTION and N-DELETE.
    fn films(
        &mut self,
        request: &PrintRequest,
        images: &[Image],
        session_uid: &str,
    ) -> Result<(), Stop> {
        let args = &request.args;
        let polarity = request
            .given
            .contains("polarity")
            .then_some(args.film.polarity.as_str());
        let (image_box_class, sequence_kind) = if self.color {
            (uids::BASIC_COLOR_IMAGE_BOX, "Color")
        } else {
            (uids::BASIC_GRAYSCALE_IMAGE_BOX, "Grayscale")
        };
        let mut next = 0;
        let mut film = 0;
        while next < images.len() {
            film += 1;
            let data = plan::film_box(session_uid, &args.film, &request.given);
            let reply = self.create(uids::BASIC_FILM_BOX, &data);
            let reply = self.judge(&format!("Film Box N-CREATE (film {film})"), reply, |r| {
                let boxes = r
                    .data
                    .as_ref()
                    .map(|d| referenced_uids(d, tags::REFERENCED_IMAGE_BOX_SEQUENCE).len())
                    .unwrap_or(0);
                format!(", {boxes} image boxes")
            })?;
            let film_box_uid =
                reply
                    .command
                    .affected_sop_instance_uid
                    .clone()
                    .ok_or_else(|| {
                        Stop::Refused(
                            "the Film Box N-CREATE response has no SOP Instance UID".into(),
                        )
                    })?;
            let data = reply.data.unwrap_or_else(InMemDicomObject::new_empty);
            let boxes = referenced_uids(&data, tags::REFERENCED_IMAGE_BOX_SEQUENCE);
            if boxes.is_empty() {
                return Err(Stop::Refused(
                    "the Film Box N-CREATE response references no image boxes".into(),
                ));
            }
            // The SCP's count of boxes is the one that holds (SLIDE, or a format that
            // means something else there than in filmd).
            let take = boxes.len().min(images.len() - next);
            self.films = film - 1 + plan_films(images.len() - next, boxes.len()).len();
            for (i, (uid, image)) in boxes.iter().zip(&images[next..next + take]).enumerate() {
                let position = i as u16 + 1;
                let item = plan::image_sequence_item(image, self.color)
                    .map_err(|e| Stop::Refused(format!("image {}: {e}", next + i + 1)))?;
                let data = plan::image_box(position, item, self.color, polarity);
                let reply = self.scu.n_set(self.meta, image_box_class, uid, &data);
                let service =
                    format!("{sequence_kind} Image Box N-SET (film {film}, box {position})");
                self.judge(&service, reply, |_| String::new())?;
            }
            next += take;
            self.annotations(request, film, &data)?;
            if !args.session_print {
                let reply = self
                    .scu
                    .n_action(self.meta, uids::BASIC_FILM_BOX, &film_box_uid);
                let reply = self.judge(
                    &format!("Film Box N-ACTION (film {film})"),
                    reply,
                    print_job_of,
                )?;
                self.note_jobs(&reply);
                self.printed += 1;
                self.delete_film_box(film, &film_box_uid)?;
            }
        }
        Ok(())
    }

    /// Annotation texts into the Basic Annotation Boxes the film box response references
    /// (Referenced Basic Annotation Box Sequence, PS3.4 H.4.2.2.4), position by position.
    fn annotations(
        &mut self,
        request: &PrintRequest,
        film: usize,
        film_box: &InMemDicomObject,
    ) -> Result<(), Stop> {
        let texts = &request.args.film.annotations;
        if texts.is_empty() {
            return Ok(());
        }
        let boxes = referenced_uids(film_box, tags::REFERENCED_BASIC_ANNOTATION_BOX_SEQUENCE);
        if self.scu.context(uids::BASIC_ANNOTATION_BOX).is_none() || boxes.len() < texts.len() {
            return Err(Stop::Refused(format!(
                "{} annotation text(s), and the SCP {}",
                texts.len(),
                if boxes.is_empty() {
                    "made no annotation boxes".to_string()
                } else if boxes.len() < texts.len() {
                    format!("made {} annotation boxes", boxes.len())
                } else {
                    "did not accept the Basic Annotation Box context".to_string()
                }
            )));
        }
        for (i, (uid, text)) in boxes.iter().zip(texts).enumerate() {
            let position = i as u16 + 1;
            let data = plan::annotation_box(position, text);
            let reply = self.scu.n_set(
                uids::BASIC_ANNOTATION_BOX,
                uids::BASIC_ANNOTATION_BOX,
                uid,
                &data,
            );
            let service = format!("Annotation Box N-SET (film {film}, position {position})");
            self.judge(&service, reply, |_| String::new())?;
        }
        Ok(())
    }

    /// The Print Job UIDs an N-ACTION response references (PS3.4 H.4.2.2.4.1).
    fn note_jobs(&mut self, reply: &Reply) {
        if let Some(data) = &reply.data {
            for uid in referenced_uids(data, REFERENCED_PRINT_JOB_SEQUENCE) {
                self.jobs.entry(uid).or_insert(0);
            }
        }
    }

    /// Reports the N-EVENT-REPORTs received so far and forgets them.
    fn report_events(&mut self) {
        let events = std::mem::take(&mut self.scu.events);
        let data = std::mem::take(&mut self.scu.event_data);
        for (event, data) in events.into_iter().zip(data) {
            let uid = event.affected_sop_instance_uid.clone().unwrap_or_default();
            let id = event.event_type_id.unwrap_or(0);
            let info = data
                .as_ref()
                .and_then(|d| d.get(tags::EXECUTION_STATUS_INFO))
                .and_then(|e| e.to_str().ok())
                .map(|s| format!(" ({})", s.trim()))
                .unwrap_or_default();
            let state = report::print_job_event(id);
            if event.affected_sop_class_uid.as_deref() != Some(uids::PRINT_JOB) {
                say!(self.out, "N-EVENT-REPORT {id} of {uid}: answered");
                continue;
            }
            say!(self.out, "Print Job N-EVENT-REPORT {uid}: {state}{info}");
            if id == EVENT_FAILURE {
                self.failures
                    .push(format!("print job {uid}: {state}{info}"));
            }
            self.jobs.insert(uid, id);
        }
    }

    /// Waits up to `timeout` until every Print Job referenced so far has reported DONE
    /// or FAILURE (only when the SCP accepted the Print Job context: events come on it).
    fn wait_jobs(&mut self, timeout: Duration) {
        self.report_events();
        if self.scu.context(uids::PRINT_JOB).is_none() || self.jobs.is_empty() {
            return;
        }
        let deadline = Instant::now() + timeout;
        while self
            .jobs
            .values()
            .any(|s| !matches!(*s, EVENT_DONE | EVENT_FAILURE))
        {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                say!(
                    self.out,
                    "Print Job: no final N-EVENT-REPORT within {} s; the films were accepted",
                    timeout.as_secs()
                );
                return;
            }
            match self.scu.wait_event(left) {
                Ok(_) => self.report_events(),
                Err(e) => {
                    say!(self.out, "Print Job N-EVENT-REPORT: {e}");
                    return;
                }
            }
        }
    }

    /// Releases (or aborts a broken association) and turns the job's end into its result.
    fn finish(self, result: Result<(), Stop>) -> Result<Printed, PrintError> {
        let Printing {
            scu,
            out,
            films,
            printed,
            warnings,
            mut failures,
            ..
        } = self;
        match &result {
            Err(Stop::Broken(_)) => {
                scu.abort();
                say!(out, "association aborted");
            }
            _ => match scu.release() {
                Ok(()) => say!(out, "association released"),
                Err(e) => say!(out, "A-RELEASE: {e}"),
            },
        }
        if let Err(Stop::Refused(why) | Stop::Broken(why)) = result {
            failures.insert(0, why);
        }
        say!(
            out,
            "{printed} of {films} film(s) printed{}",
            if warnings > 0 {
                format!(", {warnings} warning(s)")
            } else {
                String::new()
            }
        );
        if failures.is_empty() && printed == films {
            Ok(Printed { films, warnings })
        } else {
            Err(PrintError::NotPrinted {
                films,
                printed,
                reason: failures.join("; "),
            })
        }
    }
}

/// The Print Job an N-ACTION response references, for its report line.
fn print_job_of(reply: &Reply) -> String {
    reply
        .data
        .as_ref()
        .map(|d| referenced_uids(d, REFERENCED_PRINT_JOB_SEQUENCE))
        .and_then(|uids| uids.into_iter().next())
        .map(|uid| format!(", Print Job {uid}"))
        .unwrap_or_default()
}

/// Printer Status, Printer Status Info and Printer Name from an N-GET response
/// (PS3.3 C.13.9), for its report line.
fn printer_of(reply: &Reply) -> String {
    let Some(data) = &reply.data else {
        return String::new();
    };
    let text = |tag| {
        data.get(tag)
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| "-".into())
    };
    format!(
        "; Printer Status {}, Info {}, Name {}",
        text(tags::PRINTER_STATUS),
        text(tags::PRINTER_STATUS_INFO),
        text(tags::PRINTER_NAME)
    )
}

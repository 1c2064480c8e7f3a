//! The pages' form actions on jobs and queues: the form token is checked, the action
//! carried out, and the browser sent back to the page it came from.

use super::*;
use crate::spool::Identity;

/// The fields of an action form.
#[derive(Debug, serde::Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    force: Option<String>,
    /// Assign: the identity's fields, named by DICOM keyword.
    #[serde(default, rename = "PatientID")]
    patient_id: Option<String>,
    #[serde(default, rename = "PatientName")]
    patient_name: Option<String>,
    #[serde(default, rename = "AccessionNumber")]
    accession_number: Option<String>,
    #[serde(default, rename = "StudyInstanceUID")]
    study_instance_uid: Option<String>,
    #[serde(default, rename = "PatientBirthDate")]
    patient_birth_date: Option<String>,
    #[serde(default, rename = "PatientSex")]
    patient_sex: Option<String>,
}

impl ActionForm {
    /// The identity fields filled in (an empty field is not given).
    fn identity(&self) -> Identity {
        [
            ("PatientID", &self.patient_id),
            ("PatientName", &self.patient_name),
            ("AccessionNumber", &self.accession_number),
            ("StudyInstanceUID", &self.study_instance_uid),
            ("PatientBirthDate", &self.patient_birth_date),
            ("PatientSex", &self.patient_sex),
        ]
        .into_iter()
        .filter_map(|(k, v)| {
            let v = v.as_deref()?.trim();
            (!v.is_empty()).then(|| (k.to_string(), v.to_string()))
        })
        .collect()
    }
}

/// Whether the form carries its user's token; else the refusal (403).
fn check_token(state: &AppState, op: &Operator, form: &ActionForm) -> Result<(), Refusal> {
    if state.csrf.check(op.token_user(), &form.csrf) {
        Ok(())
    } else {
        Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "this form is not from this console (or from before a restart): reload the page",
        ))
    }
}

/// A job action from its page's form; back to the job's page (the new job's, for a retry).
pub async fn job_action(
    State(state): State<AppState>,
    Extension(op): Extension<Operator>,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Err(r) = check_token(&state, &op, &form) {
        return refused(r);
    }
    let input = data::JobInput {
        force: form
            .force
            .as_deref()
            .is_some_and(|f| f == "true" || f == "on"),
        identity: form.identity(),
    };
    let operator = op.name();
    match blocking(&state, move |ctx| {
        data::job_action(ctx, &id, &action, &input, &operator)
    })
    .await
    {
        Ok(next) => Redirect::to(&format!("/jobs/{}", url(&next))).into_response(),
        Err(r) => refused(r),
    }
}

/// A queue action from the overview's form; back to the overview.
pub async fn queue_action(
    State(state): State<AppState>,
    Extension(op): Extension<Operator>,
    Path((name, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Err(r) = check_token(&state, &op, &form) {
        return refused(r);
    }
    let operator = op.name();
    let reason = form.reason;
    match blocking(&state, move |ctx| {
        data::queue_action(ctx, &name, &action, reason.as_deref(), &operator)
    })
    .await
    {
        Ok(_) => Redirect::to("/").into_response(),
        Err(r) => refused(r),
    }
}

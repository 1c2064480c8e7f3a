//! A-ASSOCIATE negotiation (PS3.8 7.1, PS3.7 Annex D): which called AE titles, abstract and
//! transfer syntaxes filmd accepts. Every presentation context is decided on its own: an
//! unsupported one (a retired print class a modality still proposes, say) is refused with
//! "abstract syntax not supported" and the rest of the association goes on.

use super::dataset::{EXPLICIT_VR_LE, IMPLICIT_VR_LE};
use dicom_ul::pdu::{
    AssociationAC, AssociationRJ, AssociationRJResult, AssociationRJServiceProviderASCEReason,
    AssociationRJServiceUserReason, AssociationRJSource, AssociationRQ, PresentationContextResult,
    PresentationContextResultReason, UserVariableItem,
};

/// The DICOM Application Context Name (PS3.7 A.2.1).
pub const DICOM_APPLICATION_CONTEXT: &str = "1.2.840.10008.3.1.1.1";
/// filmd's Implementation Class UID (a UUID-derived UID under 2.25, PS3.5 B.2).
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.179311417437621913458237461872389645101";
/// filmd's Implementation Version Name (at most 16 characters).
pub const IMPLEMENTATION_VERSION_NAME: &str = concat!("FILMD_", env!("CARGO_PKG_VERSION"));

/// What the acceptor offers.
#[derive(Debug, Clone)]
pub struct AcceptorPolicy {
    /// Called AE titles accepted (compared without surrounding spaces).
    pub called_ae_titles: Vec<String>,
    /// Abstract syntaxes accepted.
    pub abstract_syntaxes: Vec<String>,
    /// Maximum PDU length we receive, announced in the A-ASSOCIATE-AC.
    pub max_pdu: u32,
}

/// A presentation context accepted on this association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedContext {
    pub id: u8,
    pub abstract_syntax: String,
    pub transfer_syntax: String,
}

/// The outcome of a successful negotiation.
#[derive(Debug, Clone)]
pub struct Negotiated {
    pub calling_ae_title: String,
    pub called_ae_title: String,
    pub contexts: Vec<AcceptedContext>,
    /// The requestor's Maximum Length; 0 means no limit (PS3.8 D.1).
    pub peer_max_pdu: u32,
    pub ac: AssociationAC,
}

fn reject(source: AssociationRJSource) -> AssociationRJ {
    AssociationRJ {
        result: AssociationRJResult::Permanent,
        source,
    }
}

/// Answers an A-ASSOCIATE-RQ.
pub fn negotiate(
    rq: &AssociationRQ,
    policy: &AcceptorPolicy,
) -> Result<Negotiated, (AssociationRJ, String)> {
    if rq.protocol_version & 1 == 0 {
        return Err((
            reject(AssociationRJSource::ServiceProviderASCE(
                AssociationRJServiceProviderASCEReason::ProtocolVersionNotSupported,
            )),
            format!(
                "protocol version 0x{:04X} not supported",
                rq.protocol_version
            ),
        ));
    }
    if rq.application_context_name.trim_end_matches('\0') != DICOM_APPLICATION_CONTEXT {
        return Err((
            reject(AssociationRJSource::ServiceUser(
                AssociationRJServiceUserReason::ApplicationContextNameNotSupported,
            )),
            format!(
                "application context {:?} not supported",
                rq.application_context_name
            ),
        ));
    }
    let called = rq.called_ae_title.trim();
    if !policy.called_ae_titles.iter().any(|ae| ae.trim() == called) {
        return Err((
            reject(AssociationRJSource::ServiceUser(
                AssociationRJServiceUserReason::CalledAETitleNotRecognized,
            )),
            format!(
                "called AE title {called:?} is not one of this server's ({})",
                policy.called_ae_titles.join(", ")
            ),
        ));
    }
    let mut contexts = Vec::new();
    let mut results = Vec::new();
    for pc in &rq.presentation_contexts {
        let abstract_syntax = pc.abstract_syntax.trim_end_matches('\0');
        let offered = |ts: &str| {
            pc.transfer_syntaxes
                .iter()
                .any(|t| t.trim_end_matches('\0') == ts)
        };
        let (reason, ts) = if !policy
            .abstract_syntaxes
            .iter()
            .any(|a| a == abstract_syntax)
        {
            (
                PresentationContextResultReason::AbstractSyntaxNotSupported,
                IMPLICIT_VR_LE,
            )
        } else if offered(EXPLICIT_VR_LE) {
            (PresentationContextResultReason::Acceptance, EXPLICIT_VR_LE)
        } else if offered(IMPLICIT_VR_LE) {
            (PresentationContextResultReason::Acceptance, IMPLICIT_VR_LE)
        } else {
            (
                PresentationContextResultReason::TransferSyntaxesNotSupported,
                IMPLICIT_VR_LE,
            )
        };
        if reason == PresentationContextResultReason::Acceptance {
            contexts.push(AcceptedContext {
                id: pc.id,
                abstract_syntax: abstract_syntax.to_string(),
                transfer_syntax: ts.to_string(),
            });
        }
        results.push(PresentationContextResult {
            id: pc.id,
            reason,
            transfer_syntax: ts.to_string(),
        });
    }
    let peer_max_pdu = rq
        .user_variables
        .iter()
        .find_map(|v| match v {
            UserVariableItem::MaxLength(n) => Some(*n),
            _ => None,
        })
        .unwrap_or(0);
    let ac = AssociationAC {
        protocol_version: 1,
        calling_ae_title: rq.calling_ae_title.clone(),
        called_ae_title: rq.called_ae_title.clone(),
        application_context_name: DICOM_APPLICATION_CONTEXT.to_string(),
        presentation_contexts: results,
        user_variables: vec![
            UserVariableItem::MaxLength(policy.max_pdu),
            UserVariableItem::ImplementationClassUID(IMPLEMENTATION_CLASS_UID.to_string()),
            UserVariableItem::ImplementationVersionName(IMPLEMENTATION_VERSION_NAME.to_string()),
        ],
    };
    Ok(Negotiated {
        calling_ae_title: rq.calling_ae_title.trim().to_string(),
        called_ae_title: called.to_string(),
        contexts,
        peer_max_pdu,
        ac,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_ul::pdu::PresentationContextProposed;

    fn policy() -> AcceptorPolicy {
        AcceptorPolicy {
            called_ae_titles: vec!["FILMD".into()],
            abstract_syntaxes: vec!["1.2.840.10008.1.1".into(), "1.2.840.10008.5.1.1.9".into()],
            max_pdu: 65536,
        }
    }

    fn rq(called: &str, contexts: Vec<(u8, &str, Vec<&str>)>) -> AssociationRQ {
        AssociationRQ {
            protocol_version: 1,
            calling_ae_title: "SCU".into(),
            called_ae_title: called.into(),
            application_context_name: DICOM_APPLICATION_CONTEXT.into(),
            presentation_contexts: contexts
                .into_iter()
                .map(|(id, a, ts)| PresentationContextProposed {
                    id,
                    abstract_syntax: a.into(),
                    transfer_syntaxes: ts.into_iter().map(String::from).collect(),
                })
                .collect(),
            user_variables: vec![UserVariableItem::MaxLength(16384)],
        }
    }

    #[test]
    fn unsupported_contexts_are_refused_one_by_one() {
        let n = negotiate(
            &rq(
                "FILMD",
                vec![
                    (
                        1,
                        "1.2.840.10008.5.1.1.9",
                        vec![IMPLICIT_VR_LE, EXPLICIT_VR_LE],
                    ),
                    (3, "1.2.840.10008.5.1.1.22", vec![IMPLICIT_VR_LE]), // VOI LUT Box, retired
                    (5, "1.2.840.10008.1.1", vec!["1.2.840.10008.1.2.4.50"]),
                    (7, "1.2.840.10008.1.1", vec![IMPLICIT_VR_LE]),
                ],
            ),
            &policy(),
        )
        .unwrap();
        let reasons: Vec<_> =
            n.ac.presentation_contexts
                .iter()
                .map(|r| r.reason.clone())
                .collect();
        assert_eq!(
            reasons,
            vec![
                PresentationContextResultReason::Acceptance,
                PresentationContextResultReason::AbstractSyntaxNotSupported,
                PresentationContextResultReason::TransferSyntaxesNotSupported,
                PresentationContextResultReason::Acceptance,
            ]
        );
        assert_eq!(n.contexts.len(), 2);
        assert_eq!(n.contexts[0].transfer_syntax, EXPLICIT_VR_LE);
        assert_eq!(n.contexts[1].transfer_syntax, IMPLICIT_VR_LE);
        assert_eq!(n.peer_max_pdu, 16384);
    }

    #[test]
    fn unknown_called_ae_title_is_rejected_permanently() {
        let (rj, why) = negotiate(&rq("OTHER", vec![]), &policy()).unwrap_err();
        assert_eq!(rj.result, AssociationRJResult::Permanent);
        assert_eq!(
            rj.source,
            AssociationRJSource::ServiceUser(
                AssociationRJServiceUserReason::CalledAETitleNotRecognized
            )
        );
        assert!(why.contains("OTHER"));
    }
}

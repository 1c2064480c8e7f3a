//! A-ASSOCIATE negotiation (PS3.8 7.1, PS3.7 Annex D): which called AE titles, abstract and
//! transfer syntaxes filmd accepts. Every presentation context is decided on its own: an
//! unsupported one (a retired print class a modality still proposes, say) is refused with
//! "abstract syntax not supported" and the rest of the association goes on. SCU/SCP Role
//! Selection sub-items (PS3.7 D.3.3.4) are answered for the accepted SOP classes.

use super::dataset::{EXPLICIT_VR_LE, IMPLICIT_VR_LE};
use dicom_ul::pdu::{
    AssociationAC, AssociationRJ, AssociationRJResult, AssociationRJServiceProviderASCEReason,
    AssociationRJServiceUserReason, AssociationRJSource, AssociationRQ, PresentationContextResult,
    PresentationContextResultReason, RequestorRoles, UserVariableItem,
};

/// The DICOM Application Context Name (PS3.7 A.2.1).
pub const DICOM_APPLICATION_CONTEXT: &str = "1.2.840.10008.3.1.1.1";
/// filmd's Implementation Class UID (a UUID-derived UID under 2.25, PS3.5 B.2).
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.179311417437621913458237461872389645101";
/// filmd's Implementation Version Name (at most 16 characters).
pub const IMPLEMENTATION_VERSION_NAME: &str = concat!("FILMD_", env!("CARGO_PKG_VERSION"));

/// SOP classes for which filmd, the acceptor, is the SCU: a peer that associates for them
/// acts as their SCP. Storage Commitment Push Model (PS3.4 J.3.3): a PACS reports its
/// result on an association it opens to filmd, the commitment's SCU, proposing SCU role
/// 0 and SCP role 1 for itself.
pub const ACCEPTOR_IS_SCU: &[&str] = &["1.2.840.10008.1.20.1"];

/// The roles the requestor may take for an accepted SOP class (PS3.7 D.3.3.4): each role
/// it proposed and filmd's side admits is granted (returned as proposed), the others are
/// refused (returned as 0). On filmd's own classes the requestor may only be the SCU;
/// on those of [`ACCEPTOR_IS_SCU`] only the SCP.
pub fn answer_roles(sop_class_uid: &str, proposed: RequestorRoles) -> RequestorRoles {
    let acceptor_is_scu = ACCEPTOR_IS_SCU.contains(&sop_class_uid);
    RequestorRoles {
        scu: proposed.scu && !acceptor_is_scu,
        scp: proposed.scp && acceptor_is_scu,
    }
}

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
    // One answer per proposed item whose SOP class has an accepted context; items for
    // refused classes get none (PS3.7 D.3.3.4 leaves them unanswered).
    let mut user_variables = vec![
        UserVariableItem::MaxLength(policy.max_pdu),
        UserVariableItem::ImplementationClassUID(IMPLEMENTATION_CLASS_UID.to_string()),
        UserVariableItem::ImplementationVersionName(IMPLEMENTATION_VERSION_NAME.to_string()),
    ];
    let mut answered: Vec<&str> = Vec::new();
    for v in &rq.user_variables {
        if let UserVariableItem::ScuScpRoleSelectionSubItem(uid, proposed) = v {
            let uid = uid.trim_end_matches('\0');
            if contexts.iter().any(|c| c.abstract_syntax == uid) && !answered.contains(&uid) {
                answered.push(uid);
                user_variables.push(UserVariableItem::ScuScpRoleSelectionSubItem(
                    uid.to_string(),
                    answer_roles(uid, *proposed),
                ));
            }
        }
    }
    let ac = AssociationAC {
        protocol_version: 1,
        calling_ae_title: rq.calling_ae_title.clone(),
        called_ae_title: rq.called_ae_title.clone(),
        application_context_name: DICOM_APPLICATION_CONTEXT.to_string(),
        presentation_contexts: results,
        user_variables,
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

    fn roles_in(ac: &AssociationAC) -> Vec<(String, bool, bool)> {
        ac.user_variables
            .iter()
            .filter_map(|v| match v {
                UserVariableItem::ScuScpRoleSelectionSubItem(uid, r) => {
                    Some((uid.clone(), r.scu, r.scp))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn role_selection_grants_a_pacs_the_scp_role_of_storage_commitment_only() {
        const COMMITMENT: &str = "1.2.840.10008.1.20.1";
        const GRAY: &str = "1.2.840.10008.5.1.1.9";
        let mut policy = policy();
        policy.abstract_syntaxes.push(COMMITMENT.into());
        let mut request = rq(
            "FILMD",
            vec![
                (1, COMMITMENT, vec![IMPLICIT_VR_LE]),
                (3, GRAY, vec![IMPLICIT_VR_LE]),
                (5, "1.2.840.10008.5.1.4.1.1.7", vec![IMPLICIT_VR_LE]), // refused
            ],
        );
        let role = |uid: &str, scu, scp| {
            UserVariableItem::ScuScpRoleSelectionSubItem(uid.into(), RequestorRoles { scu, scp })
        };
        // Orthanc's report association: the PACS is the SCP of Storage Commitment
        request.user_variables.extend([
            role(COMMITMENT, false, true),
            role(GRAY, true, true),
            role("1.2.840.10008.5.1.4.1.1.7", true, false),
        ]);
        let n = negotiate(&request, &policy).unwrap();
        assert_eq!(
            roles_in(&n.ac),
            vec![
                (COMMITMENT.to_string(), false, true),
                (GRAY.to_string(), true, false),
            ]
        );
        // a requestor wanting to be the commitment SCU (sending N-ACTION) is refused the role
        request.user_variables.truncate(1);
        request.user_variables.push(role(COMMITMENT, true, false));
        let n = negotiate(&request, &policy).unwrap();
        assert_eq!(
            roles_in(&n.ac),
            vec![(COMMITMENT.to_string(), false, false)]
        );
        // without role selection items none are answered (PS3.7 D.3.3.4 default roles)
        request.user_variables.truncate(1);
        assert!(roles_in(&negotiate(&request, &policy).unwrap().ac).is_empty());
    }
}

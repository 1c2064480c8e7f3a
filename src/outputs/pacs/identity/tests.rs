use super::*;
use crate::film::Annotation;
use crate::film::annotation::Edge;
use crate::net::dataset::{EXPLICIT_VR_LE, IMPLICIT_VR_LE, decode, encode};

fn rules(patterns: &[&str]) -> IdentityRules {
    IdentityRules::parse(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>()).unwrap()
}

fn parse_err(patterns: &[&str]) -> String {
    IdentityRules::parse(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>()).unwrap_err()
}

fn texts(t: &[&str]) -> Vec<String> {
    t.iter().map(|s| s.to_string()).collect()
}

fn id(pairs: &[(&str, &str)]) -> Identity {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn every_keyword_is_in_the_dictionary_with_its_vr() {
    let vrs: Vec<VR> = KEYWORDS.iter().map(|k| keyword_tag(k).unwrap().1).collect();
    assert_eq!(
        vrs,
        [
            VR::PN,
            VR::LO,
            VR::LO,
            VR::DA,
            VR::CS,
            VR::UI,
            VR::SH,
            VR::PN,
            VR::LO,
            VR::SH
        ]
    );
    assert_eq!(keyword_tag("PatientID").unwrap().0, tags::PATIENT_ID);
    assert!(
        keyword_tag("PixelData").is_none(),
        "not an identity keyword"
    );
}

#[test]
fn patterns_must_name_groups_after_identity_keywords() {
    assert!(parse_err(&["(?P<Accession>\\d+)"]).contains("\"Accession\" is not one of"));
    assert!(parse_err(&["ACC\\d+"]).contains("pattern 1 has no named group"));
    assert!(parse_err(&["(?P<PatientID>x)", "(unclosed"]).starts_with("identity pattern 2:"));
    // Bounded: a pattern whose program is huge is refused, not compiled.
    assert!(parse_err(&["(?P<PatientID>\\w{1000}){1000}"]).contains("identity pattern 1"));
    let many: Vec<&str> = vec!["(?P<PatientID>x)"; 33];
    assert!(parse_err(&many).contains("at most 32"));
    let ok = rules(&[
        "(?P<AccessionNumber>A\\d+)(?:-(\\d))?",
        "(?P<PatientID>P\\d+)",
    ]);
    assert!(!ok.is_empty());
    assert!(rules(&[]).is_empty());
}

#[test]
fn patterns_are_tried_in_order_and_earlier_ones_win() {
    let r = rules(&[
        r"ACC(?P<AccessionNumber>\d+)",
        r"PID:(?P<PatientID>\w+)",
        r"(?P<AccessionNumber>\d{3,})",
        r"Name:\s*(?P<PatientName>[^,]+)",
    ]);
    let found = r.extract(&texts(&[
        "no accession 4711 here",
        "study ACC123 PID:X9",
        "ACC999 PID:Y1 Name:  Doe^Jane  , more",
    ]));
    assert_eq!(
        found,
        id(&[
            // First pattern, first text it matches (the second), although the third
            // pattern matched the first text.
            ("AccessionNumber", "123"),
            ("PatientID", "X9"),
            ("PatientName", "Doe^Jane"),
        ])
    );
    assert!(r.extract(&texts(&["nothing"])).is_empty());
}

#[test]
fn a_group_missing_from_the_first_match_is_looked_for_in_later_texts() {
    let r = rules(&[r"(?P<AccessionNumber>A\d+)(?: (?P<PatientID>P\d+))?"]);
    let found = r.extract(&texts(&["A1", "A2 P7"]));
    assert_eq!(found, id(&[("AccessionNumber", "A1"), ("PatientID", "P7")]));
}

#[test]
fn found_values_are_normalized_and_invalid_ones_passed_over() {
    let r = rules(&[
        r"DOB (?P<PatientBirthDate>\S+)",
        r"UID (?P<StudyInstanceUID>\S+)",
        r"SEX (?P<PatientSex>\S+)",
        r"ACC (?P<AccessionNumber>\S+)",
    ]);
    let found = r.extract(&texts(&[
        "DOB 1.1.1970 UID 1.2.03 SEX x",
        "DOB 19700101 UID 1.2.3 SEX f ACC 0123456789ABCDEFGHIJ",
    ]));
    assert_eq!(
        found,
        id(&[
            ("PatientBirthDate", "19700101"),
            ("StudyInstanceUID", "1.2.3"),
            ("PatientSex", "F"),
            ("AccessionNumber", "0123456789ABCDEF"),
        ])
    );
    assert_eq!(
        normalize("PatientName", "  Doe\\Jane\t"),
        Some("Doe Jane".into())
    );
    assert_eq!(normalize("PatientName", "   "), None);
    assert_eq!(normalize("NotAKeyword", "x"), None);
    assert_eq!(
        normalize("StudyInstanceUID", &format!("1.{}", "2".repeat(64))),
        None
    );
    assert_eq!(
        normalize("StudyDescription", &"é".repeat(70))
            .unwrap()
            .chars()
            .count(),
        64
    );
}

#[test]
fn film_texts_are_label_owner_then_annotations_in_order() {
    let mut job = crate::outputs::pacs::instance::tests::job("LABEL ACC1");
    job.owner_id = "OWNER".into();
    let placement = crate::film::annotation::Placement {
        edge: Edge::Top,
        align: crate::film::annotation::Align::Left,
        size_mm: 3.0,
        min_size_mm: 2.0,
        font: "default".into(),
        padding_mm: 1.0,
    };
    let ann = |position: u32, text: &str| Annotation {
        position,
        text: text.into(),
        placement: placement.clone(),
    };
    job.films[0].annotations = vec![ann(1, "first"), ann(2, "")];
    job.films[1].annotations = vec![ann(1, "second")];
    assert_eq!(
        film_texts(&job),
        texts(&["LABEL ACC1", "OWNER", "first", "second"])
    );
}

fn s(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.get(tag)
        .map(|e| {
            e.to_str()
                .unwrap()
                .trim_end_matches(['\0', ' '])
                .to_string()
        })
        .unwrap_or_else(|| panic!("{tag} missing"))
}

#[test]
fn the_worklist_query_matches_on_accession_and_patient_id() {
    assert!(worklist_query(&id(&[("PatientName", "Doe^Jane")])).is_none());
    assert!(
        worklist_query(&id(&[("AccessionNumber", "A*")])).is_none(),
        "no wildcards"
    );
    let q = worklist_query(&id(&[("AccessionNumber", "ACC123"), ("PatientName", "x")])).unwrap();
    assert_eq!(s(&q, tags::ACCESSION_NUMBER), "ACC123");
    for t in [
        tags::PATIENT_ID,
        tags::PATIENT_NAME,
        tags::PATIENT_BIRTH_DATE,
        tags::PATIENT_SEX,
        tags::STUDY_INSTANCE_UID,
        tags::REFERRING_PHYSICIAN_NAME,
        tags::REQUESTED_PROCEDURE_DESCRIPTION,
    ] {
        assert_eq!(s(&q, t), "", "{t} is a return key");
    }
    let sps = q.get(tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE).unwrap();
    let items = sps.items().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].iter().count(), 0, "universal sequence matching");
    assert!(q.get(tags::SPECIFIC_CHARACTER_SET).is_none());
    // Encodable as the identifier of a C-FIND in both transfer syntaxes.
    for ts in [IMPLICIT_VR_LE, EXPLICIT_VR_LE] {
        let back = decode(&encode(&q, ts).unwrap(), ts).unwrap();
        assert_eq!(s(&back, tags::ACCESSION_NUMBER), "ACC123");
    }
    let q = worklist_query(&id(&[("PatientID", "Pä1")])).unwrap();
    assert_eq!(s(&q, tags::PATIENT_ID), "Pä1");
    assert_eq!(s(&q, tags::ACCESSION_NUMBER), "");
    assert_eq!(s(&q, tags::SPECIFIC_CHARACTER_SET), "ISO_IR 192");
}

#[test]
fn a_worklist_answer_becomes_an_identity_and_wins_the_merge() {
    let text = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
    let item = InMemDicomObject::from_element_iter([
        text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"),
        text(tags::ACCESSION_NUMBER, VR::SH, "ACC123"),
        text(tags::REFERRING_PHYSICIAN_NAME, VR::PN, "Who^Doctor"),
        text(tags::PATIENT_NAME, VR::PN, "Müller^Jürgen"),
        text(tags::PATIENT_ID, VR::LO, "P1 "),
        text(tags::PATIENT_BIRTH_DATE, VR::DA, "19700101"),
        text(tags::PATIENT_SEX, VR::CS, ""),
        text(tags::STUDY_INSTANCE_UID, VR::UI, "1.2.3.4\0"),
        text(tags::REQUESTED_PROCEDURE_DESCRIPTION, VR::LO, "CT Thorax"),
        DataElement::new(
            tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![InMemDicomObject::from_element_iter([text(
                tags::MODALITY,
                VR::CS,
                "CT",
            )])]),
        ),
    ]);
    // As it arrives: Latin-1 on the wire, decoded.
    let item = decode(&encode(&item, EXPLICIT_VR_LE).unwrap(), EXPLICIT_VR_LE).unwrap();
    let wl = from_worklist(&item);
    assert_eq!(
        wl,
        id(&[
            ("AccessionNumber", "ACC123"),
            ("ReferringPhysicianName", "Who^Doctor"),
            ("PatientName", "Müller^Jürgen"),
            ("PatientID", "P1"),
            ("PatientBirthDate", "19700101"),
            ("StudyInstanceUID", "1.2.3.4"),
            ("StudyDescription", "CT Thorax"),
        ])
    );
    let found = id(&[("AccessionNumber", "acc123"), ("StudyID", "7")]);
    let merged = merge(&found, &wl);
    assert_eq!(merged["AccessionNumber"], "ACC123", "the worklist wins");
    assert_eq!(merged["StudyID"], "7", "what only the texts had stays");
    assert_eq!(merged.len(), 8);
}

mod charset;

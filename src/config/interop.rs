//! A queue's interoperability keys: the printer identity it reports (Printer Name,
//! Manufacturer, Manufacturer's Model Name, Device Serial Number, Software Versions in
//! Printer N-GET, PS3.4 H.4.6, and Printer Configuration Retrieval, H.4.11), which may
//! differ from `[printer]`'s because some modalities pick their print profile from them;
//! and its aliases of Annotation Display Format IDs (PS3.3 C.13.3), for modalities that
//! name a format filmd calls otherwise (DCMTK's sample dcmpstat.cfg says `ANNOTATION`).
//! Their check-config problems and their resolved form.

use super::error::ConfigIssue;
use super::file::{PrinterIdentity, QueueConfig};
use crate::film::AnnotationFormats;
use std::collections::BTreeMap;

/// Characters of an LO value (PS3.5 6.2).
const LO_MAX_CHARS: usize = 64;
/// Values of Software Versions a queue may report.
const MAX_SOFTWARE_VERSIONS: usize = 8;
/// Aliases one queue may have.
const MAX_ALIASES: usize = 32;

/// What one queue reports about its device, every key resolved (queue, else `[printer]`,
/// else filmd's own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueIdentity {
    /// Manufacturer (0008,0070).
    pub manufacturer: String,
    /// Manufacturer's Model Name (0008,1090).
    pub model: String,
    /// Device Serial Number (0018,1000).
    pub serial_number: String,
    /// Software Versions (0018,1020), one entry per value (LO, VM 1-n).
    pub software_versions: Vec<String>,
}

/// What Software Versions says when nothing is configured.
pub const FILMD_SOFTWARE_VERSION: &str = concat!("filmd ", env!("CARGO_PKG_VERSION"));

/// The value of a queue key, else of the `[printer]` key.
fn inherit<'a>(queue: &'a str, printer: &'a str) -> &'a str {
    if queue.is_empty() { printer } else { queue }
}

/// The Printer Name (2110,0030) of a queue: its own, else "<printer.name> <queue name>".
pub(super) fn printer_name(printer: &PrinterIdentity, q: &QueueConfig) -> String {
    if q.printer_name.is_empty() {
        format!("{} {}", printer.name, q.name)
    } else {
        q.printer_name.clone()
    }
}

/// The identity queue `q` reports.
pub(super) fn resolve(printer: &PrinterIdentity, q: &QueueConfig) -> QueueIdentity {
    let versions = inherit(
        inherit(&q.software_versions, &printer.software_versions),
        FILMD_SOFTWARE_VERSION,
    );
    QueueIdentity {
        manufacturer: inherit(&q.manufacturer, &printer.manufacturer).to_string(),
        model: inherit(&q.model, &printer.model).to_string(),
        serial_number: inherit(&q.serial_number, &printer.serial_number).to_string(),
        software_versions: versions.split('\\').map(str::to_string).collect(),
    }
}

/// Why `value` is not a single LO value (PS3.5 6.2: at most 64 characters, no backslash,
/// no control characters), if it is not.
fn lo_problem(value: &str) -> Option<String> {
    let chars = value.chars().count();
    if chars > LO_MAX_CHARS {
        Some(format!(
            "{value:?} has {chars} characters; an LO value holds at most {LO_MAX_CHARS}"
        ))
    } else if value.contains('\\') {
        Some(format!(
            "{value:?}: a backslash separates values, and this attribute has one"
        ))
    } else if value.chars().any(char::is_control) {
        Some(format!(
            "{value:?}: control characters cannot occur in an LO value"
        ))
    } else {
        None
    }
}

/// Why `value` (values separated by `\`) is not Software Versions (LO, VM 1-n), if not.
fn versions_problem(value: &str) -> Option<String> {
    let values: Vec<&str> = value.split('\\').collect();
    if values.len() > MAX_SOFTWARE_VERSIONS {
        return Some(format!("at most {MAX_SOFTWARE_VERSIONS} values"));
    }
    values
        .iter()
        .find_map(|v| lo_problem(v))
        .map(|p| format!("value {p}"))
}

/// The problems of `[printer]`'s identity keys, as (key, problem).
pub(super) fn printer_problems(p: &PrinterIdentity) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (key, value) in [
        ("manufacturer", &p.manufacturer),
        ("model", &p.model),
        ("serial_number", &p.serial_number),
    ] {
        if let Some(problem) = lo_problem(value) {
            out.push((key, problem));
        }
    }
    if !p.software_versions.is_empty()
        && let Some(problem) = versions_problem(&p.software_versions)
    {
        out.push(("software_versions", problem));
    }
    out
}

/// The problems of a queue's identity keys and the syntax of its aliases, as (key,
/// problem). Whether an alias names a loaded format is [`alias_issues`]'s business: the
/// formats are read after the file is checked.
pub(super) fn queue_problems(p: &PrinterIdentity, q: &QueueConfig) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let name = printer_name(p, q);
    if let Some(problem) = lo_problem(&name) {
        // A composed name is too long because of printer.name and the queue's name.
        let (key, problem) = if q.printer_name.is_empty() {
            (
                "name",
                format!(
                    "with printer.name it makes a Printer Name (2110,0030) that is not an LO value: {problem}"
                ),
            )
        } else {
            ("printer_name", problem)
        };
        out.push((key, problem));
    }
    for (key, value) in [
        ("manufacturer", &q.manufacturer),
        ("model", &q.model),
        ("serial_number", &q.serial_number),
    ] {
        if let Some(problem) = lo_problem(value) {
            out.push((key, problem));
        }
    }
    if !q.software_versions.is_empty()
        && let Some(problem) = versions_problem(&q.software_versions)
    {
        out.push(("software_versions", problem));
    }
    if q.annotation_aliases.len() > MAX_ALIASES {
        out.push((
            "annotation_aliases",
            format!("at most {MAX_ALIASES} aliases"),
        ));
    }
    for (alias, target) in &q.annotation_aliases {
        if !crate::film::annotation::is_code_string(alias) {
            out.push((
                "annotation_aliases",
                format!(
                    "{alias:?} is not an Annotation Display Format ID (CS: 1 to 16 upper-case \
                     letters, digits, space, underscore)"
                ),
            ));
        }
        if alias == target {
            out.push((
                "annotation_aliases",
                format!("{alias:?} is an alias of itself"),
            ));
        }
    }
    out
}

/// The aliases of every queue checked against the loaded annotation formats: an alias must
/// name a format that exists, and must not be a format's own ID (an ID means the same
/// format on every queue; a modality naming a real format gets that format).
pub(super) fn alias_issues(
    queues: &[QueueConfig],
    formats: &AnnotationFormats,
) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    for (i, q) in queues.iter().enumerate() {
        for (alias, target) in &q.annotation_aliases {
            let key = format!("queue[{i}].annotation_aliases.{alias}");
            let known = || {
                formats
                    .iter()
                    .map(|f| f.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if formats.get(alias).is_some() {
                issues.push(ConfigIssue {
                    key: key.clone(),
                    problem: format!(
                        "{alias:?} is an Annotation Display Format of its own and cannot be \
                         an alias; rename the format in annotations.toml or drop the alias"
                    ),
                });
            }
            if formats.get(target).is_none() {
                issues.push(ConfigIssue {
                    key,
                    problem: format!(
                        "{target:?} is not an Annotation Display Format; known: {}",
                        known()
                    ),
                });
            }
        }
    }
    issues
}

/// A queue's aliases, resolved: the Annotation Display Format ID an SCU's ID stands for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnnotationAliases(BTreeMap<String, String>);

impl AnnotationAliases {
    pub(super) fn new(aliases: &BTreeMap<String, String>) -> AnnotationAliases {
        AnnotationAliases(aliases.clone())
    }

    /// Aliases from (alias, format ID) pairs, unchecked (the configuration's are checked
    /// when it is loaded).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> AnnotationAliases {
        AnnotationAliases(
            pairs
                .into_iter()
                .map(|(a, t)| (a.to_string(), t.to_string()))
                .collect(),
        )
    }

    /// The format ID `id` names on this queue: the alias's target, else `id` itself.
    pub fn resolve<'a>(&'a self, id: &'a str) -> &'a str {
        self.0.get(id).map_or(id, String::as_str)
    }

    /// (alias, format ID), in alias order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(a, t)| (a.as_str(), t.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigError, ConfigFile};
    use std::path::Path;

    fn queue(keys: &str) -> String {
        format!("[[queue]]\nname = \"ct\"\n{keys}")
    }

    fn issues(text: &str) -> Vec<String> {
        match ConfigFile::parse(text, Path::new("t.toml")) {
            Ok(_) => Vec::new(),
            Err(ConfigError::Invalid { issues, .. }) => {
                issues.iter().map(ToString::to_string).collect()
            }
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn queue_keys_override_the_printer_section_and_filmd_fills_the_rest() {
        let text = "[printer]\nname = \"Radiology\"\nmanufacturer = \"ACME\"\nmodel = \"Laser 1\"\n\
                    serial_number = \"S1\"\n"
            .to_string()
            + &queue(
                "printer_name = \"DRYVIEW 5950\"\nmanufacturer = \"Carestream Health\"\n\
                 model = \"DRYVIEW 5950\"\nsoftware_versions = \"5.0.1\\\\fw 12\"\n",
            ) + "[[queue]]\nname = \"mr\"\nae_titles = [\"MR\"]\n";
        let file = ConfigFile::parse(&text, Path::new("t.toml")).expect("valid");
        let (ct, mr) = (&file.queues[0], &file.queues[1]);
        assert_eq!(printer_name(&file.printer, ct), "DRYVIEW 5950");
        assert_eq!(printer_name(&file.printer, mr), "Radiology mr");
        assert_eq!(
            resolve(&file.printer, ct),
            QueueIdentity {
                manufacturer: "Carestream Health".into(),
                model: "DRYVIEW 5950".into(),
                serial_number: "S1".into(),
                software_versions: vec!["5.0.1".into(), "fw 12".into()],
            }
        );
        let mr = resolve(&file.printer, mr);
        assert_eq!(
            (mr.manufacturer.as_str(), mr.model.as_str()),
            ("ACME", "Laser 1")
        );
        assert_eq!(mr.software_versions, [FILMD_SOFTWARE_VERSION]);
        assert!(FILMD_SOFTWARE_VERSION.starts_with("filmd "));
    }

    #[test]
    fn identity_values_are_bounded_to_an_lo_value() {
        let long = "M".repeat(65);
        let found = issues(&queue(&format!(
            "manufacturer = \"{long}\"\nmodel = \"{}\"\nserial_number = \"A\\\\B\"\n\
             printer_name = \"{long}\"\nsoftware_versions = \"1\\\\{long}\"\n",
            "m".repeat(64)
        )));
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(
            found[0].starts_with("queue[0].printer_name: ")
                && found[0].contains("65 characters; an LO value holds at most 64"),
            "{found:#?}"
        );
        assert!(
            found[1].starts_with("queue[0].manufacturer: "),
            "{found:#?}"
        );
        assert!(
            found[2].starts_with("queue[0].serial_number: ") && found[2].contains("backslash"),
            "{found:#?}"
        );
        assert!(
            found[3].starts_with("queue[0].software_versions: value ")
                && found[3].contains("65 characters"),
            "{found:#?}"
        );
        let printer = issues(&format!(
            "[printer]\nmodel = \"{long}\"\nsoftware_versions = \"{}\"\n",
            ["1"; 9].join("\\\\")
        ));
        assert_eq!(
            printer,
            [
                format!("printer.model: {long:?} has 65 characters; an LO value holds at most 64"),
                "printer.software_versions: at most 8 values".to_string(),
            ]
        );
        // A composed Printer Name is blamed on the queue's name; the queue's own name
        // frees it of printer.name.
        let composed = issues(&format!("[printer]\nname = \"{}\"\n", "p".repeat(60)));
        assert!(
            composed.len() == 1 && composed[0].starts_with("queue[0].name: with printer.name"),
            "{composed:#?}"
        );
        assert!(
            issues(&format!(
                "[printer]\nname = \"{}\"\n{}",
                "p".repeat(60),
                queue("printer_name = \"Film 1\"\n")
            ))
            .is_empty()
        );
        assert!(issues(&queue("manufacturer = \"Agfa\\u0007\"\n"))[0].contains("control"));
    }

    #[test]
    fn aliases_must_be_code_strings_and_name_a_known_format_that_they_do_not_shadow() {
        let syntax = issues(&queue(
            "annotation_aliases = { annotation = \"TOP_BOTTOM\", LABEL2 = \"LABEL2\" }\n",
        ));
        assert_eq!(syntax.len(), 2, "{syntax:#?}");
        assert!(
            syntax[0].contains("LABEL2\" is an alias of itself"),
            "{syntax:#?}"
        );
        assert!(
            syntax[1].contains("\"annotation\" is not an Annotation Display Format ID"),
            "{syntax:#?}"
        );
        let text = queue(
            "annotation_aliases = { ANNOTATION = \"TOP_BOTTOM\", LABEL = \"FULL\", X = \"NONE\" }\n",
        );
        let file = ConfigFile::parse(&text, Path::new("t.toml")).expect("syntax is fine");
        let found: Vec<String> = alias_issues(&file.queues, AnnotationFormats::embedded())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found[0].starts_with("queue[0].annotation_aliases.LABEL: \"LABEL\" is an Annotation Display Format of its own"),
            "{found:#?}"
        );
        assert!(
            found[1].starts_with("queue[0].annotation_aliases.X: \"NONE\" is not an Annotation Display Format; known: LABEL, TOP_BOTTOM"),
            "{found:#?}"
        );
    }

    #[test]
    fn an_alias_resolves_to_its_format_and_other_ids_to_themselves() {
        let aliases = AnnotationAliases::new(&BTreeMap::from([(
            "ANNOTATION".to_string(),
            "TOP_BOTTOM".to_string(),
        )]));
        assert_eq!(aliases.resolve("ANNOTATION"), "TOP_BOTTOM");
        assert_eq!(aliases.resolve("LABEL"), "LABEL");
        assert_eq!(aliases.resolve("annotation"), "annotation");
        assert_eq!(
            aliases.iter().collect::<Vec<_>>(),
            [("ANNOTATION", "TOP_BOTTOM")]
        );
        assert!(AnnotationAliases::default().is_empty());
    }
}

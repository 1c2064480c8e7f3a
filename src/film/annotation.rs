//! Annotation Display Formats as data (PS3.3 C.13.3: Annotation Display Format ID
//! (2010,0030) is defined by the SCP).
//!
//! A format lists its annotation positions; each position names the edge band of the film
//! its text goes in (top or bottom), its alignment there, its font and its size. The
//! formats come from `layouts/annotations.toml` (format in layouts/README.md); a copy of the
//! shipped file is embedded so that filmd runs with no files at all. Parsing reads text and
//! never the disk: `crate::config` finds the files.
//!
//! A film carries its annotations already resolved ([`Annotation`]: position, text and
//! placement), so a queued job prints as it was accepted even if the file changes later.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The shipped annotation formats, embedded in the binary.
pub const DEFAULT_ANNOTATIONS_TOML: &str = include_str!("../../layouts/annotations.toml");
/// The name of the embedded font (DejaVu Sans, from the `dejavu` crate).
pub const DEFAULT_FONT: &str = "DejaVu Sans";

const MM_PER_PT: f64 = super::size::MM_PER_INCH / 72.0;
/// Sizes accepted in the file, in points.
const SIZE_RANGE_PT: (f64, f64) = (2.0, 72.0);
const DEFAULT_SIZE_PT: f64 = 10.0;
const DEFAULT_MIN_SIZE_PT: f64 = 6.0;
const DEFAULT_PADDING_MM: f64 = 1.5;
const MAX_POSITIONS: usize = 32;

/// The edge band of the film an annotation goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Edge {
    Top,
    Bottom,
}

/// Horizontal alignment of an annotation inside its band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// Where the text of one annotation position goes and how it is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    pub edge: Edge,
    pub align: Align,
    /// Font size (one em), millimetres on the film.
    pub size_mm: f64,
    /// Text too wide for its place shrinks down to this size before it is cut.
    pub min_size_mm: f64,
    /// [`DEFAULT_FONT`] or the file stem of a font in the fonts directory.
    pub font: String,
    /// Space between the text and the edges of its band, millimetres.
    pub padding_mm: f64,
}

/// One annotation box of a film, ready to compose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// Annotation Position (2030,0010).
    pub position: u32,
    /// Text String (2030,0020); empty when the SCU set none (its band is still reserved).
    pub text: String,
    pub placement: Placement,
}

/// One Annotation Display Format: its ID and its positions, position 1 first.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotationFormat {
    pub id: String,
    pub positions: Vec<Placement>,
}

/// Every Annotation Display Format the printer accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotationFormats {
    formats: Vec<AnnotationFormat>,
}

/// One problem of an annotation file: the key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileIssue {
    pub key: String,
    pub problem: String,
}

impl fmt::Display for FileIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.problem)
    }
}

/// An annotation file that cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AnnotationFileError {
    #[error("{file}: {message}")]
    Parse { file: PathBuf, message: String },
    #[error("{file}: {} problem(s):\n{}", .issues.len(), .issues.iter().map(|i| format!("  {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        file: PathBuf,
        issues: Vec<FileIssue>,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    defaults: RawStyle,
    #[serde(default, rename = "format")]
    formats: Vec<RawFormat>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStyle {
    font: Option<String>,
    size_pt: Option<f64>,
    size_mm: Option<f64>,
    min_size_pt: Option<f64>,
    min_size_mm: Option<f64>,
    padding_mm: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFormat {
    id: Option<String>,
    font: Option<String>,
    size_pt: Option<f64>,
    size_mm: Option<f64>,
    min_size_pt: Option<f64>,
    min_size_mm: Option<f64>,
    padding_mm: Option<f64>,
    #[serde(default)]
    positions: Vec<RawPosition>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPosition {
    edge: Option<String>,
    align: Option<String>,
    font: Option<String>,
    size_pt: Option<f64>,
    size_mm: Option<f64>,
    min_size_pt: Option<f64>,
    min_size_mm: Option<f64>,
}

/// The size a level of the file gives, in mm, if any: `size_pt` or `size_mm`, not both.
fn level_size(
    pt: Option<f64>,
    mm: Option<f64>,
    key: &str,
    what: &str,
    issues: &mut Vec<FileIssue>,
) -> Option<f64> {
    let mm = match (pt, mm) {
        (Some(_), Some(_)) => {
            issues.push(FileIssue {
                key: key.to_string(),
                problem: format!("give {what}_pt or {what}_mm, not both"),
            });
            return None;
        }
        (Some(pt), None) => pt * MM_PER_PT,
        (None, Some(mm)) => mm,
        (None, None) => return None,
    };
    let (lo, hi) = (SIZE_RANGE_PT.0 * MM_PER_PT, SIZE_RANGE_PT.1 * MM_PER_PT);
    if !(lo..=hi).contains(&mm) {
        issues.push(FileIssue {
            key: key.to_string(),
            problem: format!(
                "{what} {mm:.2} mm is outside {} to {} pt ({lo:.2} to {hi:.2} mm)",
                SIZE_RANGE_PT.0, SIZE_RANGE_PT.1
            ),
        });
        return None;
    }
    Some(mm)
}

/// A value as the problem message shows it: quoted, or "missing".
fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "missing".to_string(), |v| format!("{v:?}"))
}

/// Annotation Display Format ID is a CS value: at most 16 characters of upper-case letters,
/// digits, space and underscore (PS3.5 6.2).
pub(crate) fn is_code_string(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 16
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b' ')
}

impl AnnotationFormats {
    /// The formats of the embedded default file.
    pub fn embedded() -> &'static AnnotationFormats {
        static EMBEDDED: OnceLock<AnnotationFormats> = OnceLock::new();
        EMBEDDED.get_or_init(|| {
            AnnotationFormats::parse(
                DEFAULT_ANNOTATIONS_TOML,
                Path::new("<embedded annotations.toml>"),
                &[DEFAULT_FONT],
            )
            .expect("the embedded annotations.toml is valid (tested)")
        })
    }

    /// Parses and validates an annotation file; `fonts` are the font names that exist.
    /// Every problem found is reported, each with its key.
    pub fn parse(
        text: &str,
        file: &Path,
        fonts: &[&str],
    ) -> Result<AnnotationFormats, AnnotationFileError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| AnnotationFileError::Parse {
            file: file.into(),
            message: e.to_string(),
        })?;
        let mut issues = Vec::new();
        let d = &raw.defaults;
        let default_size = level_size(d.size_pt, d.size_mm, "defaults", "size", &mut issues)
            .unwrap_or(DEFAULT_SIZE_PT * MM_PER_PT);
        let default_min = level_size(
            d.min_size_pt,
            d.min_size_mm,
            "defaults",
            "min_size",
            &mut issues,
        );
        let check_font = |key: &str, font: &Option<String>, issues: &mut Vec<FileIssue>| {
            if let Some(f) = font
                && !fonts.contains(&f.as_str())
            {
                issues.push(FileIssue {
                    key: format!("{key}.font"),
                    problem: format!("{f:?} is neither the embedded {DEFAULT_FONT:?} nor a font file (.ttf, .otf) in the fonts directory; found: {fonts:?}"),
                });
            }
        };
        check_font("defaults", &d.font, &mut issues);
        let padding_ok = |p: f64| (0.0..=20.0).contains(&p);
        if d.padding_mm.is_some_and(|p| !padding_ok(p)) {
            issues.push(FileIssue {
                key: "defaults.padding_mm".into(),
                problem: "must be between 0 and 20".into(),
            });
        }
        if raw.formats.is_empty() {
            issues.push(FileIssue {
                key: "format".into(),
                problem: "no [[format]] defined".into(),
            });
        }
        let mut formats: Vec<AnnotationFormat> = Vec::new();
        for (i, f) in raw.formats.iter().enumerate() {
            let key = match &f.id {
                Some(id) => format!("format[{i}] ({id:?})"),
                None => format!("format[{i}]"),
            };
            let id = match &f.id {
                None => {
                    issues.push(FileIssue {
                        key: format!("{key}.id"),
                        problem: "missing".into(),
                    });
                    String::new()
                }
                Some(id) if !is_code_string(id) => {
                    issues.push(FileIssue {
                        key: format!("{key}.id"),
                        problem: "must be 1 to 16 upper-case letters, digits, spaces or underscores (a CS value)".into(),
                    });
                    id.clone()
                }
                Some(id) if formats.iter().any(|g| &g.id == id) => {
                    issues.push(FileIssue {
                        key: format!("{key}.id"),
                        problem: "defined twice".into(),
                    });
                    id.clone()
                }
                Some(id) => id.clone(),
            };
            check_font(&key, &f.font, &mut issues);
            let size = level_size(f.size_pt, f.size_mm, &key, "size", &mut issues);
            let min = level_size(f.min_size_pt, f.min_size_mm, &key, "min_size", &mut issues);
            if f.padding_mm.is_some_and(|p| !padding_ok(p)) {
                issues.push(FileIssue {
                    key: format!("{key}.padding_mm"),
                    problem: "must be between 0 and 20".into(),
                });
            }
            if f.positions.is_empty() || f.positions.len() > MAX_POSITIONS {
                issues.push(FileIssue {
                    key: format!("{key}.positions"),
                    problem: format!("needs 1 to {MAX_POSITIONS} positions"),
                });
            }
            let mut positions = Vec::new();
            for (j, p) in f.positions.iter().enumerate() {
                let pkey = format!("{key}.positions[{j}]");
                let edge = match p.edge.as_deref() {
                    Some("top") => Edge::Top,
                    Some("bottom") => Edge::Bottom,
                    other => {
                        issues.push(FileIssue {
                            key: format!("{pkey}.edge"),
                            problem: format!("{}: use \"top\" or \"bottom\"", shown(other)),
                        });
                        Edge::Top
                    }
                };
                let align = match p.align.as_deref() {
                    Some("left") => Align::Left,
                    Some("center") => Align::Center,
                    Some("right") => Align::Right,
                    other => {
                        issues.push(FileIssue {
                            key: format!("{pkey}.align"),
                            problem: format!(
                                "{}: use \"left\", \"center\" or \"right\"",
                                shown(other)
                            ),
                        });
                        Align::Left
                    }
                };
                check_font(&pkey, &p.font, &mut issues);
                let size_mm = level_size(p.size_pt, p.size_mm, &pkey, "size", &mut issues)
                    .or(size)
                    .unwrap_or(default_size);
                let min_size_mm =
                    level_size(p.min_size_pt, p.min_size_mm, &pkey, "min_size", &mut issues)
                        .or(min)
                        .or(default_min)
                        .unwrap_or(DEFAULT_MIN_SIZE_PT * MM_PER_PT)
                        .min(size_mm);
                positions.push(Placement {
                    edge,
                    align,
                    size_mm,
                    min_size_mm,
                    font: p
                        .font
                        .clone()
                        .or_else(|| f.font.clone())
                        .or_else(|| d.font.clone())
                        .unwrap_or_else(|| DEFAULT_FONT.to_string()),
                    padding_mm: f.padding_mm.or(d.padding_mm).unwrap_or(DEFAULT_PADDING_MM),
                });
            }
            formats.push(AnnotationFormat { id, positions });
        }
        if issues.is_empty() {
            Ok(AnnotationFormats { formats })
        } else {
            Err(AnnotationFileError::Invalid {
                file: file.into(),
                issues,
            })
        }
    }

    /// The format with this Annotation Display Format ID.
    pub fn get(&self, id: &str) -> Option<&AnnotationFormat> {
        self.formats.iter().find(|f| f.id == id)
    }

    /// The number of annotation positions of a format, or `None` if it is not defined.
    pub fn positions(&self, id: &str) -> Option<u32> {
        self.get(id).map(|f| f.positions.len() as u32)
    }

    /// Every format, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &AnnotationFormat> {
        self.formats.iter()
    }

    /// The annotations of a film of format `id`: one per position of the format, with the
    /// text the SCU set for it (empty if none). Unknown formats have none.
    pub fn annotations(&self, id: &str, texts: &[(u32, Option<String>)]) -> Vec<Annotation> {
        let Some(format) = self.get(id) else {
            return Vec::new();
        };
        format
            .positions
            .iter()
            .zip(1u32..)
            .map(|(placement, position)| Annotation {
                position,
                text: texts
                    .iter()
                    .find(|(p, _)| *p == position)
                    .and_then(|(_, t)| t.clone())
                    .unwrap_or_default(),
                placement: placement.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AnnotationFormats, AnnotationFileError> {
        AnnotationFormats::parse(text, Path::new("t.toml"), &[DEFAULT_FONT, "Extra"])
    }

    fn issues(text: &str) -> Vec<FileIssue> {
        match parse(text) {
            Err(AnnotationFileError::Invalid { issues, .. }) => issues,
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn embedded_file_keeps_the_four_historic_ids() {
        let f = AnnotationFormats::embedded();
        let ids: Vec<(&str, u32)> = f
            .iter()
            .map(|g| (g.id.as_str(), g.positions.len() as u32))
            .collect();
        assert_eq!(
            ids,
            [("LABEL", 1), ("TOP_BOTTOM", 2), ("CORNERS", 4), ("FULL", 6)]
        );
        assert_eq!(f.positions("CORNERS"), Some(4));
        assert_eq!(f.positions("NOPE"), None);
        let corners = &f.get("CORNERS").unwrap().positions;
        assert_eq!(
            (corners[1].edge, corners[1].align),
            (Edge::Top, Align::Right)
        );
        assert_eq!(
            (corners[2].edge, corners[2].align),
            (Edge::Bottom, Align::Left)
        );
        assert!((corners[0].size_mm - 10.0 * MM_PER_PT).abs() < 1e-9);
        assert!((corners[0].min_size_mm - 6.0 * MM_PER_PT).abs() < 1e-9);
        assert_eq!(corners[0].font, DEFAULT_FONT);
    }

    #[test]
    fn sizes_and_fonts_inherit_position_then_format_then_defaults() {
        let f = parse(
            "[defaults]\nsize_mm = 5\n\n[[format]]\nid = \"A\"\nfont = \"Extra\"\nsize_pt = 12\n\
             positions = [{ edge = \"top\", align = \"left\" }, { edge = \"bottom\", align = \"right\", size_mm = 3, font = \"DejaVu Sans\" }]\n\
             [[format]]\nid = \"B\"\npositions = [{ edge = \"bottom\", align = \"center\" }]\n",
        )
        .unwrap();
        let a = &f.get("A").unwrap().positions;
        assert!((a[0].size_mm - 12.0 * MM_PER_PT).abs() < 1e-9);
        assert_eq!(a[0].font, "Extra");
        assert!((a[1].size_mm - 3.0).abs() < 1e-9);
        assert_eq!(a[1].font, DEFAULT_FONT);
        let b = &f.get("B").unwrap().positions[0];
        assert!((b.size_mm - 5.0).abs() < 1e-9);
        assert!(b.min_size_mm <= b.size_mm);
        assert!((b.padding_mm - DEFAULT_PADDING_MM).abs() < 1e-9);
    }

    #[test]
    fn minimum_size_never_exceeds_the_size() {
        let f = parse("[[format]]\nid = \"S\"\npositions = [{ edge = \"top\", align = \"left\", size_pt = 4 }]\n").unwrap();
        let p = &f.get("S").unwrap().positions[0];
        assert_eq!(p.min_size_mm, p.size_mm);
    }

    #[test]
    fn problems_name_the_key() {
        let found = issues(
            "[[format]]\nid = \"bad id\"\npositions = [{ edge = \"left\", align = \"middle\", size_pt = 100, font = \"Nope\" }]\n\
             [[format]]\nid = \"X\"\npositions = []\n[[format]]\nid = \"X\"\nsize_pt = 8\nsize_mm = 3\npositions = [{ edge = \"top\", align = \"left\" }]\n",
        );
        let keys: Vec<&str> = found.iter().map(|i| i.key.as_str()).collect();
        for expected in [
            "format[0] (\"bad id\").id",
            "format[0] (\"bad id\").positions[0].edge",
            "format[0] (\"bad id\").positions[0].align",
            "format[0] (\"bad id\").positions[0]",
            "format[0] (\"bad id\").positions[0].font",
            "format[1] (\"X\").positions",
            "format[2] (\"X\").id",
            "format[2] (\"X\")",
        ] {
            assert!(keys.contains(&expected), "{expected} missing from {keys:?}");
        }
        let message = AnnotationFileError::Invalid {
            file: "t.toml".into(),
            issues: found,
        }
        .to_string();
        assert!(message.starts_with("t.toml: "), "{message}");
        assert!(message.contains("\"Nope\" is neither"), "{message}");
        assert!(
            message.contains("positions[0].edge: \"left\": use \"top\" or \"bottom\""),
            "{message}"
        );
    }

    #[test]
    fn unknown_keys_and_bad_toml_name_the_file_and_the_key() {
        let Err(AnnotationFileError::Parse { file, message }) =
            parse("[[format]]\nid = \"A\"\nsise_pt = 3\n")
        else {
            panic!()
        };
        assert_eq!(file, PathBuf::from("t.toml"));
        assert!(message.contains("sise_pt"), "{message}");
        assert!(matches!(
            parse("[[format]\n"),
            Err(AnnotationFileError::Parse { .. })
        ));
        assert_eq!(issues("")[0].key, "format");
    }

    #[test]
    fn annotations_follow_the_format_and_keep_unset_positions_empty() {
        let f = AnnotationFormats::embedded();
        let a = f.annotations("TOP_BOTTOM", &[(2, Some("below".into())), (1, None)]);
        assert_eq!(a.len(), 2);
        assert_eq!(
            (a[0].position, a[0].text.as_str(), a[0].placement.edge),
            (1, "", Edge::Top)
        );
        assert_eq!(
            (a[1].position, a[1].text.as_str(), a[1].placement.edge),
            (2, "below", Edge::Bottom)
        );
        assert!(f.annotations("NOPE", &[]).is_empty());
    }
}

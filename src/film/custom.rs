//! `CUSTOM\i` Image Display Formats (PS3.3 C.13.5.1: "the SCP's own layout number i,
//! described in its conformance statement"), defined as data: `custom.toml` in the
//! layouts directory, or the copy of `layouts/custom.toml` embedded in the binary.
//!
//! This module only parses and validates text; reading the file is the caller's business.
//! Box rectangles are fractions of the printable area, so one layout serves every film
//! size, orientation and margin.

use super::layout::MAX_BOXES;
use serde::{Deserialize, Serialize};

/// The embedded default, used when the layouts directory holds no `custom.toml`.
pub const EMBEDDED: &str = include_str!("../../layouts/custom.toml");
/// The file name looked for in the layouts directory.
pub const FILE_NAME: &str = "custom.toml";
/// Smallest width or height of a box, as a fraction of the printable area.
pub const MIN_FRACTION: f64 = 0.01;
/// Slack allowed on the area's edges and between boxes, for decimal fractions like 1/3.
const TOLERANCE: f64 = 1e-6;

/// A box in fractions of the printable area, origin at its top left.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FracRect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// One `CUSTOM\i` layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomLayout {
    pub id: u32,
    #[serde(default)]
    pub description: String,
    /// In Image Box Position order.
    pub boxes: Vec<FracRect>,
}

/// Every `CUSTOM\i` layout a server accepts, by id.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomLayouts {
    layouts: Vec<CustomLayout>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    layout: Vec<CustomLayout>,
}

/// A problem in a layouts file: the key (`layout[1].boxes[0]`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutIssue {
    pub key: String,
    pub problem: String,
}

impl Default for CustomLayouts {
    fn default() -> Self {
        Self::embedded()
    }
}

impl CustomLayouts {
    /// The layouts of the embedded `layouts/custom.toml`.
    pub fn embedded() -> Self {
        Self::parse(EMBEDDED).expect("the embedded layouts/custom.toml is valid")
    }

    /// Parses and validates the text of a `custom.toml`; every problem is reported.
    pub fn parse(text: &str) -> Result<Self, Vec<LayoutIssue>> {
        let file: File = toml::from_str(text).map_err(|e| {
            vec![LayoutIssue {
                key: "(syntax)".into(),
                problem: e.to_string().trim().to_string(),
            }]
        })?;
        let issues = validate(&file.layout);
        if !issues.is_empty() {
            return Err(issues);
        }
        let mut layouts = file.layout;
        layouts.sort_by_key(|l| l.id);
        Ok(CustomLayouts { layouts })
    }

    pub fn get(&self, id: u32) -> Option<&CustomLayout> {
        self.layouts.iter().find(|l| l.id == id)
    }

    /// The layouts in id order.
    pub fn iter(&self) -> impl Iterator<Item = &CustomLayout> {
        self.layouts.iter()
    }
}

fn validate(layouts: &[CustomLayout]) -> Vec<LayoutIssue> {
    let mut issues = Vec::new();
    let mut bad = |key: String, problem: String| issues.push(LayoutIssue { key, problem });
    for (i, layout) in layouts.iter().enumerate() {
        let key = |rest: &str| format!("layout[{i}]{rest}");
        if layout.id == 0 {
            bad(
                key(".id"),
                "must be 1 or more (CUSTOM\\1 is the first)".into(),
            );
        }
        if layouts[..i].iter().any(|l| l.id == layout.id) {
            bad(
                key(".id"),
                format!("{} is used by an earlier layout", layout.id),
            );
        }
        if layout.boxes.is_empty() || layout.boxes.len() > MAX_BOXES as usize {
            bad(
                key(".boxes"),
                format!(
                    "{} boxes; a layout has 1 to {MAX_BOXES}",
                    layout.boxes.len()
                ),
            );
        }
        for (j, b) in layout.boxes.iter().enumerate() {
            let key = key(&format!(".boxes[{j}]"));
            if let Some(problem) = box_problem(b) {
                bad(key, problem);
                continue;
            }
            let overlapping = layout.boxes[..j]
                .iter()
                .position(|other| box_problem(other).is_none() && overlap(b, other));
            if let Some(k) = overlapping {
                bad(key, format!("overlaps boxes[{k}] of the same layout"));
            }
        }
    }
    issues
}

/// What is wrong with one box on its own, if anything.
fn box_problem(b: &FracRect) -> Option<String> {
    let values = [
        ("x", b.x),
        ("y", b.y),
        ("width", b.width),
        ("height", b.height),
    ];
    if let Some((name, v)) = values.iter().find(|(_, v)| !v.is_finite()) {
        return Some(format!("{name} = {v} is not a number"));
    }
    if b.x < 0.0 || b.y < 0.0 {
        return Some(format!("x = {} and y = {} must be 0 or more", b.x, b.y));
    }
    if b.width < MIN_FRACTION || b.height < MIN_FRACTION {
        return Some(format!(
            "width = {} and height = {} must each be at least {MIN_FRACTION}",
            b.width, b.height
        ));
    }
    if b.x + b.width > 1.0 + TOLERANCE {
        return Some(format!(
            "x + width = {} goes beyond the printable area (1)",
            b.x + b.width
        ));
    }
    if b.y + b.height > 1.0 + TOLERANCE {
        return Some(format!(
            "y + height = {} goes beyond the printable area (1)",
            b.y + b.height
        ));
    }
    None
}

fn overlap(a: &FracRect, b: &FracRect) -> bool {
    let w = (a.x + a.width).min(b.x + b.width) - a.x.max(b.x);
    let h = (a.y + a.height).min(b.y + b.height) - a.y.max(b.y);
    w > TOLERANCE && h > TOLERANCE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_layouts_are_valid_and_in_id_order() {
        let layouts = CustomLayouts::embedded();
        let ids: Vec<u32> = layouts.iter().map(|l| l.id).collect();
        assert_eq!(ids, vec![1, 2, 3]);
        assert_eq!(layouts.get(1).map(|l| l.boxes.len()), Some(3));
        assert!(layouts.get(9).is_none());
    }

    #[test]
    fn problems_name_the_layout_the_box_and_the_fault() {
        let text = r#"
            [[layout]]
            id = 1
            boxes = [ { x = 0.0, y = 0.0, width = 0.6, height = 1.0 },
                      { x = 0.5, y = 0.0, width = 0.5, height = 1.0 } ]
            [[layout]]
            id = 1
            boxes = [ { x = 0.5, y = 0.0, width = 0.7, height = 1.0 } ]
            [[layout]]
            id = 0
            boxes = []
        "#;
        let issues = CustomLayouts::parse(text).expect_err("invalid");
        let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "layout[0].boxes[1]",
                "layout[1].id",
                "layout[1].boxes[0]",
                "layout[2].id",
                "layout[2].boxes"
            ],
            "{issues:?}"
        );
        assert!(issues[0].problem.contains("overlaps boxes[0]"));
        assert!(issues[2].problem.contains("beyond the printable area"));
    }

    #[test]
    fn unknown_keys_and_bad_syntax_are_refused() {
        let issues =
            CustomLayouts::parse("[[layout]]\nid = 1\nbox = []\n").expect_err("unknown key");
        assert!(issues[0].problem.contains("box"), "{issues:?}");
        assert!(CustomLayouts::parse("[[layout]\n").is_err());
        assert_eq!(CustomLayouts::parse("").map(|l| l.iter().count()), Ok(0));
    }

    #[test]
    fn touching_boxes_and_thirds_are_accepted() {
        let text =
            "[[layout]]\nid = 7\nboxes = [ { x = 0.0, y = 0.0, width = 1.0, height = 0.3333333 },
            { x = 0.0, y = 0.3333333, width = 1.0, height = 0.6666667 } ]\n";
        assert!(CustomLayouts::parse(text).is_ok());
    }
}

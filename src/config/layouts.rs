//! The files beside the configuration, read once at start: the `CUSTOM\i` Image Display
//! Formats of `server.layouts_dir`/custom.toml and the Annotation Display Formats of
//! `server.layouts_dir`/annotations.toml (else the embedded copies of the shipped files),
//! and the fonts of `server.fonts_dir` (*.ttf, *.otf, named by file stem). Problems are
//! reported with the file, the key and what is wrong, before filmd accepts anything.

use super::error::{AnnotationSetupError, ConfigError, ConfigIssue};
use super::file::ServerConfig;
use crate::film::annotation::{AnnotationFormats, DEFAULT_FONT};
use crate::film::custom::{self, CustomLayouts};
use crate::film::text::FontBook;
use std::path::{Path, PathBuf};

/// The annotation file's name inside the layouts directory.
pub const ANNOTATIONS_FILE: &str = "annotations.toml";
/// Defaults of `server.layouts_dir` and `server.fonts_dir`: a missing default directory
/// just means "nothing beyond the embedded data"; a configured one must exist.
pub const DEFAULT_LAYOUTS_DIR: &str = "layouts";
pub const DEFAULT_FONTS_DIR: &str = "fonts";

/// What was loaded, and from where.
#[derive(Debug)]
pub struct AnnotationSetup {
    pub formats: AnnotationFormats,
    pub fonts: FontBook,
    /// The annotation file read, `None` for the embedded copy.
    pub formats_file: Option<PathBuf>,
    pub font_files: Vec<PathBuf>,
}

impl AnnotationSetup {
    /// One line for the log and `filmd check-config`.
    pub fn summary(&self) -> String {
        let ids: Vec<&str> = self.formats.iter().map(|f| f.id.as_str()).collect();
        let from = self
            .formats_file
            .as_ref()
            .map_or_else(|| "embedded".to_string(), |p| p.display().to_string());
        let fonts: Vec<&str> = self.fonts.names().collect();
        format!(
            "annotation formats {} ({from}); fonts {}",
            ids.join(", "),
            fonts.join(", ")
        )
    }
}

/// Reads `custom.toml` from `layouts_dir` when it is there (the embedded layouts
/// otherwise) and validates it: problems name the file, the key and the fault.
pub fn load_custom_layouts(layouts_dir: &Path) -> Result<CustomLayouts, ConfigError> {
    let path = layouts_dir.join(custom::FILE_NAME);
    if !path.is_file() {
        return Ok(CustomLayouts::embedded());
    }
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    CustomLayouts::parse(&text).map_err(|issues| ConfigError::Invalid {
        path,
        issues: issues
            .into_iter()
            .map(|i| ConfigIssue {
                key: i.key,
                problem: i.problem,
            })
            .collect(),
    })
}

/// Reads the fonts, then the annotation file (whose fonts must exist).
pub fn load(server: &ServerConfig) -> Result<AnnotationSetup, AnnotationSetupError> {
    let (fonts, font_files) = load_fonts(&server.fonts_dir)?;
    let names: Vec<&str> = fonts.names().collect();
    let (formats, formats_file) = match directory(
        "server.layouts_dir",
        &server.layouts_dir,
        DEFAULT_LAYOUTS_DIR,
    )? {
        Some(dir) if dir.join(ANNOTATIONS_FILE).exists() => {
            let path = dir.join(ANNOTATIONS_FILE);
            let text = std::fs::read_to_string(&path).map_err(|e| AnnotationSetupError::File {
                path: path.clone(),
                problem: e.to_string(),
            })?;
            (AnnotationFormats::parse(&text, &path, &names)?, Some(path))
        }
        _ => (AnnotationFormats::embedded().clone(), None),
    };
    Ok(AnnotationSetup {
        formats,
        fonts,
        formats_file,
        font_files,
    })
}

/// The directory of a key, `None` when it is the default and absent.
fn directory(
    key: &'static str,
    dir: &Path,
    default: &str,
) -> Result<Option<PathBuf>, AnnotationSetupError> {
    let problem = |problem: &str| AnnotationSetupError::Directory {
        key,
        path: dir.to_path_buf(),
        problem: problem.into(),
    };
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(Some(dir.to_path_buf())),
        Ok(_) => Err(problem("not a directory")),
        Err(_) if dir == Path::new(default) => Ok(None),
        Err(e) => Err(problem(&format!("cannot be read: {e}"))),
    }
}

fn load_fonts(dir: &Path) -> Result<(FontBook, Vec<PathBuf>), AnnotationSetupError> {
    let mut book = FontBook::default();
    let Some(dir) = directory("server.fonts_dir", dir, DEFAULT_FONTS_DIR)? else {
        return Ok((book, Vec::new()));
    };
    let read_err = |path: &Path, e: std::io::Error| AnnotationSetupError::File {
        path: path.to_path_buf(),
        problem: e.to_string(),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| read_err(&dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("ttf") || e.eq_ignore_ascii_case("otf"))
        })
        .collect();
    files.sort();
    let mut seen: Vec<String> = Vec::new();
    for path in &files {
        let file_err = |problem: String| AnnotationSetupError::File {
            path: path.clone(),
            problem,
        };
        let Some(name) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string)
        else {
            return Err(file_err(
                "the file name must be UTF-8: it is the font's name".into(),
            ));
        };
        if seen.contains(&name) {
            return Err(file_err(format!(
                "a second font named {name:?} (fonts are named by file stem)"
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| read_err(path, e))?;
        book.add(&name, bytes)
            .map_err(|e| file_err(format!("not a usable TrueType/OpenType font: {e}")))?;
        if name == DEFAULT_FONT {
            tracing::info!(path = %path.display(), "font file replaces the embedded {DEFAULT_FONT}");
        }
        seen.push(name);
    }
    Ok((book, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(layouts: &Path, fonts: &Path) -> ServerConfig {
        ServerConfig {
            layouts_dir: layouts.to_path_buf(),
            fonts_dir: fonts.to_path_buf(),
            ..ServerConfig::default()
        }
    }

    #[test]
    fn absent_default_directories_mean_the_embedded_data() {
        let tmp = tempfile::tempdir().unwrap();
        let cwd_relative = ServerConfig::default();
        assert_eq!(cwd_relative.layouts_dir, PathBuf::from(DEFAULT_LAYOUTS_DIR));
        // An empty directory: no annotations.toml, no fonts.
        let setup = load(&server(tmp.path(), tmp.path())).unwrap();
        assert!(setup.formats_file.is_none() && setup.font_files.is_empty());
        assert_eq!(&setup.formats, AnnotationFormats::embedded());
    }

    #[test]
    fn a_configured_directory_that_does_not_exist_is_an_error_naming_the_key() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        let e = load(&server(&missing, tmp.path())).unwrap_err().to_string();
        assert!(e.starts_with("server.layouts_dir = "), "{e}");
        let e = load(&server(tmp.path(), &missing)).unwrap_err().to_string();
        assert!(e.starts_with("server.fonts_dir = "), "{e}");
    }

    #[test]
    fn fonts_are_named_by_file_stem_and_formats_may_use_them() {
        let tmp = tempfile::tempdir().unwrap();
        let fonts = tmp.path().join("fonts");
        std::fs::create_dir(&fonts).unwrap();
        std::fs::write(fonts.join("House Bold.TTF"), dejavu::sans::bold()).unwrap();
        std::fs::write(fonts.join("readme.txt"), "not a font").unwrap();
        std::fs::write(
            tmp.path().join(ANNOTATIONS_FILE),
            "[[format]]\nid = \"HOUSE\"\nfont = \"House Bold\"\npositions = [{ edge = \"bottom\", align = \"right\" }]\n",
        )
        .unwrap();
        let setup = load(&server(tmp.path(), &fonts)).unwrap();
        assert_eq!(
            setup.fonts.names().collect::<Vec<_>>(),
            ["House Bold", DEFAULT_FONT]
        );
        assert_eq!(
            setup.formats.get("HOUSE").unwrap().positions[0].font,
            "House Bold"
        );
        assert_eq!(
            setup.formats.positions("LABEL"),
            None,
            "the file replaces the embedded formats"
        );
        assert!(setup.summary().contains("HOUSE"), "{}", setup.summary());
    }

    #[test]
    fn bad_files_are_reported_with_their_path() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("broken.otf"), b"not a font").unwrap();
        let e = load(&server(tmp.path(), tmp.path()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("broken.otf") && e.contains("not a usable"),
            "{e}"
        );
        std::fs::remove_file(tmp.path().join("broken.otf")).unwrap();
        std::fs::write(tmp.path().join(ANNOTATIONS_FILE), "[[format]]\nid = \"A\"\nfont = \"Missing\"\npositions = [{ edge = \"top\", align = \"left\" }]\n").unwrap();
        let e = load(&server(tmp.path(), tmp.path()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(ANNOTATIONS_FILE) && e.contains("format[0] (\"A\").font"),
            "{e}"
        );
    }

    #[test]
    fn custom_layouts_come_from_the_layouts_dir_or_the_embedded_copy() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            load_custom_layouts(&dir.path().join("absent")).expect("embedded"),
            CustomLayouts::embedded()
        );
        std::fs::write(
            dir.path().join("custom.toml"),
            "[[layout]]\nid = 5\nboxes = [ { x = 0.0, y = 0.0, width = 1.0, height = 1.0 } ]\n",
        )
        .unwrap();
        let layouts = load_custom_layouts(dir.path()).expect("valid file");
        assert_eq!(layouts.iter().map(|l| l.id).collect::<Vec<_>>(), vec![5]);
        std::fs::write(
            dir.path().join("custom.toml"),
            "[[layout]]\nid = 5\nboxes = [ { x = 0.5, y = 0.0, width = 1.0, height = 1.0 } ]\n",
        )
        .unwrap();
        let Err(ConfigError::Invalid { path, issues }) = load_custom_layouts(dir.path()) else {
            panic!("accepted")
        };
        assert!(path.ends_with("custom.toml"));
        assert_eq!(issues[0].key, "layout[0].boxes[0]");
        let shown = ConfigError::Invalid { path, issues }.to_string();
        assert!(
            shown.contains("custom.toml") && shown.contains("beyond the printable area"),
            "{shown}"
        );
    }
}

//! Configuration, parsed once: the file's schema and its validation ([`ConfigFile`], what
//! `filmd check-config` reports), the files beside it (custom layouts, annotation formats,
//! fonts), and the [`Settings`] the server runs with, resolved from both. [`load`] does
//! all of it; nothing else reads the configuration.

mod admin;
mod audit;
mod error;
mod file;
mod interop;
mod layouts;
mod pacs;
mod settings;

pub use admin::{AdminConfig, DEFAULT_HTTP_LISTEN};
pub use audit::AuditConfig;
pub use error::{AnnotationSetupError, ConfigError, ConfigIssue};
pub use file::{
    ColorFilms, ConfigFile, DEFAULT_CONFIG, PrinterIdentity, QueueConfig, ServerConfig,
    SpoolSettings,
};
pub use interop::{AnnotationAliases, FILMD_SOFTWARE_VERSION, QueueIdentity};
pub use layouts::{
    ANNOTATIONS_FILE, AnnotationSetup, DEFAULT_FONTS_DIR, DEFAULT_LAYOUTS_DIR, load_custom_layouts,
};
pub use pacs::{PacsSettings, StoreAs, Unmatched};
pub use settings::{ArchiveSettings, IppSettings, QueueSettings, ServerSettings, Settings};

use crate::film::text::FontBook;
use std::path::{Path, PathBuf};

/// Command-line values that take the place of the file's (`filmd serve` flags).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `server.listen`.
    pub listen: Option<String>,
    /// `server.ae_title`, and the called AE title of the default (first) queue.
    pub ae_title: Option<String>,
    /// `server.data_dir`.
    pub data_dir: Option<PathBuf>,
    /// The default queue's `ipp` printer.
    pub ipp: Option<String>,
    /// `admin.http_listen`, the web console's address ("" off).
    pub http_listen: Option<String>,
}

impl Overrides {
    fn apply(&self, file: &mut ConfigFile) {
        if let Some(listen) = &self.listen {
            file.server.listen = listen.clone();
        }
        if let Some(ae) = &self.ae_title {
            file.server.ae_title = ae.clone();
            if let Some(q) = file.queues.first_mut() {
                q.ae_titles = vec![ae.clone()];
            }
        }
        if let Some(dir) = &self.data_dir {
            file.server.data_dir = dir.clone();
        }
        if let Some(uri) = &self.ipp
            && let Some(q) = file.queues.first_mut()
        {
            q.ipp = uri.clone();
        }
        if let Some(listen) = &self.http_listen {
            file.admin.http_listen = listen.clone();
        }
    }

    fn any(&self) -> bool {
        self.listen.is_some()
            || self.ae_title.is_some()
            || self.data_dir.is_some()
            || self.ipp.is_some()
            || self.http_listen.is_some()
    }
}

/// A configuration loaded with everything beside it.
#[derive(Debug)]
pub struct Loaded {
    pub settings: Settings,
    /// The fonts for annotation text, to install once ([`crate::film::text::install`]).
    pub fonts: FontBook,
    /// Where the configuration came from, for messages.
    pub source: PathBuf,
    /// One line on the annotation formats and fonts loaded, for the log.
    pub files_summary: String,
}

/// Reads the configuration file (the embedded default when `path` is `None`), applies
/// `overrides`, validates the whole, reads the layouts, annotation formats and fonts it
/// names, and resolves the settings. Every problem names its file and key.
pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Loaded, ConfigError> {
    let (text, source) = match path {
        Some(path) => (
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.into(),
                source,
            })?,
            path.to_path_buf(),
        ),
        None => (DEFAULT_CONFIG.to_string(), PathBuf::from("<embedded>")),
    };
    let mut file = ConfigFile::from_toml(&text, &source)?;
    overrides.apply(&mut file);
    let checked_as = if overrides.any() {
        PathBuf::from(format!("{} with command-line flags", source.display()))
    } else {
        source.clone()
    };
    let file = file.checked(&checked_as)?;
    let custom_layouts = load_custom_layouts(&file.server.layouts_dir)?;
    let annotations = layouts::load(&file.server)?;
    // The aliases name formats, which are known only now.
    let issues = interop::alias_issues(&file.queues, &annotations.formats);
    if !issues.is_empty() {
        return Err(ConfigError::Invalid {
            path: checked_as,
            issues,
        });
    }
    let files_summary = annotations.summary();
    Ok(Loaded {
        settings: Settings::resolve(&file, &source, custom_layouts, annotations.formats),
        fonts: annotations.fonts,
        source,
        files_summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_take_the_place_of_the_file_and_are_validated_with_it() {
        let loaded = load(
            None,
            &Overrides {
                listen: Some("127.0.0.1:0".into()),
                ae_title: Some("CT_FILM".into()),
                data_dir: Some("/tmp/filmd-x".into()),
                ipp: Some("ipp://127.0.0.1:631/ipp/print".into()),
                http_listen: Some("127.0.0.1:0".into()),
            },
        )
        .expect("valid");
        let s = &loaded.settings;
        assert_eq!(s.server.listen.map(|a| a.port()), Some(0));
        assert_eq!(s.queues[0].ae_titles, ["CT_FILM"]);
        assert_eq!(s.server.data_dir.root(), Path::new("/tmp/filmd-x"));
        assert_eq!(
            s.queues[0].ipp.as_ref().map(|i| i.uri.as_str()),
            Some("ipp://127.0.0.1:631/ipp/print")
        );
        assert_eq!(loaded.source, Path::new("<embedded>"));

        let Err(ConfigError::Invalid { path, issues }) = load(
            None,
            &Overrides {
                listen: Some("nowhere".into()),
                ..Overrides::default()
            },
        ) else {
            panic!("a bad --listen accepted")
        };
        assert_eq!(path, Path::new("<embedded> with command-line flags"));
        assert_eq!(issues[0].key, "server.listen");
    }

    #[test]
    fn annotation_aliases_are_checked_against_the_loaded_formats() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |aliases: &str| {
            let path = dir.path().join("filmd.toml");
            std::fs::write(
                &path,
                format!(
                    "[server]\nlayouts_dir = {:?}\n[[queue]]\nname = \"ct\"\n\
                     annotation_aliases = {aliases}\n",
                    dir.path().join("absent").display().to_string()
                ),
            )
            .unwrap();
            path
        };
        // The default layouts_dir may be absent; a configured one must exist.
        std::fs::create_dir(dir.path().join("absent")).unwrap();
        let good = write("{ ANNOTATION = \"TOP_BOTTOM\" }");
        let loaded = load(Some(&good), &Overrides::default()).expect("valid");
        let q = &loaded.settings.queues[0];
        assert_eq!(q.annotation_aliases.resolve("ANNOTATION"), "TOP_BOTTOM");
        let bad = write("{ ANNOTATION = \"NOPE\" }");
        let Err(ConfigError::Invalid { path, issues }) = load(Some(&bad), &Overrides::default())
        else {
            panic!("an alias of an unknown format accepted")
        };
        assert_eq!(path, bad);
        assert_eq!(issues[0].key, "queue[0].annotation_aliases.ANNOTATION");
        assert!(issues[0].problem.contains("\"NOPE\" is not"), "{issues:?}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let e = load(
            Some(Path::new("/nonexistent/filmd.toml")),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("/nonexistent/filmd.toml"), "{e}");
    }
}

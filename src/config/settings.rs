//! The settings the server runs with: the configuration file resolved once, after it was
//! validated. Archive directories are resolved against the data directory (other paths
//! stay as written, relative to the working directory), "" is `None`, defined terms are
//! enums and seconds are `Duration`s, so no layer parses a setting again or falls back
//! silently.

use super::file::{ColorFilms, ConfigFile, PrinterIdentity, QueueConfig};
use crate::admin::web::ConsoleSettings;
use crate::audit::AuditSettings;
use crate::data_dir::DataDir;
use crate::film::custom::CustomLayouts;
use crate::film::{
    AnnotationFormats, Device, DisplayFormat, FilmSize, FormatKind, Magnification, Medium,
};
use crate::net::access::AccessRules;
use crate::net::association::Limits;
use crate::net::server::ServerOptions;
use crate::net::tls::TlsFiles;
use crate::outputs::archive::PdfName;
use crate::spool::{RetryPolicy, SpoolConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Everything `filmd serve` needs, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub printer: PrinterIdentity,
    /// In configuration order; the first is the default queue.
    pub queues: Vec<Arc<QueueSettings>>,
    pub spool: SpoolConfig,
    /// The `CUSTOM\i` Image Display Formats (from `layouts_dir`, else embedded).
    pub custom_layouts: CustomLayouts,
    /// The Annotation Display Formats (from `layouts_dir`, else embedded).
    pub annotation_formats: AnnotationFormats,
    /// The audit trail, if `[audit] destination` is set.
    pub audit: Option<AuditSettings>,
    /// The web console, unless `[admin] http_listen = ""`.
    pub console: Option<ConsoleSettings>,
    /// Where the configuration came from: its file, or `<embedded>`.
    pub source: PathBuf,
}

/// The listener and the limits of every association.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// The plain TCP listener; `None` when only TLS is served.
    pub listen: Option<SocketAddr>,
    /// The DICOM TLS listener, if any.
    pub tls: Option<TlsSettings>,
    pub data_dir: DataDir,
    pub options: ServerOptions,
    /// Bytes of image pixel data one association may hold at once.
    pub max_association_image_bytes: usize,
    /// Admit any peer proposing only Verification, whatever the access rules say.
    pub echo_from_anyone: bool,
}

/// The TLS listener and its certificates.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub listen: SocketAddr,
    pub files: TlsFiles,
}

/// A printer queue: what it accepts, the device it composes for, and its outputs.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    pub name: String,
    /// Called AE titles that select this queue (the server's for a first queue naming
    /// none).
    pub ae_titles: Vec<String>,
    /// Who may associate with this queue (empty rules: everyone).
    pub access: AccessRules,
    /// Printer Name (2110,0030): the queue's `printer_name`, else "<printer.name> <queue
    /// name>".
    pub printer_name: String,
    /// Manufacturer, Model Name, Serial Number and Software Versions the queue reports in
    /// Printer N-GET and Printer Configuration Retrieval.
    pub identity: super::QueueIdentity,
    /// Other names of Annotation Display Format IDs on this queue.
    pub annotation_aliases: super::AnnotationAliases,
    /// Resolution for Requested Resolution ID STANDARD and HIGH.
    pub dpi: u32,
    pub high_dpi: u32,
    /// Prints colour films in colour.
    pub color: bool,
    pub color_films: ColorFilms,
    pub film_sizes: Vec<FilmSize>,
    pub default_film_size: FilmSize,
    pub medium_types: Vec<Medium>,
    pub default_medium_type: Medium,
    pub display_formats: Vec<FormatKind>,
    pub default_magnification: Magnification,
    /// Density range of the device and defaults, hundredths of OD.
    pub min_density: u16,
    pub max_density: u16,
    pub default_min_density: u16,
    pub default_max_density: u16,
    pub margin_mm: f64,
    pub gap_mm: f64,
    pub characteristic_curve: Vec<[f64; 2]>,
    /// The PDF archive, if the queue keeps one.
    pub archive: Option<ArchiveSettings>,
    /// The IPP printer, if the queue has one.
    pub ipp: Option<IppSettings>,
    /// The PACS destinations every job is stored in, and how.
    pub pacs: Option<super::PacsSettings>,
    /// Unfinished jobs the queue holds before N-ACTIONs are refused.
    pub max_jobs: usize,
}

/// Where a queue's PDFs go and under which name.
#[derive(Debug, Clone)]
pub struct ArchiveSettings {
    pub dir: PathBuf,
    pub name: PdfName,
}

/// A queue's IPP printer.
#[derive(Debug, Clone)]
pub struct IppSettings {
    pub uri: String,
    /// PEM file of the CA of an `ipps://` printer; `None`: the system roots.
    pub ca_file: Option<PathBuf>,
    /// Between two Get-Printer-Attributes polls.
    pub poll_interval: Duration,
}

impl QueueSettings {
    /// Whether this queue accepts films of `format`'s kind.
    pub fn accepts_display_format(&self, format: &DisplayFormat) -> bool {
        self.display_formats.contains(&format.kind())
    }

    /// Whether this queue accepts colour film sessions (printing them in colour, or in
    /// gray when configured to convert).
    pub fn accepts_color(&self) -> bool {
        self.color || self.color_films == ColorFilms::Convert
    }

    /// The output device of this queue at STANDARD or HIGH resolution (Requested
    /// Resolution ID, PS3.3 C.13.3).
    pub fn device(&self, high: bool) -> Device {
        Device {
            dpi: if high { self.high_dpi } else { self.dpi },
            min_density: self.min_density,
            max_density: self.max_density,
            margin_mm: self.margin_mm,
            gap_mm: self.gap_mm,
            gray_only: !self.color,
            curve: self.characteristic_curve.clone(),
        }
    }
}

impl Settings {
    /// Resolves a validated configuration file together with the files beside it.
    /// Public for the configuration fuzz target (fuzz/fuzz_targets/config.rs); the
    /// server reaches it through [`crate::config::load`].
    pub fn resolve(
        file: &ConfigFile,
        source: &Path,
        custom_layouts: CustomLayouts,
        annotation_formats: AnnotationFormats,
    ) -> Settings {
        let data_dir = DataDir::new(&file.server.data_dir);
        let queues: Vec<Arc<QueueSettings>> = file
            .queues
            .iter()
            .enumerate()
            .map(|(i, q)| Arc::new(resolve_queue(file, i, q, &data_dir)))
            .collect();
        Settings {
            server: resolve_server(file, data_dir),
            printer: file.printer.clone(),
            spool: resolve_spool(file, &queues),
            queues,
            custom_layouts,
            annotation_formats,
            audit: file.audit.resolve(&file.server.ae_title),
            console: file.admin.resolve(),
            source: source.to_path_buf(),
        }
    }

    /// The queue named `name`.
    pub fn queue(&self, name: &str) -> Option<&Arc<QueueSettings>> {
        self.queues.iter().find(|q| q.name == name)
    }
}

fn resolve_server(file: &ConfigFile, data_dir: DataDir) -> ServerSettings {
    let s = &file.server;
    ServerSettings {
        // Validated: an ADDRESS:PORT or "".
        listen: s.listen.parse().ok(),
        tls: file.tls.listen.parse().ok().map(|listen| TlsSettings {
            listen,
            files: file.tls.files(),
        }),
        data_dir,
        options: ServerOptions {
            max_associations: s.max_associations,
            max_associations_per_host: s.max_associations_per_host,
            max_pending: s.max_pending,
            limits: Limits {
                max_pdu: s.max_pdu,
                pdu_cap: s.pdu_cap,
                max_message: s.max_message_mib as usize * (1 << 20),
                association_timeout: Duration::from_secs(s.association_timeout_secs),
                idle_timeout: Duration::from_secs(s.idle_timeout_secs),
            },
            shutdown_grace: Duration::from_secs(s.shutdown_grace_secs),
        },
        max_association_image_bytes: s.max_association_image_mib as usize * (1 << 20),
        echo_from_anyone: s.echo_from_anyone,
    }
}

fn resolve_spool(file: &ConfigFile, queues: &[Arc<QueueSettings>]) -> SpoolConfig {
    let sp = &file.spool;
    SpoolConfig {
        workers: if sp.compose_workers == 0 {
            SpoolConfig::default().workers
        } else {
            sp.compose_workers
        },
        min_free_mib: sp.min_free_mib,
        retention: Duration::from_secs(sp.retention_hours.saturating_mul(3600)),
        queue_limits: queues
            .iter()
            .map(|q| (q.name.clone(), q.max_jobs))
            .collect(),
        // Backoff between tries at an unreachable printer; when the printer poller sees
        // it back, waiting films go at once (outputs::board::follow_recoveries).
        retry: RetryPolicy {
            max_backoff: Duration::from_secs(60),
            ..RetryPolicy::default()
        },
        ..SpoolConfig::default()
    }
}

fn resolve_queue(
    file: &ConfigFile,
    i: usize,
    q: &QueueConfig,
    data_dir: &DataDir,
) -> QueueSettings {
    let film_sizes = q.accepted_film_sizes();
    let medium_types = q.accepted_media();
    // Validated: each default is among the accepted values; the fallbacks are never used.
    let default_film_size = film_sizes
        .iter()
        .copied()
        .find(|s| s.id == q.default_film_size)
        .unwrap_or(film_sizes[0]);
    let default_medium_type = medium_types
        .iter()
        .copied()
        .find(|m| m.term() == q.default_medium_type)
        .unwrap_or(medium_types[0]);
    let display_formats = if q.display_formats.is_empty() {
        FormatKind::ALL.to_vec()
    } else {
        q.display_formats
            .iter()
            .filter_map(|k| FormatKind::from_term(k))
            .collect()
    };
    let archive = (!q.pdf_dir.as_os_str().is_empty()).then(|| ArchiveSettings {
        dir: data_dir.resolve(&q.pdf_dir),
        name: PdfName::parse(&q.pdf_name).unwrap_or_default(),
    });
    let ipp = (!q.ipp.is_empty()).then(|| IppSettings {
        uri: q.ipp.clone(),
        ca_file: (!q.ipp_ca_file.as_os_str().is_empty()).then(|| q.ipp_ca_file.clone()),
        poll_interval: Duration::from_secs(q.ipp_poll_secs),
    });
    QueueSettings {
        name: q.name.clone(),
        ae_titles: file.queue_ae_titles(i),
        // Validated: every rule parses.
        access: q.access_rules().unwrap_or_default(),
        printer_name: super::interop::printer_name(&file.printer, q),
        identity: super::interop::resolve(&file.printer, q),
        annotation_aliases: super::AnnotationAliases::new(&q.annotation_aliases),
        dpi: q.dpi,
        high_dpi: q.high_dpi,
        color: q.color,
        color_films: q.color_films,
        film_sizes,
        default_film_size,
        medium_types,
        default_medium_type,
        display_formats,
        default_magnification: Magnification::from_term(&q.default_magnification)
            .unwrap_or(Magnification::Cubic),
        min_density: q.min_density,
        max_density: q.max_density,
        default_min_density: q.default_min_density,
        default_max_density: q.default_max_density,
        margin_mm: q.margin_mm,
        gap_mm: q.gap_mm,
        characteristic_curve: q.characteristic_curve.clone(),
        archive,
        ipp,
        pacs: super::pacs::resolve(
            q,
            &file.tls,
            file.queue_ae_titles(i)
                .first()
                .unwrap_or(&file.server.ae_title),
        ),
        max_jobs: q.max_jobs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Settings {
        let file = ConfigFile::parse(text, Path::new("t.toml")).expect("valid");
        Settings::resolve(
            &file,
            Path::new("t.toml"),
            CustomLayouts::embedded(),
            AnnotationFormats::embedded().clone(),
        )
    }

    #[test]
    fn the_embedded_default_resolved() {
        let s = resolve(super::super::DEFAULT_CONFIG);
        assert_eq!(s.server.listen, Some("0.0.0.0:11112".parse().unwrap()));
        assert_eq!(s.server.data_dir.root(), Path::new("./filmd-data"));
        assert_eq!(
            s.server.options.limits.association_timeout,
            Duration::from_secs(10)
        );
        assert!(s.server.tls.is_none());
        assert_eq!(
            (
                s.server.options.max_pending,
                s.server.options.max_associations_per_host
            ),
            (64, 16)
        );
        let q = &s.queues[0];
        assert_eq!(q.ae_titles, ["FILMD"]);
        assert_eq!(q.printer_name, "filmd default");
        assert_eq!(q.default_film_size.id, "14INX17IN");
        assert_eq!(q.default_medium_type, Medium::BlueFilm);
        assert_eq!(q.default_magnification, Magnification::Cubic);
        assert_eq!(q.film_sizes.len(), 12);
        assert_eq!(q.medium_types.len(), 5);
        assert_eq!(q.display_formats, FormatKind::ALL);
        let archive = q.archive.as_ref().expect("an archive");
        assert_eq!(archive.dir, Path::new("./filmd-data/pdf"));
        assert!(q.ipp.is_none());
        assert_eq!(s.spool.retention, Duration::from_secs(168 * 3600));
    }

    #[test]
    fn empty_strings_are_none_and_terms_are_parsed_once() {
        let s = resolve(
            "[[queue]]\nname = \"p\"\npdf_dir = \"\"\nipp = \"ipp://127.0.0.1:631/ipp/print\"\n\
             ipp_poll_secs = 3\ndisplay_formats = [\"STANDARD\", \"SLIDE\"]\n\
             medium_types = [\"PAPER\"]\ndefault_medium_type = \"PAPER\"\n\
             default_magnification = \"REPLICATE\"\n",
        );
        let q = &s.queues[0];
        assert!(q.archive.is_none());
        let ipp = q.ipp.as_ref().expect("a printer");
        assert_eq!(ipp.poll_interval, Duration::from_secs(3));
        assert!(ipp.ca_file.is_none());
        assert_eq!(q.display_formats, [FormatKind::Standard, FormatKind::Slide]);
        assert_eq!(
            (q.medium_types.as_slice(), q.default_medium_type),
            (&[Medium::Paper][..], Medium::Paper)
        );
        assert_eq!(q.default_magnification, Magnification::Replicate);
        let parse = |s| DisplayFormat::parse(s, &CustomLayouts::embedded()).unwrap();
        assert!(q.accepts_display_format(&parse("STANDARD\\2,2")));
        assert!(!q.accepts_display_format(&parse("ROW\\1,2")));
    }

    #[test]
    fn access_rules_resolve_per_queue_and_echo_from_anyone_per_server() {
        let s = resolve(
            "[server]\necho_from_anyone = true\n[[queue]]\nname = \"a\"\n\
             allow_calling = [\"CT*\"]\nallow_from = [\"::ffff:10.0.0.0/104\"]\n\
             [[queue]]\nname = \"b\"\nae_titles = [\"B\"]\n",
        );
        assert!(s.server.echo_from_anyone);
        let a = &s.queues[0].access;
        assert_eq!(a.allow_calling[0].to_string(), "CT*");
        assert_eq!(a.allow_from[0].to_string(), "10.0.0.0/8");
        assert!(s.queues[1].access.allows_everyone());
        assert!(
            !resolve(super::super::DEFAULT_CONFIG)
                .server
                .echo_from_anyone
        );
    }

    #[test]
    fn characteristic_curves_and_color_conversion_reach_the_device() {
        let s = resolve(
            "[[queue]]\nname = \"g\"\ncolor = false\ncolor_films = \"convert\"\n\
             characteristic_curve = [[0.0, 250], [1.5, 120.5], [3.0, 4]]\n",
        );
        let q = &s.queues[0];
        assert!(q.accepts_color());
        let d = q.device(true);
        assert!(d.gray_only);
        assert_eq!(d.dpi, 600);
        assert_eq!(d.curve, vec![[0.0, 250.0], [1.5, 120.5], [3.0, 4.0]]);
        let refuse = resolve("[[queue]]\nname = \"g\"\ncolor = false\n");
        assert!(!refuse.queues[0].accepts_color());
    }
}

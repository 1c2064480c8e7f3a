//! `filmd print`: DICOM image files printed as films on any Print SCP (PS3.4 Annex H),
//! as a modality prints them. Each frame takes one image box, in order; when the images
//! outnumber the display format's boxes, the job takes several films, one film box each,
//! in one film session.
//!
//! [`plan`] is pure (destination, films, request data sets), [`report`] words statuses
//! as dcmprscu logs them, and [`run`] holds the association: negotiation, Printer N-GET,
//! film session, film boxes, image and annotation boxes, N-ACTION, the Print Job's
//! N-EVENT-REPORTs (PS3.4 H.4.8.1.1), N-DELETE, release.

pub mod plan;
pub mod report;
pub mod run;

#[cfg(test)]
mod tests;

pub use plan::{Destination, Given, plan_films};
pub use report::{status_line, status_meaning};

use crate::modality::ImageOptions;
use crate::render::FilmOptions;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// The arguments of `filmd print`, as clap parses them (see [`PrintRequest`], which also
/// knows which of them the user gave).
#[derive(Debug, Clone, clap::Args)]
pub struct PrintArgs {
    /// DICOM image files, in box order (each frame of a multi-frame file takes a box).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The Print SCP: Called AE Title, host and port, e.g. PRINTSCP@10.0.0.5:104.
    #[arg(long, value_parser = Destination::parse)]
    pub to: Destination,
    /// Our Calling AE Title (1 to 16 characters, no backslash).
    #[arg(long, default_value = "FILMD_SCU", value_parser = plan::ae_title)]
    pub calling_ae: String,
    #[command(flatten)]
    pub film: FilmOptions,
    #[command(flatten)]
    pub image: ImageOptions,
    /// Number of Copies (film session).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=99))]
    pub copies: Option<u32>,
    /// Print Priority (film session).
    #[arg(long, value_parser = ["HIGH", "MED", "LOW"])]
    pub priority: Option<String>,
    /// Film Session Label.
    #[arg(long)]
    pub label: Option<String>,
    /// Print on the Basic Color Print Management Meta SOP Class (gray images go as RGB).
    /// A colour image makes a colour film without it.
    #[arg(long)]
    pub color: bool,
    /// Print the whole session once (N-ACTION on the Film Session) instead of each film box.
    #[arg(long)]
    pub session_print: bool,
    /// Skip the Printer N-GET (its status, info and name) before printing.
    #[arg(long)]
    pub no_printer_status: bool,
    /// Seconds for the TCP connect, each DIMSE response, and the Print Job events.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// DICOM TLS (PS3.15 B.9, BCP 195), the server's certificate checked against --ca-file.
    #[arg(long, requires = "ca_file")]
    pub tls: bool,
    /// PEM file of the CAs the SCP's certificate is verified against.
    #[arg(long, requires = "tls")]
    pub ca_file: Option<PathBuf>,
    /// PEM file of our client certificate (with --key), for SCPs that ask for one.
    #[arg(long, requires_all = ["tls", "key"])]
    pub cert: Option<PathBuf>,
    /// PEM file of the client certificate's private key.
    #[arg(long, requires_all = ["tls", "cert"])]
    pub key: Option<PathBuf>,
}

/// `filmd print`'s arguments and which of them were given on the command line: only
/// those are sent, so the SCP's defaults apply to the rest (clap's defaults of
/// [`FilmOptions`] are `filmd render`'s, not the printer's).
#[derive(Debug, Clone)]
pub struct PrintRequest {
    pub args: PrintArgs,
    pub given: Given,
}

impl clap::FromArgMatches for PrintRequest {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let args = PrintArgs::from_arg_matches(matches)?;
        let given = matches
            .ids()
            .filter(|id| {
                matches.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine)
            })
            .map(|id| id.as_str().to_string())
            .collect();
        Ok(PrintRequest { args, given })
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for PrintRequest {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        hide_render_defaults(PrintArgs::augment_args(cmd))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        hide_render_defaults(PrintArgs::augment_args_for_update(cmd))
    }
}

/// The film options whose clap defaults are `filmd render`'s: `filmd print` sends them
/// only when given, so its help must not claim a default (the printer's applies).
const NOT_SENT_UNLESS_GIVEN: [(&str, &str); 5] = [
    ("film_size", "Film Size ID, e.g. 14INX17IN"),
    ("orientation", "Film Orientation: PORTRAIT or LANDSCAPE"),
    (
        "border_density",
        "Border Density: BLACK, WHITE or hundredths of OD",
    ),
    (
        "empty_image_density",
        "Empty Image Density: BLACK, WHITE or hundredths of OD",
    ),
    ("polarity", "Polarity of every image box: NORMAL or REVERSE"),
];

/// The other film options, worded for a printer rather than a queue of `filmd render`.
const PRINTER_HELP: [(&str, &str); 5] = [
    (
        "magnification",
        "Magnification Type: REPLICATE, BILINEAR, CUBIC or NONE (default: the printer's)",
    ),
    (
        "min_density",
        "Min Density, hundredths of OD (default: the printer's)",
    ),
    (
        "max_density",
        "Max Density, hundredths of OD (default: the printer's)",
    ),
    (
        "medium",
        "Medium Type, e.g. PAPER, CLEAR FILM, BLUE FILM (default: the printer's)",
    ),
    ("trim", "Trim: a box around each image"),
];

fn hide_render_defaults(mut cmd: clap::Command) -> clap::Command {
    for (id, help) in PRINTER_HELP {
        cmd = cmd.mut_arg(id, |a| a.help(help));
    }
    for (id, help) in NOT_SENT_UNLESS_GIVEN {
        cmd = cmd.mut_arg(id, |a| {
            a.hide_default_value(true).help(format!(
                "{help} (sent only when given: else the printer's default)"
            ))
        });
    }
    cmd
}

/// Why `filmd print` did not print every film.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrintError {
    /// A file or an option is unusable: nothing was sent.
    #[error("{0}")]
    Input(String),
    /// No association: the TCP connection, the TLS handshake or the negotiation failed.
    #[error("{destination}: {reason}")]
    Unreachable { destination: String, reason: String },
    /// The SCP refused or failed a request, or the association broke: `printed` of
    /// `films` films printed.
    #[error("{printed} of {films} film(s) printed: {reason}")]
    NotPrinted {
        films: usize,
        printed: usize,
        reason: String,
    },
}

/// What a print did, when every film printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Printed {
    pub films: usize,
    /// Warning statuses among the responses (reported, and the films still printed).
    pub warnings: usize,
}

/// Loads the files, prints them, and writes the report to `out` line by line.
pub fn print_files(request: &PrintRequest, out: &mut dyn Write) -> Result<Printed, PrintError> {
    let args = &request.args;
    if !args.film.annotations.is_empty() && args.film.annotation_format.is_none() {
        return Err(PrintError::Input(
            "annotation texts need --annotation-format".into(),
        ));
    }
    let mut images = Vec::new();
    let mut budget = crate::modality::ImageBudget::default();
    for path in &args.files {
        let loaded = crate::modality::load_file_within(path, &args.image, &mut budget)
            .map_err(|e| PrintError::Input(format!("{}: {e}", path.display())))?;
        images.extend(loaded);
    }
    if images.is_empty() {
        return Err(PrintError::Input("the files hold no images".into()));
    }
    let tls = match (&args.tls, &args.ca_file) {
        (true, Some(ca)) => {
            let files = crate::net::tls::ClientTlsFiles {
                ca: ca.clone(),
                identity: args.cert.clone().zip(args.key.clone()),
            };
            let config = crate::net::tls::client_config(&files)
                .map_err(|e| PrintError::Input(format!("TLS: {e}")))?;
            Some(super::ScuTls {
                config,
                server_name: args.to.host.clone(),
            })
        }
        _ => None,
    };
    let job = run::Job {
        images,
        color: args.color,
        timeout: Duration::from_secs(args.timeout),
        tls,
    };
    run::print(request, job, out)
}

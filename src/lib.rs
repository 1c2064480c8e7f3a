//! filmd: a DICOM Print SCP and film spooler.
//!
//! The modules follow a film from the socket to paper:
//! [`net`] (associations, DIMSE) → [`print`] (Print Management service, PS3.4 Annex H)
//! → [`film`] (film model and composition, pure) → [`spool`] (durable jobs)
//! → [`outputs`] (PDF archive, IPP printer) → [`backend`] (encoders and protocol clients).
//! [`config`] parses the configuration once into settings, [`app`] wires a server from
//! them, [`admin`] is the operator's side, [`data_dir`] and [`time`] are the one home of
//! the data directory's layout and of the calendar, [`xml`] of XML escaping, [`metrics`]
//! of the Prometheus counters every layer updates. [`scu`] is
//! the other side of the wire: filmd's own Print SCU, used by the load generator and the
//! tests.

pub mod admin;
pub mod app;
pub mod audit;
pub mod backend;
pub mod config;
pub mod conformance;
pub mod data_dir;
pub mod film;
pub mod metrics;
pub mod modality;
pub mod net;
pub mod os;
pub mod outputs;
pub mod print;
pub mod render;
pub mod scu;
pub mod spool;
pub mod time;
pub mod xml;

/// An error and its sources, "a: b: c", each cause once: the outer messages of reqwest
/// ("error sending request") and dicom-ul ("failed to handshake TLS connection") do not
/// say why.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = cause.source();
    }
    s
}

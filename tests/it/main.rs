//! filmd's end-to-end tests, one module per area, in one test binary (as ripgrep's
//! `tests/tests.rs`): the crate is linked once, not once per file.

mod common;

mod access;
mod admin;
mod annotation;
mod audit;
mod bad_input;
mod browser;
mod cli;
mod console;
mod dcmtk;
mod dimse_client;
mod durability;
mod flood;
mod golden;
mod gsdf_table;
mod interop;
mod ipp_backend;
mod ipp_delivery;
mod ipp_recovery;
mod layouts;
mod loadgen;
mod modality;
mod pacs;
mod pacs_peers;
mod pacs_tls;
mod pdfa;
mod print_command;
mod print_scu;
mod pwg_ippeveprinter;
mod pynetdicom;
mod tls;

fn main() -> std::process::ExitCode {
    common::harness::run(
        [
            access::tests(),
            admin::tests(),
            audit::tests(),
            annotation::tests(),
            bad_input::tests(),
            browser::tests(),
            cli::tests(),
            console::tests(),
            dcmtk::tests(),
            dimse_client::tests(),
            durability::tests(),
            flood::tests(),
            golden::tests(),
            gsdf_table::tests(),
            interop::tests(),
            ipp_backend::tests(),
            ipp_delivery::tests(),
            ipp_recovery::tests(),
            layouts::tests(),
            loadgen::tests(),
            modality::tests(),
            pacs::tests(),
            pacs_peers::tests(),
            pacs_tls::tests(),
            pdfa::tests(),
            print_command::tests(),
            print_scu::tests(),
            pwg_ippeveprinter::tests(),
            pynetdicom::tests(),
            tls::tests(),
        ]
        .into_iter()
        .flatten()
        .collect(),
    )
}

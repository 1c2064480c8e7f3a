//! filmd's end-to-end tests, one module per area, in one test binary (as ripgrep's
//! `tests/tests.rs`): the crate is linked once, not once per file.

mod common;

mod admin;
mod annotation;
mod bad_input;
mod cli;
mod dcmtk;
mod durability;
mod golden;
mod gsdf_table;
mod ipp_backend;
mod ipp_delivery;
mod ipp_recovery;
mod layouts;
mod loadgen;
mod pdfa;
mod print_scu;
mod pwg_ippeveprinter;
mod pynetdicom;

//! Stored values to a print-ready [crate::film::Image] (PS3.4 N.2): pure.

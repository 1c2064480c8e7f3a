//! VOI LUT (PS3.3 C.11.2): windows with LINEAR, LINEAR_EXACT and SIGMOID, and VOI LUT tables.

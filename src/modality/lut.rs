//! Modality LUT (PS3.3 C.11.1) and LUT lookups shared by the VOI and palette steps.

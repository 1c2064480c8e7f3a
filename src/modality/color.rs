//! Colour spaces and layouts: planar to interleaved, YBR_FULL and YBR_FULL_422 to RGB, palettes (PS3.3 C.7.6.3.1).

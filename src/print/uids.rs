//! SOP class and well-known instance UIDs of Print Management (PS3.4 Annex H, PS3.6 Annex A).

pub const BASIC_FILM_SESSION: &str = "1.2.840.10008.5.1.1.1";
pub const BASIC_FILM_BOX: &str = "1.2.840.10008.5.1.1.2";
pub const BASIC_GRAYSCALE_IMAGE_BOX: &str = "1.2.840.10008.5.1.1.4";
pub const BASIC_COLOR_IMAGE_BOX: &str = "1.2.840.10008.5.1.1.4.1";
pub const BASIC_GRAYSCALE_PRINT_MANAGEMENT_META: &str = "1.2.840.10008.5.1.1.9";
pub const PRINT_JOB: &str = "1.2.840.10008.5.1.1.14";
pub const BASIC_ANNOTATION_BOX: &str = "1.2.840.10008.5.1.1.15";
pub const PRINTER: &str = "1.2.840.10008.5.1.1.16";
pub const PRINTER_CONFIGURATION_RETRIEVAL: &str = "1.2.840.10008.5.1.1.16.376";
pub const PRINTER_INSTANCE: &str = "1.2.840.10008.5.1.1.17";
pub const PRINTER_CONFIGURATION_RETRIEVAL_INSTANCE: &str = "1.2.840.10008.5.1.1.17.376";
pub const BASIC_COLOR_PRINT_MANAGEMENT_META: &str = "1.2.840.10008.5.1.1.18";
pub const PRESENTATION_LUT: &str = "1.2.840.10008.5.1.1.23";

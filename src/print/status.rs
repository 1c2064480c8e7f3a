//! Print Management status codes (PS3.4 Annex H, H.4 tables), named with the standard's
//! wording. General DIMSE codes are re-exported from `net::status`.

pub use crate::net::status::*;

/// Warning: Memory allocation not supported.
pub const MEMORY_ALLOCATION_NOT_SUPPORTED: u16 = 0xB600;
/// Warning: Film session printing (collation) is not supported.
pub const FILM_SESSION_PRINTING_NOT_SUPPORTED: u16 = 0xB601;
/// Warning: Film Session SOP Instance hierarchy does not contain Image Box SOP Instances
/// (empty page).
pub const FILM_SESSION_EMPTY_PAGE: u16 = 0xB602;
/// Warning: Film Box SOP Instance hierarchy does not contain Image Box SOP Instances
/// (empty page).
pub const FILM_BOX_EMPTY_PAGE: u16 = 0xB603;
/// Warning: Image size is larger than image box size, the image has been demagnified.
pub const IMAGE_DEMAGNIFIED: u16 = 0xB604;
/// Warning: Requested Min Density or Max Density outside of printer's operating range.
/// The printer will use its respective minimum or maximum density value instead.
pub const DENSITY_OUT_OF_RANGE: u16 = 0xB605;
/// Warning: Image size is larger than the Image Box size. The Image has been cropped to fit.
pub const IMAGE_CROPPED: u16 = 0xB609;
/// Warning: Image size or Combined Print Image size is larger than the Image Box size.
/// The image or combined Print Image has been decimated to fit.
pub const IMAGE_DECIMATED: u16 = 0xB60A;
/// Failure: Film Session SOP Instance hierarchy does not contain Film Box SOP Instances.
pub const FILM_SESSION_HAS_NO_FILM_BOX: u16 = 0xC600;
/// Failure: Unable to create Print Job SOP Instance; print queue is full (Film Session).
pub const SESSION_PRINT_QUEUE_FULL: u16 = 0xC601;
/// Failure: Unable to create Print Job SOP Instance; print queue is full (Film Box).
pub const FILM_BOX_PRINT_QUEUE_FULL: u16 = 0xC602;
/// Failure: Image size is larger than image box size.
pub const IMAGE_LARGER_THAN_BOX: u16 = 0xC603;
/// Failure: Insufficient memory in printer to store the image.
pub const INSUFFICIENT_MEMORY: u16 = 0xC605;
/// Failure: Combined Print Image size is larger than the Image Box size.
pub const COMBINED_IMAGE_LARGER_THAN_BOX: u16 = 0xC613;
/// Failure: There is an existing Film Box that has not been printed and N-ACTION at the
/// Film Session level is not supported.
pub const UNPRINTED_FILM_BOX_EXISTS: u16 = 0xC616;

//! Modality LUT (PS3.3 C.11.1) and the table lookups that the Modality LUT, VOI LUT
//! (C.11.2.1.1) and Palette Color (C.7.6.3.1.5) steps share: a [`Lut`] maps an input
//! value to an entry; inputs below the first mapped value take the first entry, inputs
//! above the last mapped value take the last (PS3.3 C.11.1.1.1).

use super::{Lut, ModalityError, ModalityLut};

impl Lut {
    /// Checks what a table read from a file must hold before it is indexed: at least
    /// one entry, and 8 to 16 bits per entry (the LUT Descriptor's third value).
    /// `name` is the attribute the message names, e.g. "Modality LUT Sequence".
    pub fn validate(&self, name: &str) -> Result<(), ModalityError> {
        if self.data.is_empty() {
            return Err(ModalityError::Invalid(format!(
                "{name}: LUT Data has no entries"
            )));
        }
        if !(8..=16).contains(&self.bits) {
            return Err(ModalityError::Invalid(format!(
                "{name}: LUT Descriptor gives {} bits per entry; use 8 to 16",
                self.bits
            )));
        }
        Ok(())
    }

    /// The entry for input `x`: clamped to the first entry below `first_mapped` and to
    /// the last entry above the last mapped value (PS3.3 C.11.1.1.1, C.11.2.1.1). A
    /// non-integer input (a rescaled value) uses the entry of the value below it, as
    /// pydicom's `apply_voi` does. The entry is clamped to the table's bits.
    pub fn lookup(&self, x: f64) -> u16 {
        let last = self.data.len().saturating_sub(1);
        let offset = (x - f64::from(self.first_mapped)).floor();
        let index = if offset.is_nan() || offset <= 0.0 {
            0
        } else if offset >= last as f64 {
            last
        } else {
            offset as usize
        };
        let entry = self.data.get(index).copied().unwrap_or(0);
        entry.min(self.max_entry())
    }

    /// Largest value an entry of `bits` bits can hold.
    pub fn max_entry(&self) -> u16 {
        max_value(u32::from(self.bits.clamp(1, 16))) as u16
    }
}

/// Largest unsigned value of `bits` bits (1 to 32).
pub fn max_value(bits: u32) -> u32 {
    if bits >= 32 {
        u32::MAX
    } else {
        (1u32 << bits) - 1
    }
}

/// Rescales `value` (0..=2^from_bits-1) to 0..=2^to_bits-1, rounding to the nearest:
/// how 16-bit palette entries become 8-bit RGB and VOI LUT entries become 12-bit
/// P-values. Values above the input range are clamped.
pub fn rescale_bits(value: u32, from_bits: u32, to_bits: u32) -> u32 {
    let from_max = u64::from(max_value(from_bits));
    let to_max = u64::from(max_value(to_bits));
    if from_max == to_max {
        return value;
    }
    let value = u64::from(value).min(from_max);
    ((value * to_max + from_max / 2) / from_max) as u32
}

impl ModalityLut {
    /// True when the Modality LUT changes nothing (slope 1, intercept 0).
    pub fn is_identity(&self) -> bool {
        *self == ModalityLut::IDENTITY
    }

    /// Checks a file's Modality LUT before use: a finite slope and intercept, or a
    /// valid table.
    pub fn validate(&self) -> Result<(), ModalityError> {
        match self {
            ModalityLut::Rescale { slope, intercept } => {
                if !slope.is_finite() || *slope == 0.0 {
                    return Err(ModalityError::Invalid(format!(
                        "Rescale Slope {slope}: must be a finite number other than 0"
                    )));
                }
                if !intercept.is_finite() {
                    return Err(ModalityError::Invalid(format!(
                        "Rescale Intercept {intercept}: must be a finite number"
                    )));
                }
                Ok(())
            }
            ModalityLut::Table(lut) => lut.validate("Modality LUT Sequence"),
        }
    }

    /// The Modality LUT's output for one stored value, in f64 as PS3.4 N.2.1.1 leaves
    /// the units (Hounsfield units for CT): `stored × slope + intercept`, or the table.
    pub fn apply(&self, stored: i32) -> f64 {
        match self {
            ModalityLut::Rescale { slope, intercept } => f64::from(stored) * slope + intercept,
            ModalityLut::Table(lut) => f64::from(lut.lookup(f64::from(stored))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(first_mapped: i32, data: Vec<u16>) -> Lut {
        Lut {
            first_mapped,
            bits: 16,
            data,
        }
    }

    #[test]
    fn modality_table_with_negative_first_mapped_clamps_below_and_above() {
        let lut = ModalityLut::Table(table(-2, vec![100, 200, 300, 400]));
        // -2 → entry 0, -1 → entry 1, 0 → 2, 1 → 3.
        assert_eq!(lut.apply(-2), 100.0);
        assert_eq!(lut.apply(-1), 200.0);
        assert_eq!(lut.apply(0), 300.0);
        assert_eq!(lut.apply(1), 400.0);
        // Below the first mapped value: the first entry; above the last: the last.
        assert_eq!(lut.apply(-3), 100.0);
        assert_eq!(lut.apply(i32::MIN), 100.0);
        assert_eq!(lut.apply(2), 400.0);
        assert_eq!(lut.apply(i32::MAX), 400.0);
    }

    #[test]
    fn lookup_of_a_fractional_input_takes_the_entry_below() {
        let lut = table(0, vec![0, 10, 20]);
        assert_eq!(lut.lookup(1.7), 10);
        assert_eq!(lut.lookup(-0.5), 0);
        assert_eq!(lut.lookup(f64::NAN), 0);
        assert_eq!(lut.lookup(1e300), 20);
    }

    #[test]
    fn entries_above_the_descriptor_bits_are_clamped() {
        let lut = Lut {
            first_mapped: 0,
            bits: 8,
            data: vec![300],
        };
        assert_eq!(lut.lookup(0.0), 255);
    }

    #[test]
    fn rescale_applies_slope_and_intercept_in_f64() {
        let lut = ModalityLut::Rescale {
            slope: 0.5,
            intercept: -1024.0,
        };
        assert_eq!(lut.apply(3), -1022.5);
        assert!(ModalityLut::IDENTITY.is_identity());
        assert!(!lut.is_identity());
    }

    #[test]
    fn empty_or_out_of_range_tables_are_invalid_and_named() {
        let empty = ModalityLut::Table(table(0, vec![]));
        let err = empty.validate().unwrap_err().to_string();
        assert!(err.contains("Modality LUT Sequence"), "{err}");
        for bits in [7u8, 17] {
            let lut = Lut {
                first_mapped: 0,
                bits,
                data: vec![1],
            };
            let err = lut.validate("VOI LUT Sequence").unwrap_err().to_string();
            assert!(
                err.contains("VOI LUT Sequence") && err.contains("bits"),
                "{err}"
            );
        }
        let slope = ModalityLut::Rescale {
            slope: f64::NAN,
            intercept: 0.0,
        };
        assert!(
            slope
                .validate()
                .unwrap_err()
                .to_string()
                .contains("Rescale Slope")
        );
    }

    #[test]
    fn rescale_bits_rounds_to_the_nearest() {
        assert_eq!(rescale_bits(65535, 16, 8), 255);
        assert_eq!(rescale_bits(0, 16, 8), 0);
        assert_eq!(rescale_bits(257 * 100, 16, 8), 100);
        assert_eq!(rescale_bits(128, 16, 8), 0); // 0.498 → 0
        assert_eq!(rescale_bits(129, 16, 8), 1); // 0.502 → 1
        assert_eq!(rescale_bits(255, 8, 12), 4095);
        assert_eq!(rescale_bits(1, 8, 12), 16); // 16.06
        assert_eq!(rescale_bits(4095, 12, 12), 4095);
        assert_eq!(rescale_bits(70000, 16, 8), 255);
    }
}

//! The VOI LUT functions of PS3.3 C.11.2.1.2 (LINEAR) and C.11.2.1.3 (LINEAR_EXACT,
//! SIGMOID), written as the standard writes them, onto the print-ready 12-bit range
//! 0..=[`P_MAX`] (y_min 0, y_max 4095).

use super::{ModalityError, VoiFunction, Window};

/// Bits of the print-ready P-values the VOI step produces (a 12-bit MONOCHROME image
/// box, as the Basic Grayscale Image Box takes, PS3.3 C.13.5).
pub const P_BITS: u8 = 12;
/// Largest P-value: y_max of the VOI functions.
pub const P_MAX: u16 = 4095;

/// Checks a window against its function's rule: LINEAR needs a width of at least 1
/// (C.11.2.1.2.1), LINEAR_EXACT and SIGMOID a width above 0 (C.11.2.1.3). The message
/// names the attribute; the caller decides whether it is the file's or an option.
pub fn check_window(function: VoiFunction, window: Window) -> Result<(), String> {
    let Window { center, width } = window;
    if !center.is_finite() || !width.is_finite() {
        return Err(format!(
            "Window Center/Width {center}/{width}: must be numbers"
        ));
    }
    match function {
        VoiFunction::Linear if width < 1.0 => Err(format!(
            "Window Width {width}: LINEAR needs a width of 1 or more (PS3.3 C.11.2.1.2.1)"
        )),
        VoiFunction::LinearExact | VoiFunction::Sigmoid if width <= 0.0 => Err(format!(
            "Window Width {width}: {function:?} needs a width above 0 (PS3.3 C.11.2.1.3)"
        )),
        _ => Ok(()),
    }
}

/// LINEAR, PS3.3 C.11.2.1.2.1, with y_min 0 and y_max `y_max`:
/// x ≤ c − 0.5 − (w−1)/2 → y_min; x > c − 0.5 + (w−1)/2 → y_max;
/// else ((x − (c − 0.5)) / (w−1) + 0.5) × (y_max − y_min) + y_min.
/// A width of 1 is a threshold at c − 0.5 (the middle branch is empty).
/// That is LINEAR_EXACT of the window (c − 0.5, w − 1), boundaries included.
pub fn linear(x: f64, window: Window, y_max: f64) -> f64 {
    let shifted = Window {
        center: window.center - 0.5,
        width: window.width - 1.0,
    };
    linear_exact(x, shifted, y_max)
}

/// LINEAR_EXACT, PS3.3 C.11.2.1.3.2: x ≤ c − w/2 → y_min; x > c + w/2 → y_max;
/// else ((x − c) / w + 0.5) × (y_max − y_min) + y_min.
pub fn linear_exact(x: f64, window: Window, y_max: f64) -> f64 {
    let Window {
        center: c,
        width: w,
    } = window;
    if x <= c - w / 2.0 {
        0.0
    } else if x > c + w / 2.0 {
        y_max
    } else {
        ((x - c) / w + 0.5) * y_max
    }
}

/// SIGMOID, PS3.3 C.11.2.1.3.1: y = (y_max − y_min) / (1 + exp(−4 (x − c) / w)) + y_min.
pub fn sigmoid(x: f64, window: Window, y_max: f64) -> f64 {
    y_max / (1.0 + (-4.0 * (x - window.center) / window.width).exp())
}

/// A window's P-value for modality value `x`: the function onto 0..=4095, rounded to
/// the nearest integer (half up).
pub fn p_value(function: VoiFunction, window: Window, x: f64) -> u16 {
    let y_max = f64::from(P_MAX);
    let y = match function {
        VoiFunction::Linear => linear(x, window, y_max),
        VoiFunction::LinearExact => linear_exact(x, window, y_max),
        VoiFunction::Sigmoid => sigmoid(x, window, y_max),
    };
    round_p(y)
}

/// Rounds a P-value half up and clamps it to 0..=4095 (NaN becomes 0).
pub fn round_p(y: f64) -> u16 {
    let y = (y + 0.5).floor();
    if y.is_nan() || y <= 0.0 {
        0
    } else if y >= f64::from(P_MAX) {
        P_MAX
    } else {
        y as u16
    }
}

/// The window used when an image has none (PS3.4 N.2.1.1 leaves it to the
/// application): the frame's modality values from `min` to `max` spread over the whole
/// P-value range, as LINEAR_EXACT with c = (min+max)/2, w = max−min. `None` for a flat
/// frame (every P-value then 0).
pub fn min_max_window(min: f64, max: f64) -> Option<Window> {
    (max > min).then(|| Window {
        center: (min + max) / 2.0,
        width: max - min,
    })
}

/// Converts a file's window check into the file's error.
pub fn check_file_window(function: VoiFunction, window: Window) -> Result<(), ModalityError> {
    check_window(function, window).map_err(ModalityError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: f64 = 4095.0;

    fn w(center: f64, width: f64) -> Window {
        Window { center, width }
    }

    #[test]
    fn linear_end_points_and_centre_follow_c_11_2_1_2() {
        let win = w(40.0, 400.0);
        // Lower edge: c - 0.5 - (w-1)/2 = 40 - 0.5 - 199.5 = -160.
        assert_eq!(linear(-160.0, win, MAX), 0.0);
        assert_eq!(linear(-1000.0, win, MAX), 0.0);
        assert!(linear(-159.0, win, MAX) > 0.0);
        // Upper edge: c - 0.5 + (w-1)/2 = 239; 239 itself is in the ramp, at y_max.
        assert_eq!(linear(239.0, win, MAX), MAX);
        assert_eq!(linear(239.001, win, MAX), MAX);
        assert!(linear(238.0, win, MAX) < MAX);
        // Centre c - 0.5 is exactly half way.
        assert_eq!(linear(39.5, win, MAX), MAX / 2.0);
        // One step above the lower edge: (1/399) of the range.
        let y = linear(-159.0, win, MAX);
        assert!((y - MAX / 399.0).abs() < 1e-9, "{y}");
    }

    #[test]
    fn linear_width_one_is_a_threshold_at_c_minus_half() {
        let win = w(100.0, 1.0);
        assert_eq!(linear(99.5, win, MAX), 0.0);
        assert_eq!(linear(99.0, win, MAX), 0.0);
        assert_eq!(linear(99.5001, win, MAX), MAX);
        assert_eq!(linear(100.0, win, MAX), MAX);
        assert_eq!(p_value(VoiFunction::Linear, win, 99.0), 0);
        assert_eq!(p_value(VoiFunction::Linear, win, 100.0), P_MAX);
    }

    #[test]
    fn linear_exact_end_points_and_centre_follow_c_11_2_1_3_2() {
        let win = w(40.0, 400.0);
        assert_eq!(linear_exact(-160.0, win, MAX), 0.0); // c - w/2
        assert!(linear_exact(-159.9, win, MAX) > 0.0);
        assert_eq!(linear_exact(240.0, win, MAX), MAX); // c + w/2 is in the ramp, at y_max
        assert_eq!(linear_exact(240.1, win, MAX), MAX);
        assert_eq!(linear_exact(40.0, win, MAX), MAX / 2.0);
        assert_eq!(linear_exact(140.0, win, MAX), MAX * 0.75);
    }

    #[test]
    fn sigmoid_is_half_at_the_centre_and_follows_c_11_2_1_3_1() {
        let win = w(40.0, 400.0);
        assert_eq!(sigmoid(40.0, win, MAX), MAX / 2.0);
        // At c + w/2: 4095 / (1 + e^-2).
        let y = sigmoid(240.0, win, MAX);
        assert!((y - MAX / (1.0 + (-2.0f64).exp())).abs() < 1e-9, "{y}");
        assert!(sigmoid(-1e6, win, MAX) < 1e-6);
        assert!((sigmoid(1e6, win, MAX) - MAX).abs() < 1e-6);
        assert_eq!(p_value(VoiFunction::Sigmoid, win, 40.0), 2048); // 2047.5 half up
    }

    #[test]
    fn ct_window_400_40_on_hounsfield_units() {
        // Stored 0 with intercept -1024 is air (-1024 HU): black; bone (1000 HU): white.
        let win = w(40.0, 400.0);
        assert_eq!(p_value(VoiFunction::Linear, win, -1024.0), 0);
        assert_eq!(p_value(VoiFunction::Linear, win, 1000.0), P_MAX);
        // Water (0 HU): ((0 - 39.5) / 399 + 0.5) * 4095 = 1642.09...
        assert_eq!(p_value(VoiFunction::Linear, win, 0.0), 1642);
        assert_eq!(p_value(VoiFunction::Linear, win, 39.5), 2048);
    }

    #[test]
    fn width_rules_per_function() {
        assert!(check_window(VoiFunction::Linear, w(0.0, 0.5)).is_err());
        assert!(check_window(VoiFunction::Linear, w(0.0, 1.0)).is_ok());
        assert!(check_window(VoiFunction::LinearExact, w(0.0, 0.5)).is_ok());
        assert!(check_window(VoiFunction::LinearExact, w(0.0, 0.0)).is_err());
        assert!(check_window(VoiFunction::Sigmoid, w(0.0, -1.0)).is_err());
        assert!(check_window(VoiFunction::Linear, w(f64::NAN, 10.0)).is_err());
        let err = check_file_window(VoiFunction::Linear, w(0.0, 0.0)).unwrap_err();
        assert!(err.to_string().contains("Window Width"), "{err}");
    }

    #[test]
    fn rounding_is_half_up_and_clamped() {
        assert_eq!(round_p(-3.0), 0);
        assert_eq!(round_p(0.49), 0);
        assert_eq!(round_p(0.5), 1);
        assert_eq!(round_p(4094.6), 4095);
        assert_eq!(round_p(5000.0), 4095);
        assert_eq!(round_p(f64::NAN), 0);
    }

    #[test]
    fn min_max_window_spans_the_whole_range() {
        let win = min_max_window(-1024.0, 3071.0).unwrap();
        assert_eq!(p_value(VoiFunction::LinearExact, win, -1024.0), 0);
        assert_eq!(p_value(VoiFunction::LinearExact, win, 3071.0), P_MAX);
        assert_eq!(min_max_window(5.0, 5.0), None);
    }
}

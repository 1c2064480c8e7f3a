//! The load generator's pure parts: its test images, the image count of a display
//! format, and the report (throughput, latency percentiles, statuses). The binary
//! (src/bin/filmd-loadgen.rs) only adds threads and sockets.

use crate::film::DisplayFormat;
use crate::film::custom::CustomLayouts;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// A deterministic test image: a diagonal gradient over the full range of `bits`, with
/// ±1/16 of the range of xorshift noise and a per-`seed` offset, so that every box of a
/// film differs and deflate cannot shrink a page to nothing (which would flatter an SCP
/// that compresses its output).
pub fn test_image(rows: u16, cols: u16, bits: u16, seed: u32) -> Vec<u16> {
    let max = (1u32 << bits.clamp(1, 16)) - 1;
    let span = u64::from(rows) + u64::from(cols);
    let noise = (max / 16).max(1);
    let mut x: u32 = 0x9E37_79B9 ^ seed.wrapping_mul(0x85EB_CA6B) | 1;
    let offset = u64::from(seed) * u64::from(max) / 7;
    let mut out = Vec::with_capacity(usize::from(rows) * usize::from(cols));
    for r in 0..u64::from(rows) {
        for c in 0..u64::from(cols) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let ramp = ((r + c) * u64::from(max) / span.max(1) + offset) % (u64::from(max) + 1);
            let n = i64::from(x % (2 * noise + 1)) - i64::from(noise);
            out.push((ramp as i64 + n).clamp(0, i64::from(max)) as u16);
        }
    }
    out
}

/// Image boxes of a display format whose count does not depend on the film size
/// (STANDARD, ROW, COL, filmd's CUSTOM layouts); `None` for SLIDE, SUPERSLIDE and
/// anything filmd cannot parse: the caller must say how many images to send.
pub fn boxes_of_format(format: &str) -> Option<u32> {
    match DisplayFormat::parse(format, &CustomLayouts::embedded()).ok()? {
        DisplayFormat::Standard { columns, rows } => Some(columns * rows),
        DisplayFormat::Row(v) | DisplayFormat::Col(v) => Some(v.iter().sum()),
        DisplayFormat::Custom { boxes, .. } => Some(boxes.len() as u32),
        DisplayFormat::Slide | DisplayFormat::Superslide => None,
    }
}

/// Pixel data bytes of one grayscale image: Bits Allocated 8 for 8 bits, else 16.
pub fn pixel_bytes(rows: u16, cols: u16, bits: u16) -> u64 {
    u64::from(rows) * u64::from(cols) * if bits <= 8 { 1 } else { 2 }
}

/// Percentiles of a set of durations, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Latency {
    pub count: usize,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// Nearest-rank percentiles (the smallest sample with at least p% of the samples at
    /// or below it), so every figure is a latency that was measured.
    pub fn of(samples: &[Duration]) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let k = ((p / 100.0) * ms.len() as f64).ceil() as usize;
            ms[k.clamp(1, ms.len()) - 1]
        };
        Latency {
            count: ms.len(),
            mean_ms: ms.iter().sum::<f64>() / ms.len() as f64,
            p50_ms: rank(50.0),
            p90_ms: rank(90.0),
            p99_ms: rank(99.0),
            max_ms: ms[ms.len() - 1],
        }
    }
}

/// What happened to one film.
#[derive(Debug, Clone, PartialEq)]
pub enum FilmResult {
    /// N-ACTION answered with success or a warning; `warnings` lists every warning
    /// status of the film, e.g. "N-ACTION 0xB603".
    Printed {
        action_time: Duration,
        film_time: Duration,
        warnings: Vec<String>,
    },
    /// The film did not print; the reason is a status ("N-ACTION 0xC600") or an error.
    /// `action_time` is set when the N-ACTION was answered (with a failure).
    Failed {
        reason: String,
        action_time: Option<Duration>,
    },
}

/// The run's parameters, echoed in the report.
#[derive(Debug, Clone, Serialize)]
pub struct RunParams {
    pub server: String,
    /// "TCP" or "TLS" (DICOM TLS, PS3.15 B.9).
    pub transport: &'static str,
    pub called_ae: String,
    pub associations: u32,
    pub films_per_association: u32,
    pub format: String,
    pub film_size: String,
    pub images_per_film: u32,
    pub rows: u16,
    pub cols: u16,
    pub bits: u16,
    pub session_print: bool,
}

/// The report of a run (printed as text, or as JSON with `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub params: RunParams,
    pub films_attempted: u64,
    pub films_ok: u64,
    pub films_failed: u64,
    /// Films that printed with at least one warning status.
    pub films_with_warnings: u64,
    pub wall_s: f64,
    /// Printed films per second of wall time (from the first connect to the last
    /// release, so association setup and queueing count).
    pub films_per_s: f64,
    /// Pixel data bytes of the films that reached N-ACTION, in 10^6 bytes per second.
    pub mb_per_s: f64,
    pub pixel_bytes_per_film: u64,
    pub pixel_bytes_sent: u64,
    /// N-ACTION request to response, of every film that reached it.
    pub n_action: Latency,
    /// Film session N-CREATE to N-DELETE response, of printed films.
    pub film: Latency,
    /// TCP connect to A-ASSOCIATE-AC, per association that was established.
    pub associate: Latency,
    /// Failure reasons (step and status, or error) and how many films each failed.
    pub failures: BTreeMap<String, u64>,
    /// Warning statuses (step and status) and how often each came.
    pub warnings: BTreeMap<String, u64>,
    /// Errors outside any film (e.g. a failed A-RELEASE), with counts.
    pub association_errors: BTreeMap<String, u64>,
}

impl Report {
    pub fn new(
        params: RunParams,
        results: &[FilmResult],
        associate_times: &[Duration],
        wall: Duration,
    ) -> Report {
        let per_film =
            u64::from(params.images_per_film) * pixel_bytes(params.rows, params.cols, params.bits);
        let mut actions = Vec::new();
        let mut films = Vec::new();
        let mut failures = BTreeMap::new();
        let mut warnings = BTreeMap::new();
        let (mut ok, mut warned, mut sent) = (0u64, 0u64, 0u64);
        for r in results {
            match r {
                FilmResult::Printed {
                    action_time,
                    film_time,
                    warnings: w,
                } => {
                    ok += 1;
                    sent += per_film;
                    actions.push(*action_time);
                    films.push(*film_time);
                    if !w.is_empty() {
                        warned += 1;
                    }
                    for w in w {
                        *warnings.entry(w.clone()).or_insert(0) += 1;
                    }
                }
                FilmResult::Failed {
                    reason,
                    action_time,
                } => {
                    if let Some(t) = action_time {
                        sent += per_film;
                        actions.push(*t);
                    }
                    *failures.entry(reason.clone()).or_insert(0) += 1;
                }
            }
        }
        let secs = wall.as_secs_f64().max(1e-9);
        Report {
            params,
            films_attempted: results.len() as u64,
            films_ok: ok,
            films_failed: results.len() as u64 - ok,
            films_with_warnings: warned,
            wall_s: wall.as_secs_f64(),
            films_per_s: ok as f64 / secs,
            mb_per_s: sent as f64 / 1e6 / secs,
            pixel_bytes_per_film: per_film,
            pixel_bytes_sent: sent,
            n_action: Latency::of(&actions),
            film: Latency::of(&films),
            associate: Latency::of(associate_times),
            failures,
            warnings,
            association_errors: BTreeMap::new(),
        }
    }

    /// The human-readable report.
    pub fn text(&self) -> String {
        let p = &self.params;
        let mut s = format!(
            "filmd-loadgen: {} over {} (called AE {}), {} association(s) x {} film(s), {} {}, \
             {} x {}x{} {}-bit image(s) per film ({:.2} MB of pixel data), {}\n",
            p.server,
            p.transport,
            p.called_ae,
            p.associations,
            p.films_per_association,
            p.format,
            p.film_size,
            p.images_per_film,
            p.cols,
            p.rows,
            p.bits,
            self.pixel_bytes_per_film as f64 / 1e6,
            if p.session_print {
                "film session N-ACTION"
            } else {
                "film box N-ACTION"
            }
        );
        s += &format!(
            "films: {} printed, {} failed, {} with warnings (of {})\n",
            self.films_ok, self.films_failed, self.films_with_warnings, self.films_attempted
        );
        s += &format!(
            "wall {:.3} s: {:.2} films/s, {:.2} MB/s of pixel data\n",
            self.wall_s, self.films_per_s, self.mb_per_s
        );
        for (name, l) in [
            ("N-ACTION", &self.n_action),
            ("film", &self.film),
            ("associate", &self.associate),
        ] {
            s += &format!(
                "{name:<9} ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}  mean {:.1}  (n={})\n",
                l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.mean_ms, l.count
            );
        }
        for (what, map) in [
            ("failure", &self.failures),
            ("warning", &self.warnings),
            ("association error", &self.association_errors),
        ] {
            for (reason, n) in map {
                s += &format!("{what}: {n} x {reason}\n");
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).rev().map(ms).collect();
        let l = Latency::of(&samples);
        assert_eq!(l.count, 100);
        assert_eq!(
            (l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms),
            (50.0, 90.0, 99.0, 100.0)
        );
        assert!((l.mean_ms - 50.5).abs() < 1e-9);
        let three = Latency::of(&[ms(30), ms(10), ms(20)]);
        assert_eq!(
            (three.p50_ms, three.p90_ms, three.p99_ms),
            (20.0, 30.0, 30.0)
        );
        assert_eq!(Latency::of(&[]), Latency::default());
    }

    #[test]
    fn format_box_counts() {
        assert_eq!(boxes_of_format("STANDARD\\2,2"), Some(4));
        assert_eq!(boxes_of_format("STANDARD\\4,5"), Some(20));
        assert_eq!(boxes_of_format("ROW\\1,2"), Some(3));
        assert_eq!(boxes_of_format("COL\\2,1,3"), Some(6));
        assert_eq!(boxes_of_format("SLIDE"), None);
        assert_eq!(boxes_of_format("STANDARD\\0,2"), None);
    }

    #[test]
    fn test_images_are_deterministic_in_range_and_differ_by_seed() {
        let a = test_image(64, 48, 12, 1);
        assert_eq!(a.len(), 64 * 48);
        assert_eq!(a, test_image(64, 48, 12, 1));
        assert_ne!(a, test_image(64, 48, 12, 2));
        assert!(a.iter().all(|&v| v <= 4095));
        // A gradient: the far corner is brighter than the near one on average.
        let mean = |v: &[u16]| v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64;
        assert!(mean(&a[..48]) + 1000.0 < mean(&a[a.len() - 48..]));
        let b = test_image(16, 16, 8, 0);
        assert!(b.iter().all(|&v| v <= 255));
        assert!(b.iter().any(|&v| v > 128));
        assert_eq!(pixel_bytes(1024, 1024, 12), 2 << 20);
        assert_eq!(pixel_bytes(10, 10, 8), 100);
    }

    #[test]
    fn report_counts_throughput_and_failures() {
        let params = RunParams {
            server: "127.0.0.1:1".into(),
            transport: "TCP",
            called_ae: "X".into(),
            associations: 2,
            films_per_association: 2,
            format: "STANDARD\\2,2".into(),
            film_size: "14INX17IN".into(),
            images_per_film: 4,
            rows: 1000,
            cols: 1000,
            bits: 12,
            session_print: false,
        };
        let results = vec![
            FilmResult::Printed {
                action_time: ms(100),
                film_time: ms(300),
                warnings: vec![],
            },
            FilmResult::Printed {
                action_time: ms(200),
                film_time: ms(400),
                warnings: vec!["N-ACTION 0xB603".into()],
            },
            FilmResult::Failed {
                reason: "N-ACTION 0xC600".into(),
                action_time: Some(ms(300)),
            },
            FilmResult::Failed {
                reason: "image box 1 N-SET 0x0106".into(),
                action_time: None,
            },
        ];
        let r = Report::new(params, &results, &[ms(5), ms(7)], Duration::from_secs(2));
        assert_eq!((r.films_attempted, r.films_ok, r.films_failed), (4, 2, 2));
        assert_eq!(r.films_with_warnings, 1);
        assert_eq!(r.films_per_s, 1.0);
        // Three films reached N-ACTION with 4 x 2 MB each, in 2 s.
        assert_eq!(r.pixel_bytes_per_film, 8_000_000);
        assert_eq!(r.pixel_bytes_sent, 24_000_000);
        assert!((r.mb_per_s - 12.0).abs() < 1e-9);
        // N-ACTION latency counts the answered failure too.
        assert_eq!(r.n_action.count, 3);
        assert_eq!(r.n_action.max_ms, 300.0);
        assert_eq!(r.film.count, 2);
        assert_eq!(r.associate.p50_ms, 5.0);
        assert_eq!(r.failures["N-ACTION 0xC600"], 1);
        assert_eq!(r.failures["image box 1 N-SET 0x0106"], 1);
        assert_eq!(r.warnings["N-ACTION 0xB603"], 1);
        let text = r.text();
        assert!(text.contains("2 printed, 2 failed"), "{text}");
        assert!(text.contains("failure: 1 x N-ACTION 0xC600"), "{text}");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["films_ok"], 2);
        assert_eq!(json["associations"], 2);
        assert_eq!(json["failures"]["N-ACTION 0xC600"], 1);
    }
}

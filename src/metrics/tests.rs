use super::*;

fn row(queue: &str, state: State, films: u32, copies: u32) -> JobRow {
    JobRow {
        queue: queue.into(),
        attempts: 1,
        copies,
        films,
        ..JobRow::sample(state)
    }
}

/// The value of the sample line that starts with `series ` (name and labels as written).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

#[test]
fn every_metric_has_help_and_type_and_counters_end_in_total_from_the_first_scrape() {
    let m = Metrics::new(["film"]);
    let text = m.encode(&Scrape {
        jobs: vec![("film".into(), State::Done, 1)],
        printers: vec![("film".into(), PrinterStatus::Normal)],
        spool_free_bytes: Some(1),
    });
    let expected = [
        ("filmd_associations_open", "gauge"),
        ("filmd_associations_accepted_total", "counter"),
        ("filmd_associations_rejected_total", "counter"),
        ("filmd_dimse_requests_total", "counter"),
        ("filmd_films_received_total", "counter"),
        ("filmd_films_printed_total", "counter"),
        ("filmd_films_failed_total", "counter"),
        ("filmd_jobs", "gauge"),
        ("filmd_compose_duration_seconds", "histogram"),
        ("filmd_encode_duration_seconds", "histogram"),
        ("filmd_delivery_duration_seconds", "histogram"),
        ("filmd_printer_status", "gauge"),
        ("filmd_spool_free_bytes", "gauge"),
        ("filmd_build_info", "gauge"),
        ("filmd_start_time_seconds", "gauge"),
    ];
    for (name, kind) in expected {
        assert!(
            text.contains(&format!("\n# TYPE {name} {kind}\n"))
                || text.starts_with(&format!("# TYPE {name} {kind}\n")),
            "no TYPE line for {name} {kind} in\n{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("# HELP {name} "))),
            "no HELP for {name}"
        );
    }
    // Every sample belongs to a filmd_ family; counter samples carry _total.
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        assert!(line.starts_with("filmd_"), "{line}");
    }
    assert!(!text.contains("# EOF"), "0.0.4 text, not OpenMetrics");
    assert_eq!(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
    let version = format!(
        "filmd_build_info{{version=\"{}\"}}",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(sample(&text, &version), Some(1.0));
    assert!(sample(&text, "filmd_start_time_seconds").is_some_and(|t| t > 1.6e9));
}

#[test]
fn a_rejection_is_counted_under_its_reason_only() {
    let m = Metrics::new(["film"]);
    m.association_rejected(Rejection::AccessCallingAe);
    m.association_rejected(Rejection::AccessCallingAe);
    m.association_rejected(Rejection::LimitExceeded);
    let text = m.encode(&Scrape::default());
    let of = |reason: &str| {
        sample(
            &text,
            &format!("filmd_associations_rejected_total{{reason=\"{reason}\"}}"),
        )
    };
    assert_eq!(of("access_calling_ae"), Some(2.0));
    assert_eq!(of("limit_exceeded"), Some(1.0));
    // Every reason is there from the start, at zero.
    assert_eq!(of("access_address"), Some(0.0));
    assert_eq!(of("tls_failed"), Some(0.0));
}

#[test]
fn open_associations_go_up_and_down_and_accepted_ones_only_up() {
    let m = Arc::new(Metrics::default());
    let a = m.association_opened();
    let b = m.association_opened();
    drop(a);
    let text = m.encode(&Scrape::default());
    assert_eq!(sample(&text, "filmd_associations_open"), Some(1.0));
    assert_eq!(
        sample(&text, "filmd_associations_accepted_total"),
        Some(2.0)
    );
    drop(b);
    let text = m.encode(&Scrape::default());
    assert_eq!(sample(&text, "filmd_associations_open"), Some(0.0));
}

#[test]
fn dimse_requests_count_by_operation_and_status_class() {
    let m = Metrics::default();
    m.dimse_request(cf::N_CREATE_RQ, status::SUCCESS);
    m.dimse_request(cf::N_ACTION_RQ, 0xB603);
    m.dimse_request(cf::N_ACTION_RQ, 0xC602);
    m.dimse_request(cf::C_ECHO_RQ, status::SUCCESS);
    let text = m.encode(&Scrape::default());
    let of = |op: &str, class: &str| {
        sample(
            &text,
            &format!("filmd_dimse_requests_total{{operation=\"{op}\",status_class=\"{class}\"}}"),
        )
    };
    assert_eq!(of("n_create", "success"), Some(1.0));
    assert_eq!(of("n_action", "warning"), Some(1.0));
    assert_eq!(of("n_action", "failure"), Some(1.0));
    assert_eq!(of("c_echo", "success"), Some(1.0));
    assert_eq!(of("n_set", "success"), Some(0.0), "there from the start");
}

#[test]
fn films_count_as_sheets_received_printed_and_failed_per_queue() {
    let m = Metrics::new(["film", "paper"]);
    m.films_received("film", 6);
    m.job_finished(&row("film", State::Done, 2, 3));
    m.job_finished(&row("paper", State::Failed, 1, 1));
    m.job_finished(&row("paper", State::Cancelled, 4, 1));
    let text = m.encode(&Scrape::default());
    let of = |name: &str, queue: &str| sample(&text, &format!("{name}{{queue=\"{queue}\"}}"));
    assert_eq!(of("filmd_films_received_total", "film"), Some(6.0));
    assert_eq!(of("filmd_films_printed_total", "film"), Some(6.0));
    assert_eq!(of("filmd_films_failed_total", "film"), Some(0.0));
    assert_eq!(of("filmd_films_failed_total", "paper"), Some(1.0));
    assert_eq!(of("filmd_films_printed_total", "paper"), Some(0.0));
}

#[test]
fn scrape_values_fill_the_job_printer_and_disk_gauges() {
    let m = Metrics::new(["film"]);
    let scrape = Scrape {
        jobs: vec![
            ("film".into(), State::Received, 3),
            ("film".into(), State::Done, 7),
        ],
        printers: vec![("film".into(), PrinterStatus::Warning)],
        spool_free_bytes: Some(5 << 30),
    };
    let text = m.encode(&scrape);
    assert_eq!(
        sample(&text, "filmd_jobs{queue=\"film\",state=\"received\"}"),
        Some(3.0)
    );
    assert_eq!(
        sample(&text, "filmd_jobs{queue=\"film\",state=\"done\"}"),
        Some(7.0)
    );
    let status = |s: &str| {
        sample(
            &text,
            &format!("filmd_printer_status{{queue=\"film\",status=\"{s}\"}}"),
        )
    };
    assert_eq!(status("WARNING"), Some(1.0));
    assert_eq!(status("NORMAL"), Some(0.0));
    assert_eq!(status("FAILURE"), Some(0.0));
    assert_eq!(
        sample(&text, "filmd_spool_free_bytes"),
        Some((5u64 << 30) as f64)
    );
    let unknown = m.encode(&Scrape {
        spool_free_bytes: None,
        ..scrape.clone()
    });
    assert_eq!(sample(&unknown, "filmd_spool_free_bytes"), None, "not 0");
    // The next scrape replaces, not adds: a state no longer reported is gone.
    let text = m.encode(&Scrape {
        jobs: vec![("film".into(), State::Done, 8)],
        ..scrape
    });
    assert_eq!(
        sample(&text, "filmd_jobs{queue=\"film\",state=\"received\"}"),
        None
    );
    assert_eq!(
        sample(&text, "filmd_jobs{queue=\"film\",state=\"done\"}"),
        Some(8.0)
    );
}

#[test]
fn durations_land_in_buckets_from_10_ms_to_10_minutes() {
    let m = Metrics::default();
    m.observe_compose("film", Duration::from_millis(30));
    m.observe_encode("pdf", Duration::from_secs(2));
    let text = m.encode(&Scrape::default());
    assert_eq!(
        sample(
            &text,
            "filmd_compose_duration_seconds_bucket{queue=\"film\",le=\"0.025\"}"
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &text,
            "filmd_compose_duration_seconds_bucket{queue=\"film\",le=\"0.05\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "filmd_encode_duration_seconds_bucket{format=\"pdf\",le=\"600\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "filmd_encode_duration_seconds_count{format=\"pdf\"}"),
        Some(1.0)
    );
}

//! The command line: `filmd check-config` names the key and the problem; `filmd serve`
//! flags override the file.

use crate::common;
use crate::common::filmd;
use crate::common::harness::{Test, trials};

use std::process::Command;

pub fn tests() -> Vec<Test> {
    trials![
        check_config_accepts_a_good_file_and_names_bad_keys,
        serve_flags_override_the_file_and_select_the_ae_title,
        render_composes_dicom_files_to_pdf_and_png,
        sigterm_stops_accepting_lets_associations_finish_then_exits,
    ]
}

fn check_config_accepts_a_good_file_and_names_bad_keys() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[server]\nae_title = \"PRINTSCP\"\n[[queue]]\nname = \"films\"\ndpi = 600\nhigh_dpi = 600\nfilm_sizes = [\"14INX17IN\", \"8INX10IN\"]\n").unwrap();
    let (code, out, _) = filmd(&["check-config", good.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        out.contains("OK") && out.contains("films") && out.contains("600 dpi"),
        "{out}"
    );
    // Every limit a peer meets is stated.
    assert!(
        out.contains("limits: 32 associations, 16 per address, 64 waiting for their A-ASSOCIATE-RQ (within 10 s)"),
        "{out}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[server]\nlisten = \"here\"\n[[queue]]\nname = \"q\"\ndpi = 10\ndefault_film_size = \"14X17\"\n").unwrap();
    let (code, _, err) = filmd(&["check-config", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    for key in [
        "server.listen",
        "queue[0].dpi",
        "queue[0].default_film_size",
    ] {
        assert!(err.contains(key), "{key} not named in: {err}");
    }

    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, "[server]\nae_tittle = \"X\"\n").unwrap();
    let (code, _, err) = filmd(&["check-config", typo.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("ae_tittle"), "{err}");
}

fn serve_flags_override_the_file_and_select_the_ae_title() {
    let server = common::Server::start_with(
        &["--ae-title", "XRAYPRINT"],
        Some("[server]\nae_title = \"FROMFILE\"\n"),
    );
    assert!(
        common::scu::Scu::try_connect(server.port, "FROMFILE", &[]).is_err(),
        "the file's AE title is overridden"
    );
    let mut scu = common::scu::Scu::try_connect(server.port, "XRAYPRINT", &[])
        .expect("called AE from --ae-title");
    assert_eq!(scu.echo(), 0);
    scu.release();
}

fn write_dicom(path: &std::path::Path, value: u16, bits: u16) {
    let item = common::scu::gray_image(32, 32, bits, "MONOCHROME2", &vec![value; 32 * 32]);
    let uid = format!("1.2.826.0.1.3680043.10.3.{value}");
    common::scu::write_secondary_capture(path, item, &uid);
}

fn render_composes_dicom_files_to_pdf_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.dcm");
    let b = dir.path().join("b.dcm");
    write_dicom(&a, 0, 12);
    write_dicom(&b, 4095, 12);
    let pdf = dir.path().join("film.pdf");
    let (code, out, err) = filmd(&[
        "render",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--format",
        "COL\\1,1",
        "--film-size",
        "8INX10IN",
        "--orientation",
        "LANDSCAPE",
        "--border",
        "WHITE",
        "-o",
        pdf.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("3000 x 2400 px"), "{out}");
    let pages = common::pdf::pages(&pdf);
    assert_eq!(pages.len(), 1);
    assert!((pages[0].width_pt - 720.0).abs() < 0.01);
    assert!(
        pages[0].gray_at(0.25, 0.5) < pages[0].gray_at(0.75, 0.5),
        "COL\\1,1: value 0 left, 4095 right"
    );
    let png = dir.path().join("film.png");
    let (code, _, err) = filmd(&[
        "render",
        a.to_str().unwrap(),
        "--dpi",
        "150",
        "-o",
        png.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let reader = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()))
        .read_info()
        .unwrap();
    assert_eq!((reader.info().width, reader.info().height), (2100, 2550));
    // A queue's annotation alias works in render as over DICOM.
    let config = dir.path().join("alias.toml");
    std::fs::write(
        &config,
        "[[queue]]\nname = \"ct\"\nannotation_aliases = { ANNOTATION = \"TOP_BOTTOM\" }\n",
    )
    .unwrap();
    let annotated = |config: &std::path::Path| {
        filmd(&[
            "render",
            a.to_str().unwrap(),
            "--dpi",
            "72",
            "--annotation-format",
            "ANNOTATION",
            "--annotation",
            "TOP",
            "--config",
            config.to_str().unwrap(),
            "-o",
            png.to_str().unwrap(),
        ])
    };
    let (code, _, err) = annotated(&config);
    assert_eq!(code, 0, "{err}");
    let plain = dir.path().join("plain.toml");
    std::fs::write(&plain, "[[queue]]\nname = \"ct\"\n").unwrap();
    let (code, _, err) = annotated(&plain);
    assert_ne!(code, 0);
    assert!(err.contains("ANNOTATION"), "{err}");
    // A bare output name is written in the current directory.
    let out = common::output_within(
        Command::new(env!("CARGO_BIN_EXE_filmd"))
            .current_dir(dir.path())
            .args([
                "render",
                a.to_str().unwrap(),
                "--dpi",
                "72",
                "-o",
                "bare.png",
            ]),
        common::PEER_DEADLINE,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("bare.png").is_file());
    // A bad image names the file and the problem. (16/10/9 is a valid modality image
    // since issue 14; Bits Stored 17 of Bits Allocated 16 is not.)
    let bad = dir.path().join("bad.dcm");
    write_dicom(&bad, 1, 17);
    let (code, _, err) = filmd(&["render", bad.to_str().unwrap(), "-o", png.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("bad.dcm") && err.contains("Bits"), "{err}");
}

fn sigterm_stops_accepting_lets_associations_finish_then_exits() {
    use std::io::Read;
    use std::time::{Duration, Instant};
    let mut server = common::Server::start_with(&[], Some("[server]\nshutdown_grace_secs = 1\n"));
    let mut scu = common::scu::Scu::connect(server.port, &[common::scu::GRAY_META]);
    assert_eq!(scu.echo(), 0);
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let start = Instant::now();
    // The open association still works during the grace period…
    assert_eq!(scu.echo(), 0);
    // …and is aborted when it ends.
    let stream = scu.assoc.as_mut().unwrap().socket();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = [0u8; 10];
    let n = stream.read(&mut head).unwrap_or(0);
    assert!(n > 0 && head[0] == 0x07, "A-ABORT after the grace period");
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "filmd did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "clean exit: {status:?}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", server.port)).is_err(),
        "no longer listening"
    );
    assert!(server.log_text().contains("shutdown requested"));
}

//! `filmd print` run as a user runs it (the real binary) against two Print SCPs: filmd
//! itself, whose PDFs show the films (several films for more images than boxes, a
//! colour film, a session print, a refusal with exit status 1, no server with 2), and
//! DCMTK's dcmprscp, whose database shows the Stored Print objects it made of them.

use crate::common;
use crate::common::dcmtk_peers::dcmtk;
use crate::common::filmd;
use crate::common::harness::{Test, trials};
use crate::common::ipp_peers::{free_port, log_file, stop_child};
use crate::common::pacs_peers::{on_loopback, wait_ports};
use dicom_object::InMemDicomObject;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

pub fn tests() -> Vec<Test> {
    trials![
        five_images_on_standard_2x2_print_as_two_films_two_pages,
        a_colour_image_makes_a_colour_film_and_session_print_one_job,
        a_refused_film_box_exits_1_with_its_status_and_no_server_exits_2,
        prints_over_tls_with_a_client_certificate,
        a_silent_scp_is_aborted_at_the_timeout_and_a_rejection_exits_1,
        a_calling_ae_that_is_no_ae_title_is_a_usage_error,
        #[needs(DcmtkStore)]
        dcmprscp_stores_a_print_object_for_each_film,
    ]
}

/// Writes a Secondary Capture file holding `item` (an image pixel item) as Part 10.
fn write_file(path: &Path, item: InMemDicomObject, n: u32) {
    let uid = format!("1.2.826.0.1.3680043.10.1441.14.{n}");
    common::scu::write_secondary_capture(path, item, &uid);
}

/// `values.len()` 12-bit MONOCHROME2 files of 32 × 32 pixels, each of one value.
fn gray_files(dir: &Path, values: &[u16]) -> Vec<PathBuf> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let path = dir.join(format!("gray{i}.dcm"));
            let item = common::scu::gray_image(32, 32, 12, "MONOCHROME2", &vec![v; 32 * 32]);
            write_file(&path, item, i as u32 + 1);
            path
        })
        .collect()
}

fn paths(files: &[PathBuf]) -> Vec<&str> {
    files.iter().map(|p| p.to_str().unwrap()).collect()
}

fn five_images_on_standard_2x2_print_as_two_films_two_pages() {
    let server = common::Server::start();
    let dir = tempfile::tempdir().unwrap();
    let files = gray_files(dir.path(), &[0, 1000, 2000, 3000, 4095]);
    let to = format!("FILMD@127.0.0.1:{}", server.port);
    let mut args = vec!["print", "--to", &to, "--format", r"STANDARD\2,2"];
    args.extend(["--film-size", "8INX10IN", "--timeout", "60"]);
    args.extend(paths(&files));
    let (code, out, err) = filmd(&args);
    assert_eq!(code, 0, "{out}{err}");
    for line in [
        r"5 image(s) on 2 grayscale film(s) of STANDARD\2,2 (4 image boxes each)",
        "context 3 Basic Grayscale Print Management Meta: accepted",
        "Print Job: accepted",
        "Printer N-GET: 0x0000 Success; Printer Status NORMAL",
        "Film Session N-CREATE: 0x0000 Success",
        "Film Box N-CREATE (film 1): 0x0000 Success, 4 image boxes",
        "Grayscale Image Box N-SET (film 1, box 4): 0x0000 Success",
        "Grayscale Image Box N-SET (film 2, box 1): 0x0000 Success",
        "Film Box N-ACTION (film 2): 0x0000 Success, Print Job ",
        "Film Box N-DELETE (film 2): 0x0000 Success",
        "Film Session N-DELETE: 0x0000 Success",
        "association released",
        "2 of 2 film(s) printed",
    ] {
        assert!(out.contains(line), "{line:?} not in:\n{out}");
    }
    assert!(
        !out.contains("film 2, box 2"),
        "film 2 holds one image:\n{out}"
    );
    // Both jobs were followed to their end within the timeout.
    assert_eq!(out.matches(": DONE").count(), 2, "{out}");
    let pdfs = server.wait_pdfs(2);
    assert_eq!(pdfs.len(), 2, "one job per film box N-ACTION");
    let pages: Vec<_> = pdfs.iter().flat_map(|p| common::pdf::pages(p)).collect();
    assert_eq!(pages.len(), 2);
    // --film-size was sent; 8 x 10 in.
    assert!((pages[0].width_pt - 576.0).abs() < 0.01 && (pages[0].height_pt - 720.0).abs() < 0.01);
    // Film 1: value 0 (black) top left, 1000 top right, brighter towards box 4 (3000).
    let film1 = &pages[0];
    assert!(
        film1.gray_at(0.25, 0.25) + 50 < film1.gray_at(0.75, 0.75),
        "film 1 ramps up"
    );
    // Film 2: 4095 (white) in box 1; the other boxes empty (the SCP's default, black).
    let film2 = &pages[1];
    assert!(film2.gray_at(0.25, 0.25) > 200, "box 1 white");
    assert!(film2.gray_at(0.75, 0.75) < 50, "box 4 empty");
}

fn a_colour_image_makes_a_colour_film_and_session_print_one_job() {
    let server = common::Server::start();
    let dir = tempfile::tempdir().unwrap();
    let mut files = gray_files(dir.path(), &[4095]);
    let rgb_path = dir.path().join("rgb.dcm");
    let red = vec![[255u8, 0, 0]; 32 * 32];
    write_file(&rgb_path, common::scu::rgb_image(32, 32, &red), 100);
    files.push(rgb_path);
    let to = format!("FILMD@127.0.0.1:{}", server.port);
    let mut args = vec![
        "print",
        "--to",
        &to,
        "--session-print",
        "--label",
        "issue 14",
    ];
    args.extend([
        "--annotation-format",
        "TOP_BOTTOM",
        "--annotation",
        "colour test",
    ]);
    args.extend(paths(&files));
    let (code, out, err) = filmd(&args);
    assert_eq!(code, 0, "{out}{err}");
    for line in [
        r"2 image(s) on 2 colour film(s) of STANDARD\1,1",
        "Basic Color Print Management Meta: accepted",
        "Basic Annotation Box: accepted",
        "Color Image Box N-SET (film 1, box 1): 0x0000 Success",
        "Color Image Box N-SET (film 2, box 1): 0x0000 Success",
        "Annotation Box N-SET (film 2, position 1): 0x0000 Success",
        "Film Session N-ACTION: 0x0000 Success, Print Job ",
        "2 of 2 film(s) printed",
    ] {
        assert!(out.contains(line), "{line:?} not in:\n{out}");
    }
    assert!(
        !out.contains("Film Box N-ACTION"),
        "the session is printed once:\n{out}"
    );
    assert_eq!(out.matches(": DONE").count(), 1, "{out}");
    let pdfs = server.wait_pdfs(1);
    assert_eq!(pdfs.len(), 1, "one job for the session");
    let pages = common::pdf::pages(&pdfs[0]);
    assert_eq!(pages.len(), 2, "a page per film box");
    assert!(pages.iter().all(|p| p.channels == 3), "colour films");
    // Film 1: the gray image as RGB (white); film 2: red.
    let w = pages[0].width_px / 2;
    let h = pages[0].height_px / 2;
    assert!(
        pages[0].at(w, h).iter().all(|&c| c > 200),
        "{:?}",
        pages[0].at(w, h)
    );
    let red_px = pages[1].at(w, h);
    assert!(
        red_px[0] > 200 && red_px[1] < 60 && red_px[2] < 60,
        "{red_px:?}"
    );
}

fn a_refused_film_box_exits_1_with_its_status_and_no_server_exits_2() {
    let server = common::Server::start();
    let dir = tempfile::tempdir().unwrap();
    let files = gray_files(dir.path(), &[2000]);
    let to = format!("FILMD@127.0.0.1:{}", server.port);
    let file = files[0].to_str().unwrap();
    let (code, out, err) = filmd(&["print", "--to", &to, "--film-size", "99INX99IN", file]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(
            "Film Box N-CREATE (film 1): 0x0106 Failure: Invalid attribute value (Error Comment \""
        ) && out.contains("99INX99IN"),
        "{out}"
    );
    // The session is still deleted and the association released.
    assert!(
        out.contains("Film Session N-DELETE: 0x0000 Success"),
        "{out}"
    );
    assert!(out.contains("0 of 1 film(s) printed"), "{out}");
    assert!(
        err.contains("0x0106") && err.contains("0 of 1 film(s) printed"),
        "{err}"
    );
    // An unsupported display format is refused the same way.
    let (code, out, _) = filmd(&["print", "--to", &to, "--format", r"STANDARD\99,99", file]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Film Box N-CREATE (film 1): 0x0106"), "{out}");
    // Nothing was printed: a print after them is the first job.
    let (code, out, err) = filmd(&["print", "--to", &to, file]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(server.wait_pdfs(1).len(), 1);
    // A port nobody listens on: exit status 2, the reason on stderr.
    let closed = format!("FILMD@127.0.0.1:{}", free_port());
    let (code, out, err) = filmd(&["print", "--to", &closed, "--timeout", "5", file]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains(&closed), "{err}");
    // A file that is not an image: exit status 1 before any association.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not DICOM").unwrap();
    let (code, out, err) = filmd(&["print", "--to", &closed, text.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("notes.txt"), "{err}");
}

/// An SCP that accepts the association and then reads, never answering, until the client
/// goes: its port and its thread.
fn silent_scp() -> (u16, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        let mut assoc = dicom_ul::ServerAssociationOptions::new()
            .accept_any()
            .ae_title("SILENT")
            .with_abstract_syntax(common::scu::GRAY_META)
            .establish(socket)
            .unwrap();
        while assoc.receive().is_ok() {}
    });
    (port, handle)
}

fn a_silent_scp_is_aborted_at_the_timeout_and_a_rejection_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let files = gray_files(dir.path(), &[2000]);
    let file = files[0].to_str().unwrap();
    let (port, scp) = silent_scp();
    let to = format!("SILENT@127.0.0.1:{port}");
    let (code, out, err) = filmd(&["print", "--to", &to, "--timeout", "2", file]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("Printer N-GET: "), "{out}");
    assert!(out.contains("association aborted"), "{out}");
    assert!(out.contains("0 of 1 film(s) printed"), "{out}");
    scp.join().unwrap();
    // filmd's access rules answer an unknown Called AE Title with A-ASSOCIATE-RJ.
    let server = common::Server::start();
    let wrong = format!("WRONG@127.0.0.1:{}", server.port);
    let (code, out, err) = filmd(&["print", "--to", &wrong, "--timeout", "10", file]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(&format!("A-ASSOCIATE-RJ from {wrong}")),
        "{out}"
    );
    assert!(err.contains("rejected the association"), "{err}");
}

fn a_calling_ae_that_is_no_ae_title_is_a_usage_error() {
    // Refused by clap before any file is read or any connection made: exit status 2.
    for bad in ["", "SEVENTEEN_CHARS_X", r"CT\1"] {
        let (code, out, err) = filmd(&[
            "print",
            "--to",
            "FILMD@127.0.0.1:9",
            "--calling-ae",
            bad,
            "missing.dcm",
        ]);
        assert_eq!(code, 2, "{bad:?}: {out}{err}");
        assert!(
            err.contains("--calling-ae") && err.contains("AE title"),
            "{bad:?}: {err}"
        );
    }
}

fn prints_over_tls_with_a_client_certificate() {
    let pki = common::certs::Pki::new();
    let server = common::Server::start_with(&[], Some(&pki.tls_section("127.0.0.1:0", true, true)));
    let port = server.tls_port.expect("a TLS listener");
    let dir = tempfile::tempdir().unwrap();
    let files = gray_files(dir.path(), &[1000, 3000]);
    let to = format!("FILMD@127.0.0.1:{port}");
    let ca = pki.ca.to_str().unwrap();
    let (cert, key) = (
        pki.client.cert.to_str().unwrap(),
        pki.client.key.to_str().unwrap(),
    );
    let mut args = vec!["print", "--to", &to, "--format", r"STANDARD\1,2", "--tls"];
    args.extend(["--ca-file", ca, "--cert", cert, "--key", key]);
    args.extend(paths(&files));
    let (code, out, err) = filmd(&args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 of 1 film(s) printed"), "{out}");
    assert_eq!(common::pdf::pages(&server.wait_pdfs(1)[0]).len(), 1);
    // Without the client certificate the server refuses the handshake: no association.
    let mut args = vec!["print", "--to", &to, "--tls", "--ca-file", ca];
    args.extend(paths(&files));
    let (code, out, err) = filmd(&args);
    assert_eq!(code, 2, "{out}{err}");
}

/// DCMTK's dcmprscp on 127.0.0.1 (through the bind shim: it binds 0.0.0.0), storing each
/// printed film box as a Stored Print object in DIR/db; stopped by PID when dropped.
struct DcmPrScp {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl DcmPrScp {
    fn start(aet: &str) -> DcmPrScp {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["db", "spool"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let log = dir.path().join("dcmprscp.log");
        let program = dcmtk("dcmprscp").expect("DCMTK's dcmprscp");
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            std::fs::write(dir.path().join("scp.cfg"), config(aet, port)).unwrap();
            let mut child = on_loopback(&program)
                .args(["-c", "scp.cfg", "-p", aet])
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log_file(&log))
                .stderr(log_file(&log))
                .spawn()
                .unwrap();
            match wait_ports(&mut child, &[port], &log) {
                Ok(()) => return DcmPrScp { dir, port, child },
                Err(e) => {
                    stop_child(&mut child);
                    last = e;
                }
            }
        }
        panic!("dcmprscp did not start: {last}");
    }

    /// The Stored Print objects in its database.
    fn stored_prints(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("db"))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("SP_") && n.ends_with(".dcm"))
            })
            .collect();
        v.sort();
        v
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dcmprscp.log")).unwrap_or_default()
    }
}

impl Drop for DcmPrScp {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

/// dcmprscp's configuration (the dcmpstat.cfg format): one LOCALPRINTER with the
/// mandatory DisplayFormat, FilmSizeID, MediumType, MagnificationType, MaxDensity and
/// FilmDestination, taking 12-bit images.
fn config(aet: &str, port: u16) -> String {
    format!(
        "[[GENERAL]]\n[PRINT]\nDirectory = spool\n[DATABASE]\nDirectory = db\n\
         [[COMMUNICATION]]\n[{aet}]\nType = LOCALPRINTER\nAetitle = {aet}\n\
         Description = filmd print test peer\nHostname = localhost\nPort = {port}\n\
         MaxPDU = 32768\nDisplayFormat = 1,1\\2,2\\1,2\nFilmSizeID = 8INX10IN\\14INX17IN\n\
         MediumType = PAPER\\CLEAR FILM\\BLUE FILM\nFilmDestination = MAGAZINE\\PROCESSOR\n\
         MagnificationType = REPLICATE\\BILINEAR\\CUBIC\\NONE\n\
         BorderDensity = 150\\20\\BLACK\\WHITE\nEmptyImageDensity = 20\\BLACK\\WHITE\n\
         MaxDensity = 320\nMinDensity = 20\nSupports12Bit = true\n\
         SupportsPresentationLUT = false\nSupportsTrim = false\n"
    )
}

fn dcmprscp_stores_a_print_object_for_each_film() {
    let scp = DcmPrScp::start("PRINTSCP");
    let dir = tempfile::tempdir().unwrap();
    let files = gray_files(dir.path(), &[0, 2000, 4095]);
    let to = format!("PRINTSCP@127.0.0.1:{}", scp.port);
    let mut args = vec!["print", "--to", &to, "--format", r"STANDARD\1,2"];
    args.extend([
        "--film-size",
        "14INX17IN",
        "--medium",
        "PAPER",
        "--copies",
        "2",
    ]);
    args.extend(paths(&files));
    let (code, out, err) = filmd(&args);
    assert_eq!(code, 0, "{out}{err}\ndcmprscp:\n{}", scp.log());
    for line in [
        "Basic Grayscale Print Management Meta: accepted",
        // dcmprscp has no Print Job SOP class: nothing to wait for.
        "Print Job: not accepted",
        "Printer N-GET: 0x0000 Success; Printer Status NORMAL",
        "Film Box N-ACTION (film 2): 0x0000 Success",
        "2 of 2 film(s) printed",
    ] {
        assert!(out.contains(line), "{line:?} not in:\n{out}");
    }
    assert_eq!(scp.stored_prints().len(), 2, "{out}\n{}", scp.log());

    // A session print of the same files: two more film boxes, printed once.
    args.push("--session-print");
    let (code, out, err) = filmd(&args);
    assert_eq!(code, 0, "{out}{err}\ndcmprscp:\n{}", scp.log());
    assert!(
        out.contains("Film Session N-ACTION: 0x0000 Success"),
        "{out}"
    );
    assert_eq!(scp.stored_prints().len(), 4, "{out}\n{}", scp.log());

    // dcmprscp prints grayscale only: a colour film is refused at negotiation.
    let rgb = dir.path().join("rgb.dcm");
    write_file(&rgb, common::scu::rgb_image(2, 2, &[[9, 9, 9]; 4]), 7);
    let (code, out, err) = filmd(&["print", "--to", &to, rgb.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("Basic Color Print Management Meta: not accepted"),
        "{out}"
    );
    assert_eq!(scp.stored_prints().len(), 4);
}

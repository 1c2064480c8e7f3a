//! Unit tests of the client: URI handling, request layout, and responses from a fake
//! printer on loopback that misbehaves in the ways the client must survive.

use super::*;

fn new(uri: &str) -> Result<IppPrinter, IppFailure> {
    IppPrinter::new(uri, None, Duration::from_secs(5))
}

#[test]
fn uris_map_to_http_urls() {
    let p = new("ipp://127.0.0.1:8631/ipp/print").unwrap();
    assert_eq!(p.url.as_str(), "http://127.0.0.1:8631/ipp/print");
    assert_eq!(p.uri(), "ipp://127.0.0.1:8631/ipp/print");
    // ipp:// without a port is 631 (RFC 7472 §4.1).
    let p = new("ipp://printer.example/printers/films").unwrap();
    assert_eq!(p.url.as_str(), "http://printer.example:631/printers/films");
    let p = new("ipps://localhost:8631/ipp/print").unwrap();
    assert_eq!(p.url.as_str(), "https://localhost:8631/ipp/print");
    let p = new("ipp://[::1]:8631/").unwrap();
    assert_eq!(p.url.as_str(), "http://[::1]:8631/");
}

#[test]
fn bad_uris_are_refused_with_a_reason() {
    let err = |u: &str| match new(u) {
        Err(IppFailure::Permanent { status, message }) => (status, message),
        other => panic!("{u}: {other:?}"),
    };
    let (status, message) = err("ipps://127.0.0.1/ipp/print");
    assert_eq!(status, "invalid-uri");
    assert!(message.contains("explicit port"), "{message}");
    assert!(err("http://127.0.0.1:631/").1.contains("is not ipp"));
    assert!(err("ipp:///ipp/print").1.contains("no host"));
    assert!(err("ipp://u:p@127.0.0.1:631/").1.contains("credentials"));
    assert!(err("not a uri").0 == "invalid-uri");
    let e = IppPrinter::new(
        "ipp://127.0.0.1:1/",
        Some(b"junk".to_vec()),
        Duration::from_secs(1),
    );
    assert!(
        matches!(e, Err(IppFailure::Permanent { ref status, .. }) if status == "tls-configuration"),
        "{e:?}"
    );
}

#[test]
fn requests_carry_the_required_operation_attributes_in_order() {
    let p = new("ipp://127.0.0.1:8631/ipp/print").unwrap();
    let a = p.request(Operation::GetJobs).unwrap();
    let b = p.request(Operation::GetJobs).unwrap();
    assert_ne!(a.header().request_id, b.header().request_id);
    let names: Vec<&str> = a
        .attributes()
        .groups_of(DelimiterTag::OperationAttributes)
        .flat_map(|g| g.attributes().iter().map(|x| x.name().as_str()))
        .collect();
    assert_eq!(
        names,
        [
            "attributes-charset",
            "attributes-natural-language",
            "printer-uri",
            "requesting-user-name"
        ]
    );
}

#[test]
fn long_job_names_are_cut_at_a_character_boundary() {
    let long = "ü".repeat(200); // 400 bytes
    let IppValue::NameWithoutLanguage(n) = name(&long).unwrap() else {
        panic!()
    };
    assert_eq!(n.as_str().len(), 254);
    assert!(long.starts_with(n.as_str()));
}

#[tokio::test]
async fn connection_refused_is_retryable() {
    // Bind then drop a listener: nothing listens on that loopback port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = new(&format!("ipp://127.0.0.1:{port}/ipp/print")).unwrap();
    let e = p.get_attributes().await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
}

// A fake printer: answers each request on a loopback port with whatever `respond` makes
// of the request's request-id, after reading the whole request.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Respond = dyn Fn(i32) -> Vec<u8> + Send + Sync;

async fn fake_printer(respond: Box<Respond>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let respond: std::sync::Arc<Respond> = respond.into();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let respond = respond.clone();
            tokio::spawn(async move {
                let Some(body) = read_request(&mut sock).await else {
                    return;
                };
                let id = body
                    .get(4..8)
                    .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                    .unwrap_or(0);
                let _ = sock.write_all(&respond(id)).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("ipp://127.0.0.1:{port}/ipp/print")
}

/// Reads an HTTP request with a Content-Length body; returns the body.
async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = sock.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())?;
    while buf.len() < header_end + len {
        let n = sock.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf[header_end..].to_vec())
}

fn http(status: &str, body: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/ipp\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    v.extend(body);
    v
}

fn attr(tag: u8, name: &str, value: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend((name.len() as u16).to_be_bytes());
    v.extend(name.as_bytes());
    v.extend((value.len() as u16).to_be_bytes());
    v.extend(value);
    v
}

/// An IPP/2.0 response: operation group (charset, language, `extra_op`), then `groups`.
fn ipp_response(status: u16, id: i32, extra_op: &[u8], groups: &[u8]) -> Vec<u8> {
    let mut v = vec![2, 0];
    v.extend(status.to_be_bytes());
    v.extend(id.to_be_bytes());
    v.push(0x01);
    v.extend(attr(0x47, "attributes-charset", b"utf-8"));
    v.extend(attr(0x48, "attributes-natural-language", b"en"));
    v.extend(extra_op);
    v.extend(groups);
    v.push(0x03);
    v
}

fn ticket() -> JobTicket {
    JobTicket {
        format: "application/pdf".into(),
        job_name: "filmd-fake".into(),
        copies: 1,
        media: None,
        print_color_mode: ColorMode::Monochrome,
        orientation_requested: Orientation::Portrait,
        printer_resolution: None,
        print_scaling: None,
    }
}

async fn fake(respond: impl Fn(i32) -> Vec<u8> + Send + Sync + 'static) -> IppPrinter {
    let uri = fake_printer(Box::new(respond)).await;
    IppPrinter::new(&uri, None, Duration::from_secs(2)).unwrap()
}

fn permanent_status(e: IppFailure) -> String {
    match e {
        IppFailure::Permanent { status, .. } => status,
        other => panic!("expected a permanent failure: {other}"),
    }
}

#[tokio::test]
async fn print_job_returns_the_job_id() {
    let p = fake(|id| {
        let mut job = vec![0x02];
        job.extend(attr(0x21, "job-id", &42i32.to_be_bytes()));
        job.extend(attr(0x23, "job-state", &3i32.to_be_bytes()));
        http("200 OK", &ipp_response(0, id, &[], &job))
    })
    .await;
    assert_eq!(p.print_job(b"%PDF".to_vec(), &ticket()).await, Ok(42));
    let job = p.job_status(42).await.unwrap();
    assert_eq!((job.id, job.state), (42, JobState::Pending));
}

#[tokio::test]
async fn busy_with_a_message_is_retryable() {
    let p = fake(|id| {
        let msg = attr(0x41, "status-message", b"Currently printing another job.");
        http("200 OK", &ipp_response(0x0507, id, &msg, &[]))
    })
    .await;
    let e = p.print_job(b"%PDF".to_vec(), &ticket()).await.unwrap_err();
    assert_eq!(
        e,
        IppFailure::Retryable {
            reason: "server-error-busy: Currently printing another job.".into()
        }
    );
}

#[tokio::test]
async fn refusal_keeps_status_name_and_message() {
    let p = fake(|id| {
        let msg = attr(0x41, "status-message", b"Unsupported document-format.");
        http("200 OK", &ipp_response(0x040B, id, &msg, &[]))
    })
    .await;
    let e = p.print_job(b"%PDF".to_vec(), &ticket()).await.unwrap_err();
    assert_eq!(
        e,
        IppFailure::Permanent {
            status: "client-error-attributes-or-values-not-supported".into(),
            message: "Unsupported document-format.".into()
        }
    );
}

#[tokio::test]
async fn http_errors() {
    let p = fake(|_| http("401 Unauthorized", b"")).await;
    assert_eq!(
        permanent_status(p.get_attributes().await.unwrap_err()),
        "http-401"
    );
    let p = fake(|_| http("503 Service Unavailable", b"")).await;
    assert!(p.get_attributes().await.unwrap_err().is_retryable());
}

#[tokio::test]
async fn malformed_responses_are_refused_without_panic() {
    let cases: Vec<Box<Respond>> = vec![
        // Not IPP at all.
        Box::new(|_| http("200 OK", b"<html>hello</html>")),
        // Another request's answer.
        Box::new(|id| http("200 OK", &ipp_response(0, id.wrapping_add(1), &[], &[]))),
        // Truncated inside a value.
        Box::new(|id| {
            let r = ipp_response(0, id, &[], &[]);
            http("200 OK", &r[..r.len() - 4])
        }),
        // Collections nested a thousand deep.
        Box::new(|id| {
            let mut g = vec![0x04];
            for _ in 0..1000 {
                g.extend(attr(0x34, "c", b""));
            }
            for _ in 0..1000 {
                g.extend(attr(0x37, "", b""));
            }
            http("200 OK", &ipp_response(0, id, &[], &g))
        }),
        // Success without the printer attributes asked for.
        Box::new(|id| http("200 OK", &ipp_response(0, id, &[], &[]))),
    ];
    for (i, respond) in cases.into_iter().enumerate() {
        let uri = fake_printer(respond).await;
        let p = IppPrinter::new(&uri, None, Duration::from_secs(2)).unwrap();
        let e = p.get_attributes().await.unwrap_err();
        assert_eq!(permanent_status(e), "malformed-response", "case {i}");
    }
}

#[tokio::test]
async fn oversized_responses_are_refused_declared_or_not() {
    let p = fake(|_| {
        b"HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nContent-Length: 3000000\r\n\r\n"
            .to_vec()
    })
    .await;
    assert_eq!(
        permanent_status(p.get_attributes().await.unwrap_err()),
        "response-too-large"
    );
    // No Content-Length: read until the connection closes, stopped at the cap.
    let p = fake(|id| {
        let mut v =
            b"HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nConnection: close\r\n\r\n"
                .to_vec();
        v.extend(ipp_response(0, id, &[], &[]));
        v.resize(v.len() + MAX_RESPONSE_BYTES + 1, 0);
        v
    })
    .await;
    assert_eq!(
        permanent_status(p.get_attributes().await.unwrap_err()),
        "response-too-large"
    );
}

#[tokio::test]
async fn silence_and_hang_ups_are_retryable() {
    // Hangs up after reading the request.
    let p = fake(|_| Vec::new()).await;
    assert!(p.get_attributes().await.unwrap_err().is_retryable());
    // Accepts but never answers: the request timeout ends it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(sock);
    });
    let p = IppPrinter::new(
        &format!("ipp://127.0.0.1:{port}/"),
        None,
        Duration::from_millis(500),
    )
    .unwrap();
    let start = std::time::Instant::now();
    let e = p.get_attributes().await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert!(start.elapsed() < Duration::from_secs(5));
    held.abort();
}

#[test]
fn uploads_get_time_in_proportion_to_their_size() {
    assert_eq!(upload_allowance(0), Duration::ZERO);
    assert_eq!(upload_allowance(1), Duration::from_secs(1));
    // A 14×17 in gray page at 300 dpi: 21 MB of pixels, uncompressed in the worst case.
    assert_eq!(upload_allowance(4200 * 5100), Duration::from_secs(82));
}

/// A printer that reads its input slowly (as raster printers that read while they print
/// do) takes a large document for longer than the request timeout: the upload is given
/// time for its size instead of being cut off and sent again.
#[tokio::test]
async fn a_slow_reader_gets_a_large_document_within_the_upload_allowance() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let mut body_end = None;
        while body_end.is_none_or(|end| got.len() < end) {
            let n = sock.read(&mut chunk).await.unwrap();
            assert!(n > 0, "client gave up after {} bytes", got.len());
            got.extend_from_slice(&chunk[..n]);
            if body_end.is_none()
                && let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n")
            {
                let head = String::from_utf8_lossy(&got[..i]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap();
                body_end = Some(i + 4 + len);
            }
            // About 1.3 MB/s.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let start = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let id = i32::from_be_bytes(got[start + 4..start + 8].try_into().unwrap());
        let mut job = vec![0x02];
        job.extend(attr(0x21, "job-id", &7i32.to_be_bytes()));
        job.extend(attr(0x23, "job-state", &3i32.to_be_bytes()));
        sock.write_all(&http("200 OK", &ipp_response(0, id, &[], &job)))
            .await
            .unwrap();
        let _ = sock.shutdown().await;
    });
    let p = IppPrinter::new(
        &format!("ipp://127.0.0.1:{port}/ipp/print"),
        None,
        Duration::from_millis(500),
    )
    .unwrap();
    let document = vec![0x55u8; 3 << 20];
    assert_eq!(p.print_job(document, &ticket()).await, Ok(7));
    server.await.unwrap();
}

/// A printer on loopback that answers its first request with job `job_id` and hands over
/// that request's body; later connections are read and get no answer.
async fn capturing_printer(job_id: i32) -> (IppPrinter, tokio::sync::oneshot::Receiver<Vec<u8>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let body = read_request(&mut sock).await.unwrap();
        let id = i32::from_be_bytes(body[4..8].try_into().unwrap());
        let mut job = vec![0x02];
        job.extend(attr(0x21, "job-id", &job_id.to_be_bytes()));
        let _ = sock
            .write_all(&http("200 OK", &ipp_response(0, id, &[], &job)))
            .await;
        let _ = tx.send(body);
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut sink = Vec::new();
                let _ = sock.read_to_end(&mut sink).await;
            });
        }
    });
    let p = IppPrinter::new(
        &format!("ipp://127.0.0.1:{port}/ipp/print"),
        None,
        Duration::from_secs(5),
    )
    .unwrap();
    (p, rx)
}

/// The ticket as the printer receives it: each job template attribute in the job
/// attributes group, print-scaling and media only when asked for.
#[tokio::test]
async fn print_job_sends_the_ticket_as_job_attributes() {
    let (p, rx) = capturing_printer(9).await;
    let t = JobTicket {
        copies: 3,
        media: Some("na_letter_8.5x11in".into()),
        print_scaling: Some("fit".into()),
        ..ticket()
    };
    assert_eq!(p.print_job(b"%PDF-1.7 test".to_vec(), &t).await, Ok(9));
    let body = rx.await.unwrap();
    let (_, attributes, _) = IppParser::new(IppReader::new(std::io::Cursor::new(body)))
        .parse_parts()
        .unwrap();
    let job = attributes
        .groups_of(DelimiterTag::JobAttributes)
        .next()
        .expect("job attributes group");
    let text = |n: &str| job.get(n).map(|a| a.value().to_string());
    assert_eq!(text("print-scaling").as_deref(), Some("fit"));
    assert_eq!(text("media").as_deref(), Some("na_letter_8.5x11in"));
    assert_eq!(text("copies").as_deref(), Some("3"));
    assert_eq!(text("print-color-mode").as_deref(), Some("monochrome"));
    assert_eq!(text("printer-resolution"), None);
}

/// A document streamed from a file arrives whole, with a Content-Length (no chunking)
/// covering the request head and the file.
#[tokio::test]
async fn a_file_document_is_streamed_with_its_length() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pwg");
    let document: Vec<u8> = (0..(3 * UPLOAD_CHUNK + 123))
        .map(|i| (i % 251) as u8)
        .collect();
    std::fs::write(&path, &document).unwrap();
    // read_request takes the body by Content-Length: a chunked body would not parse.
    let (p, rx) = capturing_printer(5).await;
    let body = DocumentBody::File {
        path: path.clone(),
        len: document.len() as u64,
    };
    assert_eq!(p.print_job(body, &ticket()).await, Ok(5));
    let received = rx.await.unwrap();
    assert!(
        received.ends_with(&document),
        "the whole file after the IPP head"
    );
    let head = received.len() - document.len();
    assert_eq!(
        received[head - 1],
        0x03,
        "end-of-attributes-tag before the document"
    );

    // A file shorter than announced fails the request rather than sending less.
    let short = DocumentBody::File {
        path,
        len: document.len() as u64 + 10,
    };
    let e = p.print_job(short, &ticket()).await.unwrap_err();
    assert!(
        e.to_string().contains("eof") || e.to_string().contains("end of file"),
        "{e}"
    );
}

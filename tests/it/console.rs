//! The web console and its JSON API over HTTP against a filmd started by the test: a film
//! printed by pynetdicom shows on every page, in the API, the association journal and the
//! metrics; the operator's actions change the jobs' and queues' states; a users file asks
//! every request for credentials; cross-site POSTs are refused; check-config keeps a
//! console off the network without users and TLS; and the console speaks HTTPS.

use crate::common;
use crate::common::harness::{Test, trials};

use common::scu::*;
use common::{PEER_DEADLINE, Server, output_within};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub fn tests() -> Vec<Test> {
    trials![
        #[needs(Pynetdicom)]
        a_printed_film_shows_on_the_pages_in_the_api_the_journal_and_the_metrics,
        operator_actions_change_the_states_of_jobs_and_queues,
        with_a_users_file_every_request_needs_credentials_and_cross_site_posts_are_refused,
        check_config_keeps_the_console_off_the_network_without_users_and_tls,
        the_console_speaks_https_with_its_certificate,
        without_users_a_request_naming_another_host_is_refused,
    ]
}

/// An HTTP client of one console, with or without credentials.
struct Console {
    base: String,
    client: reqwest::Client,
    auth: Option<(String, String)>,
}

/// An answer: status, headers, body.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {}", self.status, self.text()))
    }

    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
}

impl Console {
    fn new(base: &str) -> Console {
        Console::with_client(base, reqwest::Client::builder())
    }

    fn with_client(base: &str, builder: reqwest::ClientBuilder) -> Console {
        let client = builder
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        Console {
            base: base.trim_end_matches('/').to_string(),
            client,
            auth: None,
        }
    }

    fn logged_in(mut self, name: &str, password: &str) -> Console {
        self.auth = Some((name.into(), password.into()));
        self
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let request = match &self.auth {
            Some((name, password)) => request.basic_auth(name, Some(password)),
            None => request,
        };
        let response = request.send().await.expect("HTTP request");
        Answer {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.bytes().await.expect("HTTP body").to_vec(),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    /// GET a page or API path that must answer 200.
    async fn ok(&self, path: &str) -> Answer {
        let a = self.get(path).await;
        assert_eq!(a.status, StatusCode::OK, "GET {path}: {}", a.text());
        a
    }

    async fn post_json(&self, path: &str, body: Value, extra: &[(&str, &str)]) -> Answer {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        for (name, value) in extra {
            request = request.header(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        self.send(request).await
    }

    /// POST an HTML form as the browser sends it (same-origin).
    async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", filmd::admin::web::html::url(v)))
            .collect();
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", self.base.as_str())
            .header("sec-fetch-site", "same-origin")
            .body(body.join("&"));
        self.send(request).await
    }

    /// The form token of a page's forms.
    async fn token(&self, path: &str) -> String {
        let page = self.ok(path).await.text();
        let at = page
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no form on {path}: {page}"))
            + "name=\"csrf\" value=\"".len();
        page[at..at + 64].to_string()
    }

    async fn job(&self, id: &str) -> Value {
        self.ok(&format!("/api/v1/jobs/{id}")).await.json()
    }

    async fn queue(&self, name: &str) -> Value {
        let all = self.ok("/api/v1/queues").await.json();
        all["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no queue {name}: {all}"))
    }
}

/// Waits (at most 60 s: a bound for a loaded machine, not a timing) until `f` gives a value.
async fn wait_for<T, F: Future<Output = Option<T>>>(
    what: &str,
    server: &Server,
    mut f: impl FnMut() -> F,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out: {what}\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The job of `calling_ae`, once the API lists it in `state`.
async fn job_in_state(console: &Console, server: &Server, calling_ae: &str, state: &str) -> Value {
    let path = format!("/api/v1/jobs?calling_ae={calling_ae}");
    wait_for(
        &format!("a job of {calling_ae} {state}"),
        server,
        || async {
            let page = console.ok(&path).await.json();
            page["jobs"]
                .as_array()
                .and_then(|jobs| jobs.iter().find(|j| j["state"] == state).cloned())
        },
    )
    .await
}

/// Prints one 1×1 film from filmd's own SCU with calling AE `calling_ae`.
fn print_one(server: &Server, calling_ae: &str) {
    let options = filmd::scu::ScuOptions {
        calling_ae: calling_ae.into(),
        ..Default::default()
    };
    let mut scu =
        Scu(filmd::scu::Scu::connect(("127.0.0.1", server.port), &options).expect("association"));
    let pixels: Vec<u16> = (0..32 * 32).map(|p| (p % 32 * 8) as u16).collect();
    let spec = FilmSpec::gray(
        "STANDARD\\1,1",
        vec![Some(gray_image(32, 32, 8, "MONOCHROME2", &pixels))],
    );
    let (status, _) = print_film(&mut scu, &spec);
    assert_eq!(status, 0, "N-ACTION status");
    scu.release();
}

/// pynetdicom prints a film; its job reaches every page, the API with its history and
/// film parameters, its preview and PDF downloads, the association journal (with its one
/// film, released) and the film counter of `/metrics`.
async fn a_printed_film_shows_on_the_pages_in_the_api_the_journal_and_the_metrics() {
    let mut server = Server::start();
    let console = Console::new(&server.console_url());
    let script = common::repo_root().join("tests/peers/pynet_print.py");
    let out = output_within(
        Command::new("python3").arg(&script).args([
            "--port",
            &server.port.to_string(),
            "--calling-ae",
            "CT_CONSOLE",
            "--label",
            "CONSOLE <b>&",
            "--scenario",
            "print",
        ]),
        PEER_DEADLINE,
    );
    assert!(
        out.status.success(),
        "pynet_print.py: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let job = job_in_state(&console, &server, "CT_CONSOLE", "done").await;
    let id = job["id"].as_str().unwrap().to_string();
    assert_eq!(job["label"], "CONSOLE <b>&");

    let overview = console.ok("/").await.text();
    for hook in [
        "<table id=\"queues\">",
        "<tr data-queue=\"default\">",
        "<td class=\"queue-state\">accepting</td>",
        "<td class=\"printer-status status-normal\">NORMAL</td>",
        "<td class=\"films-today\">1</td>",
        "<table id=\"recent-jobs\">",
        &format!("<tr data-job=\"{id}\">"),
        "data-action=\"pause\"",
        "data-action=\"refuse\"",
        "<main id=\"live\">",
    ] {
        assert!(overview.contains(hook), "overview lacks {hook}: {overview}");
    }
    assert!(!overview.contains("CONSOLE <b>"), "labels are escaped");
    assert!(overview.contains("CONSOLE &lt;b&gt;&amp;"));

    let jobs = console
        .ok("/jobs?state=done&calling_ae=CT_CONSOLE")
        .await
        .text();
    assert!(jobs.contains(&format!("<tr data-job=\"{id}\">")), "{jobs}");
    assert!(
        jobs.contains("<td class=\"state state-done\">done</td>"),
        "{jobs}"
    );
    assert!(jobs.contains(&format!("<a class=\"job-link\" href=\"/jobs/{id}\">")));
    let others = console.ok("/jobs?calling_ae=SOMEONE_ELSE").await.text();
    assert!(!others.contains(&id), "{others}");

    let page = console.ok(&format!("/jobs/{id}")).await.text();
    for hook in [
        "id=\"job-state\"",
        "<img class=\"preview\"",
        "id=\"download-pdf\"",
        "<ol id=\"history\">",
        "data-event=\"received\"",
        "data-event=\"done\"",
        "STANDARD\\1,1",
    ] {
        assert!(page.contains(hook), "job page lacks {hook}: {page}");
    }
    assert!(
        !page.contains("data-action="),
        "no action applies to a done job: {page}"
    );

    let png = console.ok(&format!("/jobs/{id}/films/1.png")).await;
    assert_eq!(png.header("content-type"), "image/png");
    assert!(png.body.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(
        console.get(&format!("/jobs/{id}/films/2.png")).await.status,
        StatusCode::NOT_FOUND
    );
    let pdf = console.ok(&format!("/jobs/{id}/pdf")).await;
    assert_eq!(pdf.header("content-type"), "application/pdf");
    assert!(pdf.header("content-disposition").starts_with("attachment"));
    assert_eq!(
        pdf.body,
        std::fs::read(&server.pdfs()[0]).unwrap(),
        "the archived PDF"
    );

    let detail = console.job(&id).await;
    let events: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["event"].as_str())
        .collect();
    assert_eq!(events.first(), Some(&"received"), "{detail}");
    assert_eq!(events.last(), Some(&"done"), "{detail}");
    assert_eq!(
        detail["films"][0]["params"]["display_format"],
        "STANDARD\\1,1"
    );
    assert_eq!(detail["actions"], json!([]));
    assert_eq!(
        detail["films"][0]["preview_url"],
        format!("/jobs/{id}/films/1.png")
    );
    assert_eq!(detail["pdf_url"], format!("/jobs/{id}/pdf"));

    let journal = console.ok("/api/v1/associations").await.json();
    let printed = journal["associations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["calling_ae"] == "CT_CONSOLE")
        .cloned()
        .unwrap_or_else(|| panic!("the association is journaled: {journal}"));
    assert_eq!(printed["films"], 1, "{printed}");
    assert_eq!(printed["outcome"]["kind"], "released", "{printed}");
    let page = console.ok("/associations").await.text();
    assert!(
        page.contains(&format!("<tr data-assoc=\"{}\"", printed["id"])),
        "{page}"
    );

    let metrics = console.ok("/metrics").await;
    assert!(
        metrics.header("content-type").starts_with("text/plain"),
        "{}",
        metrics.header("content-type")
    );
    let text = metrics.text();
    assert!(
        text.lines()
            .any(|l| l == "filmd_films_printed_total{queue=\"default\"} 1"),
        "{text}"
    );
    assert_eq!(console.ok("/healthz").await.text(), "ok\n");
    assert_eq!(console.ok("/readyz").await.json()["ready"], true);
}

/// Pause, hold, resume, release, cancel, retry, refuse and accept, through the API and
/// through the pages' forms: each changes what the API and the pages say, and what cannot
/// be done is refused with 400, 404 or 409 and a reason.
async fn operator_actions_change_the_states_of_jobs_and_queues() {
    let mut server = Server::start();
    let console = Console::new(&server.console_url());
    // The pages' script listens here: an action is announced as a `change` event.
    let mut events = console
        .client
        .get(format!("{}/events", console.base))
        .send()
        .await
        .expect("/events");
    assert_eq!(
        events.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let paused = console
        .post_json("/api/v1/queues/default/pause", json!({}), &[])
        .await;
    assert_eq!(paused.status, StatusCode::OK, "{}", paused.text());
    let mut heard = String::new();
    while !heard.contains("event: change") {
        let chunk = tokio::time::timeout(Duration::from_secs(30), events.chunk())
            .await
            .expect("a change event within 30 s")
            .expect("the event stream")
            .expect("open");
        heard.push_str(&String::from_utf8_lossy(&chunk));
    }
    drop(events);
    assert_eq!(console.queue("default").await["paused"], true);
    let overview = console.ok("/").await.text();
    assert!(
        overview.contains("<td class=\"queue-state\">paused</td>"),
        "{overview}"
    );
    assert!(
        overview.contains("data-action=\"resume\"") && !overview.contains("data-action=\"pause\"")
    );

    // A film printed to the paused queue waits; held, it stays held after the resume.
    print_one(&server, "CT_HOLD");
    let job = job_in_state(&console, &server, "CT_HOLD", "received").await;
    let id = job["id"].as_str().unwrap().to_string();
    let token = console.token(&format!("/jobs/{id}")).await;
    let held = console
        .post_form(&format!("/jobs/{id}/hold"), &[("csrf", &token)])
        .await;
    assert_eq!(held.status, StatusCode::SEE_OTHER, "{}", held.text());
    assert_eq!(held.header("location"), format!("/jobs/{id}"));
    assert_eq!(console.job(&id).await["job"]["held"], true);
    let jobs = console.ok("/jobs").await.text();
    assert!(
        jobs.contains("<td class=\"state state-received\">received (held)</td>"),
        "{jobs}"
    );
    let page = console.ok(&format!("/jobs/{id}")).await.text();
    assert!(page.contains("data-action=\"release\"") && page.contains("data-action=\"cancel\""));
    assert!(!page.contains("data-action=\"hold\""), "{page}");
    let resumed = console
        .post_form("/queues/default/resume", &[("csrf", &token)])
        .await;
    assert_eq!(resumed.status, StatusCode::SEE_OTHER, "{}", resumed.text());
    assert_eq!(console.queue("default").await["paused"], false);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        console.job(&id).await["job"]["state"],
        "received",
        "held: not delivered"
    );
    let released = console
        .post_json(&format!("/api/v1/jobs/{id}/release"), json!({}), &[])
        .await;
    assert_eq!(released.status, StatusCode::OK, "{}", released.text());
    job_in_state(&console, &server, "CT_HOLD", "done").await;
    server.wait_pdfs(1);

    // What cannot be done is refused with a reason.
    let again = console
        .post_json(&format!("/api/v1/jobs/{id}/retry"), json!({}), &[])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(
        again.json()["error"]
            .as_str()
            .unwrap()
            .contains("only failed or cancelled")
    );
    let hold_done = console
        .post_json(&format!("/api/v1/jobs/{id}/hold"), json!({}), &[])
        .await;
    assert_eq!(
        hold_done.status,
        StatusCode::CONFLICT,
        "{}",
        hold_done.text()
    );
    // An identity is for a job that goes to a PACS and is not finished; its fields are
    // checked against their VR first (400), then the job (409).
    let detail = console.job(&id).await;
    assert_eq!(detail["job"]["destinations"], json!([]));
    assert_eq!(detail["job"]["identity"], Value::Null);
    let bad_sex = console
        .post_json(
            &format!("/api/v1/jobs/{id}/assign"),
            json!({"identity": {"PatientID": "123", "PatientSex": "X"}}),
            &[],
        )
        .await;
    assert_eq!(
        bad_sex.status,
        StatusCode::BAD_REQUEST,
        "{}",
        bad_sex.text()
    );
    assert!(
        bad_sex.json()["error"]
            .as_str()
            .unwrap()
            .contains("PatientSex \"X\": M, F or O")
    );
    let assign_done = console
        .post_json(
            &format!("/api/v1/jobs/{id}/assign"),
            json!({"identity": {"PatientID": "123"}}),
            &[],
        )
        .await;
    assert_eq!(
        assign_done.status,
        StatusCode::CONFLICT,
        "{}",
        assign_done.text()
    );
    assert!(
        assign_done.json()["error"]
            .as_str()
            .unwrap()
            .contains("cannot be given an identity: it is done"),
        "{}",
        assign_done.text()
    );
    let assign_form = console
        .post_form(
            &format!("/jobs/{id}/assign"),
            &[("csrf", &token), ("PatientID", "123")],
        )
        .await;
    assert_eq!(
        assign_form.status,
        StatusCode::CONFLICT,
        "{}",
        assign_form.text()
    );
    assert!(
        !console
            .ok(&format!("/jobs/{id}"))
            .await
            .text()
            .contains("data-action=\"assign\"")
    );
    let unknown = console
        .post_json("/api/v1/jobs/no-such-job/cancel", json!({}), &[])
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        console.get("/api/v1/jobs/no-such-job").await.status,
        StatusCode::NOT_FOUND
    );
    let bad = console
        .post_json(&format!("/api/v1/jobs/{id}/explode"), json!({}), &[])
        .await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
    assert_eq!(
        console.get("/api/v1/jobs?state=lost").await.status,
        StatusCode::BAD_REQUEST
    );
    let not_json = console
        .send(
            console
                .client
                .post(format!("{}/api/v1/jobs/{id}/cancel", console.base)),
        )
        .await;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Cancelled on a paused queue, then printed again as a new job.
    console
        .post_json("/api/v1/queues/default/pause", json!({}), &[])
        .await;
    print_one(&server, "CT_CANCEL");
    let job = job_in_state(&console, &server, "CT_CANCEL", "received").await;
    let cancelled_id = job["id"].as_str().unwrap().to_string();
    let cancel = console
        .post_json(
            &format!("/api/v1/jobs/{cancelled_id}/cancel"),
            json!({}),
            &[],
        )
        .await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.text());
    assert_eq!(
        console.job(&cancelled_id).await["job"]["state"],
        "cancelled"
    );
    let retry = console
        .post_json(
            &format!("/api/v1/jobs/{cancelled_id}/retry"),
            json!({"force": false}),
            &[],
        )
        .await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.text());
    let new_id = retry.json()["id"].as_str().unwrap().to_string();
    assert_ne!(new_id, cancelled_id);
    assert_eq!(
        console.job(&cancelled_id).await["job"]["retried_as"],
        new_id.as_str()
    );
    console
        .post_json("/api/v1/queues/default/resume", json!({}), &[])
        .await;

    // Refusing with a reason, and accepting again.
    let no_reason = console
        .post_json("/api/v1/queues/default/refuse", json!({}), &[])
        .await;
    assert_eq!(
        no_reason.status,
        StatusCode::BAD_REQUEST,
        "{}",
        no_reason.text()
    );
    let refuse = console
        .post_json(
            "/api/v1/queues/default/refuse",
            json!({"reason": "film jam"}),
            &[],
        )
        .await;
    assert_eq!(refuse.status, StatusCode::OK, "{}", refuse.text());
    assert_eq!(console.queue("default").await["refusing"], "film jam");
    let overview = console.ok("/").await.text();
    assert!(
        overview.contains("<td class=\"queue-state\">refusing: film jam</td>"),
        "{overview}"
    );
    assert!(overview.contains("data-action=\"accept\""));
    let unknown_queue = console
        .post_json("/api/v1/queues/nowhere/pause", json!({}), &[])
        .await;
    assert_eq!(unknown_queue.status, StatusCode::NOT_FOUND);
    let token = console.token("/").await;
    let accept = console
        .post_form("/queues/default/accept", &[("csrf", &token)])
        .await;
    assert_eq!(accept.status, StatusCode::SEE_OTHER, "{}", accept.text());
    assert_eq!(console.queue("default").await["refusing"], Value::Null);
}

/// `filmd hash-password`'s argon2id line and an `htpasswd -B` bcrypt line in a users
/// file: requests without them, or with a wrong password, get 401 and the Basic
/// challenge (loopback too); the probes answer anyone. A POST that says it comes from
/// another site, or a form without its user's token, is refused (403) and changes nothing.
async fn with_a_users_file_every_request_needs_credentials_and_cross_site_posts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    let hash = hash_password("s3cret");
    std::fs::write(
        &users,
        format!(
            "# console users\nalice:{hash}\n\
             bob:$2y$05$maEpGMS3Xl.3b2l44q/FWuYqabM3LhXAtjZ2ntUGr3FYClPExcms.\n"
        ),
    )
    .unwrap();
    let config = format!(
        "[admin]\nhttp_listen = \"127.0.0.1:0\"\nusers_file = {:?}\n",
        users.display().to_string()
    );
    let mut server = Server::start_with(&[], Some(&config));
    let url = server.console_url();
    let anonymous = Console::new(&url);
    for path in [
        "/",
        "/jobs",
        "/api/v1/jobs",
        "/api/v1/queues",
        "/metrics",
        "/events",
    ] {
        let a = anonymous.get(path).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(
            a.header("www-authenticate")
                .starts_with("Basic realm=\"filmd\"")
        );
    }
    let wrong = Console::new(&url).logged_in("alice", "secret");
    assert_eq!(wrong.get("/").await.status, StatusCode::UNAUTHORIZED);
    let nobody = Console::new(&url).logged_in("carol", "s3cret");
    assert_eq!(nobody.get("/").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.ok("/healthz").await.text(), "ok\n");
    anonymous.ok("/readyz").await;
    let alice = Console::new(&url).logged_in("alice", "s3cret");
    let bob = Console::new(&url).logged_in("bob", "secret");
    alice.ok("/").await;
    bob.ok("/api/v1/queues").await;

    let pause = "/api/v1/queues/default/pause";
    let cross_site = alice
        .post_json(pause, json!({}), &[("sec-fetch-site", "cross-site")])
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    let other_origin = alice
        .post_json(pause, json!({}), &[("origin", "http://evil.example")])
        .await;
    assert_eq!(other_origin.status, StatusCode::FORBIDDEN);
    let no_token = alice.post_form("/queues/default/pause", &[]).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let alices_token = alice.token("/").await;
    let borrowed = bob
        .post_form("/queues/default/pause", &[("csrf", &alices_token)])
        .await;
    assert_eq!(
        borrowed.status,
        StatusCode::FORBIDDEN,
        "a token is its user's"
    );
    let unauthenticated = anonymous
        .post_form("/queues/default/pause", &[("csrf", &alices_token)])
        .await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        alice.queue("default").await["paused"],
        false,
        "nothing changed"
    );
    let own = alice
        .post_form("/queues/default/pause", &[("csrf", &alices_token)])
        .await;
    assert_eq!(own.status, StatusCode::SEE_OTHER, "{}", own.text());
    assert_eq!(alice.queue("default").await["paused"], true);
}

/// `filmd hash-password`, fed `password` on standard input.
fn hash_password(password: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_filmd"))
        .arg("hash-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("filmd hash-password");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let hash = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    hash
}

/// Runs `filmd check-config` on `text`.
fn check_config(dir: &Path, text: &str) -> std::process::Output {
    let file = dir.join("filmd.toml");
    std::fs::write(&file, text).unwrap();
    output_within(
        Command::new(env!("CARGO_BIN_EXE_filmd"))
            .arg("check-config")
            .arg(&file),
        PEER_DEADLINE,
    )
}

/// A console on a non-loopback address is refused unless it has users and TLS; the
/// default is on, on loopback, and check-config says where.
fn check_config_keeps_the_console_off_the_network_without_users_and_tls() {
    let pki = common::certs::Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    std::fs::write(&users, format!("alice:{}\n", hash_password("pw"))).unwrap();
    let path = |p: &Path| format!("{:?}", p.display().to_string());

    let out = check_config(dir.path(), "[admin]\nhttp_listen = \"0.0.0.0:8631\"\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("admin.http_listen") && stderr.contains("users_file"),
        "{stderr}"
    );

    let users_only = format!(
        "[admin]\nhttp_listen = \"0.0.0.0:8631\"\nusers_file = {}\n",
        path(&users)
    );
    let out = check_config(dir.path(), &users_only);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("tls_cert"), "{stderr}");

    let both = format!(
        "{users_only}tls_cert = {}\ntls_key = {}\n",
        path(&pki.server.cert),
        path(&pki.server.key)
    );
    let out = check_config(dir.path(), &both);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("web console on https://0.0.0.0:8631/ (users from"),
        "{stdout}"
    );

    let out = check_config(dir.path(), "[server]\nae_title = \"FILMD\"\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("web console on http://127.0.0.1:8631/ (no log-in"),
        "{stdout}"
    );
    let out = check_config(dir.path(), "[admin]\nhttp_listen = \"\"\n");
    assert!(String::from_utf8_lossy(&out.stdout).contains("web console: off"));
}

/// With `tls_cert` and `tls_key` the console is HTTPS: a client trusting the CA gets the
/// pages (with its password); plain HTTP to the port gets nothing.
async fn the_console_speaks_https_with_its_certificate() {
    let pki = common::certs::Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    std::fs::write(&users, format!("alice:{}\n", hash_password("pw"))).unwrap();
    let config = format!(
        "[admin]\nhttp_listen = \"127.0.0.1:0\"\nusers_file = {:?}\ntls_cert = {:?}\ntls_key = {:?}\n",
        users.display().to_string(),
        pki.server.cert.display().to_string(),
        pki.server.key.display().to_string()
    );
    let mut server = Server::start_with(&[], Some(&config));
    let url = server.console_url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let ca = reqwest::Certificate::from_pem_bundle(&std::fs::read(&pki.ca).unwrap()).unwrap();
    let console = Console::with_client(&url, reqwest::Client::builder().tls_certs_only(ca))
        .logged_in("alice", "pw");
    let overview = console.ok("/").await.text();
    assert!(overview.contains("<table id=\"queues\">"));
    let plain = Console::new(&url.replace("https://", "http://")).logged_in("alice", "pw");
    let request = plain.client.get(format!("{}/", plain.base)).send().await;
    assert!(
        request
            .as_ref()
            .map_or(true, |r| r.status() != StatusCode::OK),
        "plain HTTP served: {request:?}"
    );
}

/// Without a users file only loopback reaches the console, but a web page can make a
/// browser here reach it under the page's own host name pointed at 127.0.0.1 (DNS
/// rebinding): such a request names that host, and gets 403 with nothing in it.
async fn without_users_a_request_naming_another_host_is_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut server = Server::start();
    let url = server.console_url();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let ask = |host: String, path: &'static str| {
        let addr = addr.clone();
        async move {
            let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let request =
                format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            tokio::time::timeout(PEER_DEADLINE, stream.read_to_end(&mut answer))
                .await
                .expect("the console answers")
                .unwrap();
            String::from_utf8_lossy(&answer).into_owned()
        }
    };
    let port = addr.rsplit_once(':').unwrap().1;
    for (host, path) in [
        (format!("rebound.example:{port}"), "/api/v1/jobs"),
        (format!("rebound.example:{port}"), "/"),
        (format!("10.1.2.3:{port}"), "/metrics"),
    ] {
        let answer = ask(host.clone(), path).await;
        assert!(answer.starts_with("HTTP/1.1 403"), "{host}{path}: {answer}");
        assert!(
            !answer.contains("\"jobs\""),
            "{host}{path} leaked the jobs: {answer}"
        );
    }
    for host in [addr.clone(), format!("localhost:{port}")] {
        let answer = ask(host.clone(), "/api/v1/jobs").await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{host}: {answer}");
    }
    let probe = ask(format!("rebound.example:{port}"), "/healthz").await;
    assert!(
        probe.starts_with("HTTP/1.1 200"),
        "the probes answer any host: {probe}"
    );
}

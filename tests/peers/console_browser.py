#!/usr/bin/env python3
r"""A real browser on filmd's web console: selenium drives headless Chromium (Debian's
/usr/bin/chromium through /usr/bin/chromedriver).

  console_browser.py --base http://127.0.0.1:PORT [--auth USER:PASS]
                     --scenario NAME [--queue Q] [--screenshots DIR] [--timeout S]

It finds its way by the console's stable DOM hooks (README "Web console"):
overview `table#queues` / `tr[data-queue]` / `td.printer-status` / `td.queue-state` /
`form[data-action]`, `table#recent-jobs` / `tr[data-job]`; jobs `table#jobs` /
`td.state` / `a.job-link`; job page `#job-state`, `img.preview`, `a#download-pdf`,
`form[data-action]`, `ol#history`; every page's `<main id="live">`, which the page's
script replaces when the server's event stream (`/events`) says something changed.

Talking to the test that runs it (stdin/stdout, one line each):
  READY <step> [ID...]  the script is at <step> and waits for one line on stdin
                        (what the test does meanwhile: the step list below); an
                        answer starting with "fail" ends the run as a failure
  RESULT <json>         last line: {"ok": bool, "jobs": {...}, "checks": [...],
                        "error": "..."}
Progress goes to stderr. Exit status 0 when every check passed, 1 when one failed
(the message names it), 2 on bad usage.

Scenarios
  tour     what the issue asks of a real browser, on a console whose queue --queue
           starts accepting and not paused:
           - loads the overview (every queue row has a printer status and a state);
           - READY print: the test prints one job; its row must appear in
             table#recent-jobs WITHOUT a reload (live refresh over SSE);
           - opens that job through its link, waits for #job-state "done", finds
             every img.preview decoded (complete, naturalWidth > 0) and
             a#download-pdf answering a PDF; screenshot job.png;
           - pauses --queue (its form), sees td.queue-state "paused";
           - READY print-paused: the test prints two jobs into --queue; both rows
             appear live; holds both (their pages' hold forms: each then offers
             release, not hold) and sees "(held)" in table#jobs;
           - releases the first; READY released ID1 ID2: the test checks nothing of
             them was delivered (the queue is paused);
           - resumes --queue ("accepting"); the released job's page goes to "done"
             live; the other, still held, is not delivered: cancels it ("cancelled");
           - screenshot overview.png of the overview at the end.
           RESULT jobs: first, released, cancelled.
  watch    opens the overview and keeps it open until stdin closes (or --duration),
           counting the live refreshes; RESULT {"refreshes": N, "replaced": N,
           "mutations": N, "seconds": S} (#live replaced, changes inside it; their sum)
  snapshot loads --path (default /) and saves page.png; checks it has <main id="live">.

Browser: --headless=new, --no-sandbox (CI runs as root), a fixed --window-size, a
fresh profile in a temporary directory, chromedriver on a free loopback port chosen
here; both stopped (driver.quit) in `finally`, on SIGTERM too.
"""

import argparse
import base64
import faulthandler
import inspect
import json
import math
import os
import shutil
import signal
import socket
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep tests/peers free of __pycache__

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WINDOW = (1280, 900)


class CheckFailed(Exception):
    """A check of the console failed: the message says which and what was seen."""


# What a live refresh that never comes most often means.
LIVE_HINT = ("\nThe page's live refresh did not bring it. Is its EventSource connected? Chromium "
             "opens at most 6 connections to one host over HTTP/1.1, and a page kept in the "
             "back/forward cache keeps its EventSource open unless the page closes it on "
             "pagehide; the 7th page then waits forever for /events.")


def log(*args):
    print("console_browser:", *args, file=sys.stderr, flush=True)


def free_port():
    """A free TCP port on 127.0.0.1 for chromedriver (closed again before use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_browser(args, profile):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = args.chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--force-device-scale-factor=1",
        "--disable-gpu",
        "--hide-scrollbars",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--password-store=basic",
        "--lang=en-US",
        f"--user-data-dir={profile}",
        *args.chromium_flag,
    ):
        opts.add_argument(flag)
    port = args.driver_port or free_port()
    # selenium 4.8 (Debian bookworm) names the log file log_path, later ones log_output
    log_arg = "log_output" if "log_output" in inspect.signature(Service.__init__).parameters \
        else "log_path"
    service = Service(executable_path=args.chromedriver, port=port,
                      **{log_arg: os.path.join(profile, "chromedriver.log")})
    log(f"chromedriver on 127.0.0.1:{port}, {args.chromium}")
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_page_load_timeout(args.timeout)
    driver.set_script_timeout(args.timeout)
    if args.auth:
        # HTTP Basic credentials on every request the page makes (navigations,
        # images, fetch, the EventSource): Chromium would not send URL credentials
        # with subresources
        token = base64.b64encode(args.auth.encode()).decode()
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                               {"headers": {"Authorization": f"Basic {token}"}})
    return driver


class Console:
    """The browser on one console, with waits that re-query the DOM each time (the
    live refresh replaces #live, so any element may go stale between two looks)."""

    def __init__(self, driver, args):
        self.d = driver
        self.a = args
        self.base = args.base.rstrip("/")
        self.checks = []

    # ---- plumbing ---------------------------------------------------------
    def ok(self, text):
        self.checks.append(text)
        log("ok:", text)

    def url(self, path):
        return self.base + path

    def get(self, path):
        from selenium.common.exceptions import TimeoutException

        try:
            self.d.get(self.url(path))
        except TimeoutException as e:
            raise CheckFailed(
                f"loading {path} timed out ({e.msg}). If earlier pages are still connected "
                "to /events: Chromium opens at most 6 connections to one host over HTTP/1.1, "
                "and a page in the back/forward cache keeps its EventSource open unless the "
                "page closes it on pagehide") from None
        self.wait_loaded()
        self.mark()

    def wait_loaded(self):
        self.until("the page loaded",
                   lambda: self.js("return document.readyState") == "complete")
        if self.js("return document.getElementById('live') === null"):
            raise CheckFailed(f"{self.d.current_url}: no <main id=\"live\"> (HTTP status "
                              f"{self.status()}, title {self.d.title!r}): "
                              f"{self.text_of_body()[:300]!r}")

    def status(self):
        """The HTTP status of the document shown (0 if unknown)."""
        return self.js("const n = performance.getEntriesByType('navigation')[0];"
                       "return n ? n.responseStatus || 0 : 0;")

    def mark(self):
        """Marks this page load: a reload or navigation loses the mark."""
        self.js("window.__consoleBrowserMark = 'kept';")

    def marked(self):
        return self.js("return window.__consoleBrowserMark === 'kept'")

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def text_of_body(self):
        return self.js("return document.body ? document.body.innerText : ''") or ""

    def until(self, what, cond, timeout=None, hint=""):
        """Polls `cond` (exceptions count as not yet) until it returns a truthy value."""
        from selenium.common.exceptions import WebDriverException

        deadline = time.monotonic() + (timeout or self.a.timeout)
        last = None
        while True:
            try:
                v = cond()
                if v:
                    return v
            except (WebDriverException, CheckFailed) as e:
                last = e
            if time.monotonic() > deadline:
                where = self.d.current_url
                raise CheckFailed(f"timed out after {timeout or self.a.timeout} s waiting for "
                                  f"{what} on {where}" + (f" (last error: {last})" if last else "")
                                  + f"\npage text: {self.text_of_body()[:1500]!r}" + hint)
            time.sleep(0.1)

    def all(self, css):
        from selenium.webdriver.common.by import By
        return self.d.find_elements(By.CSS_SELECTOR, css)

    def one(self, css):
        found = self.all(css)
        if not found:
            raise CheckFailed(f"{self.d.current_url}: no element {css}")
        return found[0]

    def text(self, css):
        return self.one(css).text.strip()

    def submit(self, form_css):
        """Submits a form as a user does, with its button (accepting a confirm())."""
        from selenium.common.exceptions import NoAlertPresentException
        from selenium.webdriver.common.by import By

        form = self.one(form_css)
        buttons = form.find_elements(By.CSS_SELECTOR, "button, input[type=submit]")
        before = self.d.current_url
        log(f"submit {form_css} on {before}")
        self.js("""
            window.__consoleBrowserMark = 'submitted';
            window.addEventListener('beforeunload', () => { window.__consoleBrowserLeaving = true; });
        """)
        if buttons:
            buttons[0].click()
        else:
            self.js("arguments[0].requestSubmit()", form)
        try:
            self.d.switch_to.alert.accept()
        except NoAlertPresentException:
            pass
        # The form POSTs and the server answers with a page (or a redirect to one): wait
        # for that new document, so that no later navigation cuts the POST short. A
        # page script may instead post with fetch() and stay: then nothing unloads.
        t0 = time.monotonic()

        def settled():
            state = self.js("return [window.__consoleBrowserMark || null, "
                            "window.__consoleBrowserLeaving === true, document.readyState]")
            mark, leaving, ready = state
            if mark != "submitted":
                return ready == "complete"  # the new document
            return not leaving and time.monotonic() - t0 > 3  # posted without leaving
        self.until(f"the answer to {form_css}", settled)
        status = self.status()
        if status >= 400:
            raise CheckFailed(f"{form_css}: the console answered {status} on {self.d.current_url}: "
                              f"{self.text_of_body()[:500]!r}")
        self.wait_loaded()
        self.mark()

    # ---- overview ---------------------------------------------------------
    def queue_row(self, queue):
        return f'table#queues tr[data-queue="{queue}"]'

    def queue_state(self, queue):
        return self.text(self.queue_row(queue) + " td.queue-state")

    def recent_jobs(self):
        return [r.get_attribute("data-job") for r in self.all("table#recent-jobs tr[data-job]")]

    def overview(self):
        self.get("/")
        rows = self.all("table#queues tr[data-queue]")
        if not rows:
            raise CheckFailed("overview: table#queues has no tr[data-queue]")
        queues = [r.get_attribute("data-queue") for r in rows]
        for q in queues:
            status = self.text(self.queue_row(q) + " td.printer-status")
            state = self.queue_state(q)
            if not status or not state:
                raise CheckFailed(f"overview: queue {q}: printer status {status!r}, state {state!r}")
        self.one("table#recent-jobs")
        self.ok(f"overview lists queues {queues}")
        return queues

    def wait_new_jobs(self, seen, n, what):
        """Waits for n rows not in `seen` in table#recent-jobs, on this page load."""
        def fresh():
            if not self.marked():
                raise CheckFailed("the overview was reloaded or left: the new job had to "
                                  "appear by the live refresh")
            new = [j for j in self.recent_jobs() if j not in seen]
            return new if len(new) >= n else None
        new = self.until(f"{n} new job row(s) in table#recent-jobs ({what})", fresh,
                         hint=LIVE_HINT)
        if not self.marked():
            raise CheckFailed("the overview was reloaded: the job must appear live")
        self.ok(f"{what}: {new} appeared on the open overview without a reload")
        return new

    def set_queue(self, queue, action, expect):
        self.get("/")
        self.submit(f'{self.queue_row(queue)} form[data-action="{action}"]')
        self.get("/")
        self.until(f"queue {queue} state {expect!r}",
                   lambda: self.queue_state(queue) == expect)
        self.ok(f"{action} {queue}: the overview says {expect!r}")

    # ---- a job ------------------------------------------------------------
    def job_state(self):
        return self.text("#job-state")

    def actions(self):
        return sorted(f.get_attribute("data-action") for f in self.all("form[data-action]"))

    def wait_job_state(self, job, want, live=True):
        """Waits on the open job page until #job-state starts with `want`."""
        def reached():
            if live and not self.marked():
                raise CheckFailed(f"job {job}'s page was reloaded: the state must change live")
            s = self.job_state()
            return s if s.split()[0] == want else None
        s = self.until(f"job {job} state {want!r}", reached, hint=LIVE_HINT if live else "")
        self.ok(f"job {job}: #job-state {s!r}" + (" (live)" if live else ""))
        return s

    def open_job_from(self, job, row_css):
        """Opens a job through its row's link, as an operator does."""
        from selenium.webdriver.common.by import By

        row = self.one(row_css)
        links = row.find_elements(By.CSS_SELECTOR, "a.job-link") or row.find_elements(By.TAG_NAME, "a")
        if not links:
            raise CheckFailed(f"{row_css}: no link to the job page")
        links[0].click()
        self.until(f"job {job}'s page", lambda: self.all("#job-state"))
        self.wait_loaded()
        self.mark()
        if job not in self.d.current_url:
            raise CheckFailed(f"the link of job {job} led to {self.d.current_url}")

    def check_previews(self, job, films):
        def decoded():
            imgs = self.all("img.preview")
            if len(imgs) < films:
                return None
            sizes = self.js("return Array.from(document.querySelectorAll('img.preview'))"
                            ".map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.src])")
            return sizes if all(c for c, _, _, _ in sizes) else None
        sizes = self.until(f"job {job}: {films} img.preview loaded", decoded)
        if len(sizes) != films:
            raise CheckFailed(f"job {job}: {len(sizes)} img.preview, expected {films}: {sizes}")
        for complete, w, h, src in sizes:
            if not (w > 0 and h > 0):
                raise CheckFailed(f"job {job}: preview {src} not decoded (natural size {w}x{h})")
        self.ok(f"job {job}: {films} preview(s) decoded, natural sizes "
                f"{[(w, h) for _, w, h, _ in sizes]}")

    def check_pdf(self, job):
        href = self.one("a#download-pdf").get_attribute("href")
        got = self.d.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch(arguments[0]).then(async r => {
                const b = new Uint8Array(await r.arrayBuffer());
                done([r.status, r.headers.get('content-type') || '', b.length,
                      String.fromCharCode(...b.slice(0, 5))]);
            }).catch(e => done(['error', String(e), 0, '']));
        """, href)
        status, ctype, length, magic = got
        if status != 200 or magic != "%PDF-":
            raise CheckFailed(f"job {job}: a#download-pdf {href} gave {status} {ctype!r}, "
                              f"{length} bytes starting {magic!r}")
        self.ok(f"job {job}: a#download-pdf answers a PDF ({length} bytes, {ctype})")

    def job_action(self, job, action, expect_after):
        """On job's page: submits `action`, then the forms offered must include
        `expect_after` and no longer `action`."""
        self.get(f"/jobs/{job}")
        if action not in self.actions():
            raise CheckFailed(f"job {job} ({self.job_state()!r}) offers {self.actions()}, "
                              f"not {action}")
        self.submit(f'form[data-action="{action}"]')
        self.get(f"/jobs/{job}")

        def swapped():
            acts = self.actions()
            return acts if expect_after in acts and action not in acts else None
        acts = self.until(f"job {job} offering {expect_after} after {action}", swapped)
        self.ok(f"{action} {job}: #job-state {self.job_state()!r}, actions now {acts}")

    def jobs_table_state(self, queue, job):
        self.get(f"/jobs?queue={queue}")
        return self.text(f'table#jobs tr[data-job="{job}"] td.state')

    # ---- screenshots ------------------------------------------------------
    def screenshot(self, name):
        if not self.a.screenshots:
            return
        os.makedirs(self.a.screenshots, exist_ok=True)
        path = os.path.join(self.a.screenshots, name)
        # the whole page, not only the window (Chromium's DevTools protocol: selenium
        # has no full-page screenshot for Chrome)
        layout = self.d.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = layout.get("cssContentSize") or layout["contentSize"]
        clip = {"x": 0, "y": 0, "width": max(WINDOW[0], math.ceil(size["width"])),
                "height": min(max(WINDOW[1], math.ceil(size["height"])), 4000), "scale": 1}
        shot = self.d.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True, "clip": clip})
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        with open(path, "rb") as f:
            if f.read(8) != b"\x89PNG\r\n\x1a\n":
                raise CheckFailed(f"screenshot {path} is not a PNG")
        self.ok(f"screenshot {path}")


def ask(step, *ids):
    """READY <step>: the test acts, then answers with one line on stdin."""
    print(" ".join(("READY", step) + ids), flush=True)
    answer = sys.stdin.readline()
    if not answer:
        raise CheckFailed(f"stdin closed at step {step}")
    if answer.lower().startswith("fail"):
        raise CheckFailed(f"the test reports at step {step}: {answer.strip()}")
    return answer.strip()


def tour(c, result):
    q = c.a.queue
    queues = c.overview()
    if q not in queues:
        raise CheckFailed(f"queue {q} not on the overview: {queues}")
    state = c.queue_state(q)
    if state != "accepting":
        raise CheckFailed(f"queue {q} starts {state!r}, expected 'accepting'")

    # A job printed while the overview is open appears live.
    seen = set(c.recent_jobs())
    ask("print")
    first = c.wait_new_jobs(seen, 1, "a job printed by the modality")[0]
    result["jobs"]["first"] = first
    c.open_job_from(first, f'table#recent-jobs tr[data-job="{first}"]')
    c.wait_job_state(first, "done")
    c.check_previews(first, c.a.films)
    c.check_pdf(first)
    c.one("ol#history")
    c.screenshot("job.png")

    # A paused queue: jobs are taken but not delivered; holds and releases.
    c.set_queue(q, "pause", "paused")
    seen = set(c.recent_jobs())
    ask("print-paused")
    new = c.wait_new_jobs(seen, 2, "two jobs printed into the paused queue")
    released, cancelled = sorted(new)
    result["jobs"]["released"] = released
    result["jobs"]["cancelled"] = cancelled
    for job in (released, cancelled):
        c.job_action(job, "hold", "release")
        s = c.job_state()
        if s.split()[0] not in ("received", "composed"):
            raise CheckFailed(f"job {job} on a paused queue is {s!r}: nothing may be delivered")
    for job in (released, cancelled):
        s = c.jobs_table_state(q, job)
        if "(held)" not in s:
            raise CheckFailed(f"table#jobs: held job {job} shows {s!r}, expected '(held)'")
    c.ok(f"table#jobs marks {released} and {cancelled} (held)")
    c.job_action(released, "release", "hold")
    ask("released", released, cancelled)

    c.set_queue(q, "resume", "accepting")
    c.get(f"/jobs/{released}")
    c.wait_job_state(released, "done")
    # The held job stays held after the resume: not delivered, then cancelled.
    c.get(f"/jobs/{cancelled}")
    s, acts = c.job_state(), c.actions()
    if s.split()[0] not in ("received", "composed") or "release" not in acts:
        raise CheckFailed(f"held job {cancelled} after the resume: {s!r}, actions {acts}")
    c.ok(f"held job {cancelled} still {s!r} (offering {acts}) after the resume")
    c.submit('form[data-action="cancel"]')
    c.get(f"/jobs/{cancelled}")
    c.wait_job_state(cancelled, "cancelled", live=False)
    c.get(f"/jobs?queue={q}")
    for job, want in ((released, "done"), (cancelled, "cancelled")):
        s = c.text(f'table#jobs tr[data-job="{job}"] td.state')
        if s.split()[0] != want:
            raise CheckFailed(f"table#jobs: job {job} shows {s!r}, expected {want!r}")
    c.ok(f"table#jobs: {released} done, {cancelled} cancelled")

    c.get("/")
    c.screenshot("overview.png")


def watch(c, result):
    """Keeps the overview open, counting how often the live refresh replaced #live."""
    c.get("/")
    # A live refresh replaces <main id="live"> (or its content): count both the
    # replacements of the element and the batches of DOM changes inside it.
    c.js("""
        window.__cbLive = document.getElementById('live');
        window.__cbReplaced = 0;
        window.__cbMutations = 0;
        const watch = el => new MutationObserver(() => { window.__cbMutations += 1; })
            .observe(el, {childList: true, subtree: true, characterData: true});
        watch(window.__cbLive);
        setInterval(() => {
            const live = document.getElementById('live');
            if (live && live !== window.__cbLive) {
                window.__cbLive = live;
                window.__cbReplaced += 1;
                watch(live);
            }
        }, 50);
    """)
    print("READY watching", flush=True)
    t0 = time.monotonic()
    if c.a.duration:
        time.sleep(c.a.duration)
    else:
        sys.stdin.readline()
    if not c.marked():
        raise CheckFailed("the overview was reloaded while watched")
    replaced, mutations = c.js("return [window.__cbReplaced, window.__cbMutations]")
    result["refreshes"] = replaced + mutations
    result["replaced"] = replaced
    result["mutations"] = mutations
    result["seconds"] = round(time.monotonic() - t0, 1)
    c.ok(f"overview open {result['seconds']} s: #live replaced {replaced} times, "
         f"{mutations} batches of changes inside it")


def snapshot(c, result):
    c.get(c.a.path)
    result["title"] = c.d.title
    c.screenshot("page.png")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, help="the console's URL, http://127.0.0.1:PORT")
    ap.add_argument("--auth", metavar="USER:PASS",
                    help="HTTP Basic credentials (default: $CONSOLE_AUTH, else none)")
    ap.add_argument("--scenario", required=True, choices=("tour", "watch", "snapshot"))
    ap.add_argument("--queue", default="default", help="tour: the queue paused and resumed")
    ap.add_argument("--films", type=int, default=1,
                    help="tour: films of the first job (img.preview expected)")
    ap.add_argument("--screenshots", metavar="DIR", help="save the PNG screenshots here")
    ap.add_argument("--path", default="/", help="snapshot: the page")
    ap.add_argument("--duration", type=float, help="watch: seconds (default: until stdin closes)")
    ap.add_argument("--timeout", type=float, default=30,
                    help="seconds any one wait may take (default 30)")
    ap.add_argument("--chromium", default=CHROMIUM)
    ap.add_argument("--chromedriver", default=shutil.which("chromedriver") or CHROMEDRIVER)
    ap.add_argument("--driver-port", type=int, help="chromedriver's port (default: a free one)")
    ap.add_argument("--chromium-flag", action="append", default=[], metavar="FLAG",
                    help="one more Chromium flag (repeatable), e.g. to diagnose")
    args = ap.parse_args()
    args.auth = args.auth or os.environ.get("CONSOLE_AUTH") or None

    faulthandler.register(signal.SIGUSR1)

    def on_term(signum, _frame):
        raise SystemExit(f"signal {signum}")  # runs the finally below: the browser quits
    signal.signal(signal.SIGTERM, on_term)

    result = {"scenario": args.scenario, "ok": False, "jobs": {}, "checks": []}
    profile = tempfile.mkdtemp(prefix="console-browser-")
    driver = None
    code = 1
    try:
        driver = start_browser(args, profile)
        c = Console(driver, args)
        try:
            {"tour": tour, "watch": watch, "snapshot": snapshot}[args.scenario](c, result)
            result["ok"] = True
            code = 0
        finally:
            result["checks"] = c.checks
    except CheckFailed as e:
        result["error"] = str(e)
        log("FAILED:", e)
    except SystemExit as e:
        result["error"] = f"stopped: {e}"
        log("stopped:", e)
    except Exception as e:  # the browser or driver broke: say so, never a traceback only
        import traceback
        traceback.print_exc()
        result["error"] = f"{type(e).__name__}: {e}"
        log("ERROR:", result["error"])
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception as e:
                log("driver.quit:", e)
        if code != 0:
            try:
                with open(os.path.join(profile, "chromedriver.log")) as f:
                    tail = f.readlines()[-20:]
                log("chromedriver.log tail:\n" + "".join(tail))
            except OSError:
                pass
        shutil.rmtree(profile, ignore_errors=True)
    print("RESULT " + json.dumps(result), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())

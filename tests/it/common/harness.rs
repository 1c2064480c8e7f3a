//! The test harness (libtest-mimic): each module lists its tests once with [`trials!`],
//! naming the real peers a test needs; a test whose peer is missing is reported as
//! ignored by the runner (nextest's SKIP, `cargo test`'s `ignored`), never as a pass. In
//! CI (`CI=true`) it runs instead and fails, saying which peer is missing.

use super::ipp_peers::{find_command, is_root};
use super::pacs_peers;
use super::{have_command, have_python_modules};
use libtest_mimic::{Arguments, Failed, Trial};
use std::collections::BTreeMap;
use std::future::Future;
use std::process::ExitCode;
use std::sync::OnceLock;

/// A program (or a property of this machine) that some tests need and that filmd does
/// not bring along; scripts/install-peers.sh installs each of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Peer {
    /// DCMTK's print client, driven by tests/peers/dcmtk_print.py (pydicom, numpy; the
    /// openssl command names CA files for its TLS client), and its echoscu.
    Dcmtk,
    /// pynetdicom's Print SCU, tests/peers/pynet_print.py.
    Pynetdicom,
    /// CUPS's IPP Everywhere printer, with ipptool and a private D-Bus.
    Ippeveprinter,
    /// An unprivileged cupsd and the CUPS tools that drive its queue (setpriv as root).
    Cupsd,
    /// poppler-utils: pdfinfo, pdfimages, pdftoppm.
    Poppler,
    /// qpdf --check.
    Qpdf,
    /// littlecms's transicc.
    Transicc,
    /// `localhost` naming 127.0.0.1 and nothing else (ippeveprinter's TLS certificate
    /// names only localhost).
    LocalhostIsLoopback,
    /// IPv6 on the loopback interface: a socket can bind `[::1]`.
    Ipv6Loopback,
    /// Headless Chromium driven through chromedriver by selenium
    /// (tests/peers/console_browser.py).
    Chromium,
    /// The Prometheus text-format parser of the `prometheus_client` Python package
    /// (tests/peers/prom_check.py).
    PromParser,
    /// Orthanc 1.10 (Storage, Storage Commitment and, with its Modality Worklists
    /// plugin, worklist SCP) kept on loopback by the bind shim that `cc` builds.
    Orthanc,
    /// DCMTK's storescp, wlmscpfs, findscu, echoscu, storescu, dcmdump and dump2dcm (the
    /// real ones, not pynetdicom's scripts of the same names), and `cc` for the bind shim.
    DcmtkStore,
    /// pydicom with numpy and the decoder plugins its compressed test files need
    /// (pylibjpeg with -libjpeg, -openjpeg and -rle; pyjpegls): the reference decoding
    /// of tests/peers/pydicom_reference.py.
    Pydicom,
}

const PEERS: usize = Peer::Pydicom as usize + 1;

/// The DCMTK programs [`Peer::DcmtkStore`] stands for.
const DCMTK_STORE: &[&str] = &[
    "storescp", "wlmscpfs", "findscu", "echoscu", "storescu", "dcmdump", "dump2dcm",
];

impl Peer {
    pub fn name(self) -> &'static str {
        match self {
            Peer::Dcmtk => "dcmtk",
            Peer::Pynetdicom => "pynetdicom",
            Peer::Ippeveprinter => "ippeveprinter",
            Peer::Cupsd => "cupsd",
            Peer::Poppler => "poppler",
            Peer::Qpdf => "qpdf",
            Peer::Transicc => "transicc",
            Peer::LocalhostIsLoopback => "localhost-is-127.0.0.1",
            Peer::Ipv6Loopback => "ipv6-loopback",
            Peer::Chromium => "chromium",
            Peer::PromParser => "prometheus-client",
            Peer::Orthanc => "orthanc",
            Peer::DcmtkStore => "dcmtk-store",
            Peer::Pydicom => "pydicom",
        }
    }

    /// How to get the peer.
    fn install(self) -> &'static str {
        match self {
            Peer::Dcmtk => "scripts/install-peers.sh (Debian dcmtk, openssl; PyPI pydicom, numpy)",
            Peer::Pynetdicom => "scripts/install-peers.sh (PyPI pynetdicom, pydicom, numpy)",
            Peer::Ippeveprinter => "scripts/install-peers.sh (Debian cups-ipp-utils, dbus-daemon)",
            Peer::Cupsd => "scripts/install-peers.sh (Debian cups-daemon, cups-client, util-linux)",
            Peer::Poppler => "scripts/install-peers.sh (Debian poppler-utils)",
            Peer::Qpdf => "scripts/install-peers.sh (Debian qpdf)",
            Peer::Transicc => "scripts/install-peers.sh (Debian liblcms2-utils)",
            Peer::LocalhostIsLoopback => "map localhost to 127.0.0.1 only in /etc/hosts",
            Peer::Ipv6Loopback => "enable IPv6 on lo (sysctl net.ipv6.conf.lo.disable_ipv6=0)",
            Peer::Chromium => {
                "scripts/install-peers.sh (Debian chromium, chromium-driver; selenium 4 from Debian or PyPI)"
            }
            Peer::PromParser => "scripts/install-peers.sh (prometheus-client from Debian or PyPI)",
            Peer::Orthanc => {
                "scripts/install-peers.sh (Debian orthanc: /usr/sbin/Orthanc and its plugins in /usr/share/orthanc/plugins; gcc)"
            }
            Peer::DcmtkStore => "scripts/install-peers.sh (Debian dcmtk, gcc)",
            Peer::Pydicom => {
                "scripts/install-peers.sh (PyPI pydicom, numpy, pylibjpeg, pylibjpeg-libjpeg, pylibjpeg-openjpeg, pylibjpeg-rle, pyjpegls)"
            }
        }
    }

    /// Whether the peer is here: checked once per process, `Err` naming what is missing.
    pub fn available(self) -> Result<(), &'static str> {
        static CHECKED: [OnceLock<Result<(), String>>; PEERS] = [const { OnceLock::new() }; PEERS];
        CHECKED[self as usize]
            .get_or_init(|| self.check())
            .as_ref()
            .map(|_| ())
            .map_err(String::as_str)
    }

    fn check(self) -> Result<(), String> {
        // Found on PATH (the DCMTK and poppler tools live in /usr/bin).
        let on_path = |commands: &[&str]| missing(commands, have_command);
        // Found on PATH or in the sbin directories (ippeveprinter, cupsd, lpadmin).
        let anywhere = |commands: &[&str]| missing(commands, |c| find_command(c).is_some());
        let python = |modules: &str| {
            if have_python_modules(modules) {
                Ok(())
            } else {
                Err(format!("python3 cannot import {modules}"))
            }
        };
        match self {
            Peer::Dcmtk => on_path(&["dcmprscu", "dcmpsprt", "dcmodify", "openssl"])
                .and_then(|()| python("pydicom, numpy")),
            Peer::Pynetdicom => python("pynetdicom, pydicom, numpy"),
            Peer::Ippeveprinter => anywhere(&["ippeveprinter", "dbus-daemon", "ipptool"]),
            Peer::Cupsd => {
                anywhere(&["cupsd", "lpadmin", "cupsenable", "cupsdisable"]).and_then(|()| {
                    if is_root() {
                        anywhere(&["setpriv"])
                    } else {
                        Ok(())
                    }
                })
            }
            Peer::Poppler => on_path(&["pdfinfo", "pdfimages", "pdftoppm"]),
            Peer::Qpdf => on_path(&["qpdf"]),
            Peer::Transicc => on_path(&["transicc"]),
            Peer::LocalhostIsLoopback => {
                let addrs: Vec<std::net::SocketAddr> =
                    std::net::ToSocketAddrs::to_socket_addrs("localhost:0")
                        .map(|a| a.collect())
                        .unwrap_or_default();
                let loopback = std::net::IpAddr::from([127, 0, 0, 1]);
                if !addrs.is_empty() && addrs.iter().all(|a| a.ip() == loopback) {
                    Ok(())
                } else {
                    Err(format!("localhost resolves to {addrs:?}"))
                }
            }
            Peer::Ipv6Loopback => std::net::TcpListener::bind("[::1]:0")
                .map(drop)
                .map_err(|e| format!("cannot bind [::1]: {e}")),
            // The script starts /usr/bin/chromium itself (Debian's launcher, which reads
            // /etc/chromium.d) and chromedriver from PATH.
            Peer::Chromium => missing(&[CHROMIUM], |c| std::path::Path::new(c).is_file())
                .and_then(|()| on_path(&["chromedriver"]))
                .and_then(|()| python("selenium.webdriver")),
            Peer::PromParser => python("prometheus_client.parser"),
            Peer::Orthanc => anywhere(&["Orthanc"])
                .and_then(|()| {
                    missing(&[pacs_peers::WORKLIST_PLUGIN], |p| {
                        std::path::Path::new(p).is_file()
                    })
                })
                .and_then(|()| pacs_peers::bind_loopback_shim().map(drop)),
            Peer::DcmtkStore => missing(DCMTK_STORE, |c| pacs_peers::dcmtk(c).is_some())
                .and_then(|()| pacs_peers::bind_loopback_shim().map(drop)),
            Peer::Pydicom => python("pydicom, numpy, pylibjpeg, libjpeg, openjpeg, rle, jpeg_ls"),
        }
    }
}

/// The browser the console's test drives (Debian's `chromium` package).
pub const CHROMIUM: &str = "/usr/bin/chromium";

fn missing(commands: &[&str], found: impl Fn(&str) -> bool) -> Result<(), String> {
    let absent: Vec<&str> = commands.iter().copied().filter(|c| !found(c)).collect();
    if absent.is_empty() {
        Ok(())
    } else {
        Err(format!("{} not found", absent.join(", ")))
    }
}

/// True when running in CI, where a missing peer is a failure rather than a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A test body: a plain function, or an `async fn` run to completion on a current-thread
/// tokio runtime of its own (what `#[tokio::test]` gave it). The marker type only tells
/// the two impls apart.
pub trait Body<Marker>: Send + 'static {
    fn run(self);
}

pub struct Blocking;
pub struct Async;

impl<F: FnOnce() + Send + 'static> Body<Blocking> for F {
    fn run(self) {
        self()
    }
}

impl<F, Fut> Body<Async> for F
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    fn run(self) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime for the test")
            .block_on(self())
    }
}

/// One registered test: its name, the peers it needs, and its body.
pub struct Test {
    name: String,
    needs: &'static [Peer],
    ignore: Option<&'static str>,
    body: Box<dyn FnOnce() + Send>,
}

impl Test {
    /// `module` is `module_path!()` of the test's module (`it::admin`): the test is named
    /// `admin::function`.
    pub fn new<M>(module: &str, function: &str, body: impl Body<M>) -> Test {
        let module = module.split_once("::").map_or(module, |(_, rest)| rest);
        Test {
            name: format!("{module}::{function}"),
            needs: &[],
            ignore: None,
            body: Box::new(move || body.run()),
        }
    }

    pub fn needs(self, peers: &'static [Peer]) -> Test {
        Test {
            needs: peers,
            ..self
        }
    }

    /// Ignored everywhere, CI included, as `#[ignore = reason]`.
    pub fn ignore(self, reason: &'static str) -> Test {
        Test {
            ignore: Some(reason),
            ..self
        }
    }
}

/// Lists a module's tests, each once, as `Vec<Test>`:
///
/// ```ignore
/// trials![
///     plain_test,
///     #[needs(Ippeveprinter, Cupsd)] test_with_peers,
///     #[ignore = "why"] ignored_test,
/// ]
/// ```
///
/// A test is a `fn()` or an `async fn()` (run on a current-thread runtime).
macro_rules! trials {
    ($(
        $(#[needs($($peer:ident),+ $(,)?)])?
        $(#[ignore = $reason:literal])?
        $test:ident
    ),* $(,)?) => {
        vec![$(
            $crate::common::harness::Test::new(module_path!(), stringify!($test), $test)
                $(.needs(&[$($crate::common::harness::Peer::$peer),+]))?
                $(.ignore($reason))?
        ),*]
    };
}
pub(crate) use trials;

/// Runs `tests` with libtest's command line (filters, `--list`, `--ignored`, `--exact`,
/// `--nocapture`, as cargo test and nextest pass them).
///
/// A test with a missing peer is ignored, and one stderr line per missing peer says
/// which and how to install it; in CI, where it is not ignored, or when ignored tests
/// are asked for (`--ignored`, `--include-ignored`), it runs and fails naming the peer. Peers are looked for only for tests the filter keeps
/// (nextest runs each test in a process of its own with `--exact NAME`).
pub fn run(tests: Vec<Test>) -> ExitCode {
    let args = Arguments::from_args();
    let ci = in_ci();
    let mut skipped: BTreeMap<Peer, usize> = BTreeMap::new();
    let trials: Vec<Trial> = tests
        .into_iter()
        .map(|test| {
            let selected = args.filter.as_ref().is_none_or(|filter| {
                if args.exact {
                    test.name == *filter
                } else {
                    test.name.contains(filter.as_str())
                }
            });
            let missing: Vec<Peer> = if selected {
                test.needs
                    .iter()
                    .copied()
                    .filter(|p| p.available().is_err())
                    .collect()
            } else {
                Vec::new()
            };
            if !ci && !args.ignored && !args.include_ignored {
                for &peer in &missing {
                    *skipped.entry(peer).or_default() += 1;
                }
            }
            let ignored = test.ignore.is_some() || (!ci && !missing.is_empty());
            let body = test.body;
            Trial::test(test.name, move || {
                if !missing.is_empty() {
                    return Err(missing_peers(&missing, ci));
                }
                body();
                Ok(())
            })
            .with_ignored_flag(ignored)
        })
        .collect();
    for (peer, count) in &skipped {
        let why = peer.available().err().unwrap_or_default();
        eprintln!(
            "SKIPPED: {count} test(s) need peer {} ({why}): install it with {}",
            peer.name(),
            peer.install()
        );
    }
    libtest_mimic::run(&args, trials).exit_code()
}

/// The failure of a test run without its peers: in CI, or asked for with `--ignored`.
fn missing_peers(peers: &[Peer], ci: bool) -> Failed {
    let ci = if ci { " (CI=true)" } else { "" };
    let lines: Vec<String> = peers
        .iter()
        .map(|peer| {
            let why = peer.available().err().unwrap_or_default();
            format!(
                "peer {} missing{ci}: {why}; install it with {}",
                peer.name(),
                peer.install()
            )
        })
        .collect();
    Failed::from(lines.join("\n"))
}

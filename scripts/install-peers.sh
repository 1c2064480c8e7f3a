#!/usr/bin/env bash
# Install the real peers filmd's tests talk to (their scripts are in tests/peers/):
#   Debian: dcmtk (dcmpsprt, dcmprscu, dcmprscp, dump2dcm; storescp, wlmscpfs,
#           findscu, echoscu, storescu, dcmdump for the PACS tests), orthanc
#           (/usr/sbin/Orthanc, its Modality Worklists plugin in
#           /usr/share/orthanc/plugins; its system service is not started),
#           gcc (cc builds tests/peers/bind_loopback.c, the LD_PRELOAD shim that
#           keeps Orthanc and DCMTK's SCPs on 127.0.0.1), poppler-utils
#           (pdfinfo, pdfimages, pdftoppm, pdftotext, pdffonts), qpdf,
#           liblcms2-utils (transicc: checks filmd's ICC profiles),
#           cups-ipp-utils (ippeveprinter, ipptool), cups-daemon (cupsd),
#           cups-client (lpadmin, lpstat), dbus-daemon (a private bus for
#           ippeveprinter), iproute2 + util-linux (ip, unshare, setpriv),
#           openssl (names CA files by subject hash for DCMTK's TLS client),
#           chromium + chromium-driver (the console's browser test, headless),
#           apache2-utils (htpasswd -B: bcrypt hashes for the console's users_file),
#           python3 + python3-pip when missing
#   PyPI:   pynetdicom 3.x, pydicom 3.x, numpy (for tests/peers/*.py); pydicom's
#           decoder plugins for its compressed test files (tests/it/modality.rs):
#           pylibjpeg, pylibjpeg-libjpeg, pylibjpeg-openjpeg, pylibjpeg-rle, pyjpegls
#   Build:  cmake and g++ (Debian): charls-sys builds CharLS, filmd's JPEG-LS decoder,
#           from source, so `cargo build` needs them too
#   Python: selenium 4 (drives chromium through chromedriver) and prometheus_client
#           (its text parser reads /metrics): Debian python3-selenium and
#           python3-prometheus-client when PYTHON is Debian's /usr/bin/python3,
#           else (or if apt cannot) from PyPI
#   cargo:  cargo-fuzz (pinned, `cargo install --locked`) for scripts/fuzz-smoke.sh;
#           g++ (Debian) builds the libFuzzer it links
#
# Idempotent: checks first (command -v / python import) and installs only what
# is missing, so a second run takes well under a second. Needs root (or
# password-less sudo) only when something has to be installed. No daemon is
# started: a policy-rc.d that exits 101 is in place during apt-get install
# (any existing /usr/sbin/policy-rc.d is put back afterwards).
# Exits non-zero, naming what is missing, if anything is still absent at the end.
#
# Environment: PYTHON (default python3) is the interpreter the tests use.
set -euo pipefail

PYTHON=${PYTHON:-python3}
APT_LOCK_TIMEOUT=${APT_LOCK_TIMEOUT:-900}   # wait for a concurrent apt/dpkg

log() { printf 'install-peers: %s\n' "$*" >&2; }

# command -> Debian package providing it
declare -A CMD_PKG=(
  [dcmpsprt]=dcmtk [dcmprscu]=dcmtk [dcmprscp]=dcmtk [dump2dcm]=dcmtk [dcmdump]=dcmtk
  [storescp]=dcmtk [wlmscpfs]=dcmtk [findscu]=dcmtk [echoscu]=dcmtk [storescu]=dcmtk
  [Orthanc]=orthanc [cc]=gcc
  [pdfinfo]=poppler-utils [pdfimages]=poppler-utils [pdftoppm]=poppler-utils
  [pdftotext]=poppler-utils [pdffonts]=poppler-utils
  [qpdf]=qpdf [transicc]=liblcms2-utils
  [ippeveprinter]=cups-ipp-utils [ipptool]=cups-ipp-utils
  [cupsd]=cups-daemon [lpadmin]=cups-client [lpstat]=cups-client
  [dbus-daemon]=dbus-daemon [ip]=iproute2 [unshare]=util-linux [setpriv]=util-linux
  [openssl]=openssl
  [c++]=g++ [cmake]=cmake
  [chromium]=chromium [chromedriver]=chromium-driver [htpasswd]=apache2-utils
)
# cargo-fuzz: 0.13 runs on the stable toolchain with --sanitizer none (fuzz/README.md).
CARGO_FUZZ_VERSION=0.13.2
PIP_PKGS=("pynetdicom>=3,<4" "pydicom>=3,<4" "numpy" "selenium>=4,<5" "prometheus-client"
          "pylibjpeg>=2" "pylibjpeg-libjpeg" "pylibjpeg-openjpeg" "pylibjpeg-rle" "pyjpegls")
# Debian's packages of the browser test's modules, for Debian's own python3
BROWSER_DEB_PKGS=(python3-selenium python3-prometheus-client)
PY_CHECK='
import sys
import numpy, pydicom, pynetdicom
import pylibjpeg, libjpeg, openjpeg, rle, jpeg_ls
import selenium, prometheus_client.parser
from selenium.webdriver.chrome.service import Service
def major(v): return int(str(v).split(".")[0])
print("pynetdicom", pynetdicom.__version__, "pydicom", pydicom.__version__, "numpy", numpy.__version__,
      "selenium", selenium.__version__)
sys.exit(0 if major(pynetdicom.__version__) >= 3 and major(pydicom.__version__) >= 3
         and major(selenium.__version__) >= 4 else 3)
'

# Whether command $1 is installed: on PATH, or in an sbin directory (Orthanc lives in
# /usr/sbin, which an unprivileged PATH may lack). storescp, findscu, echoscu and
# storescu may also be pynetdicom's scripts on PATH: DCMTK's own are in /usr/bin.
have_cmd() {
  case "$1" in
    storescp | findscu | echoscu | storescu) [ -x "/usr/bin/$1" ] && return 0 ;;
    *) command -v "$1" >/dev/null 2>&1 && return 0 ;;
  esac
  [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}
missing_cmds() {
  local c
  for c in "${!CMD_PKG[@]}"; do have_cmd "$c" || echo "$c"; done
}
# py_check: run the import check once and cache it (each python start costs ~0.5 s)
PY_VERSIONS=
PY_OK=
py_check() {
  PY_OK=0
  if command -v "$PYTHON" >/dev/null 2>&1 && PY_VERSIONS=$("$PYTHON" -c "$PY_CHECK" 2>/dev/null); then
    PY_OK=1
  fi
}
py_ok() { [ -n "$PY_OK" ] || py_check; [ "$PY_OK" = 1 ]; }
pip_ok() { command -v "$PYTHON" >/dev/null 2>&1 && "$PYTHON" -m pip --version >/dev/null 2>&1; }
# Whether PYTHON is Debian's interpreter (its dist-packages see python3-* packages); a
# pyenv or venv python does not, and gets the modules from PyPI.
debian_python() {
  local exe
  exe=$("$PYTHON" -c 'import sys; print(sys.executable)' 2>/dev/null) || return 1
  case "$(readlink -f "$exe")" in /usr/bin/python3*) return 0 ;; *) return 1 ;; esac
}
browser_modules_ok() {
  "$PYTHON" -c 'import selenium, prometheus_client.parser' >/dev/null 2>&1
}

SUDO=()
need_root() {
  if [ "$(id -u)" -eq 0 ]; then return 0; fi
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=(sudo -n); return 0; fi
  log "need root (or password-less sudo) to install: $*"
  return 1
}

POLICY=/usr/sbin/policy-rc.d
POLICY_BAK=
restore_policy() {
  if [ -n "$POLICY_BAK" ]; then
    "${SUDO[@]}" mv -f "$POLICY_BAK" "$POLICY"
  else
    "${SUDO[@]}" rm -f "$POLICY"
  fi
}

apt_install() {
  need_root "apt packages $*" || return 1
  if ! command -v apt-get >/dev/null 2>&1; then log "apt-get not found; install by hand: $*"; return 1; fi
  if [ -e "$POLICY" ]; then
    POLICY_BAK=$(mktemp "$POLICY.filmd-bak.XXXXXX")
    "${SUDO[@]}" cp -p "$POLICY" "$POLICY_BAK"
  fi
  trap restore_policy EXIT
  printf '#!/bin/sh\n# installed by filmd scripts/install-peers.sh: start no daemon\nexit 101\n' |
    "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 755 "$POLICY"
  local apt=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y
             -o DPkg::Lock::Timeout="$APT_LOCK_TIMEOUT" -o Dpkg::Options::=--force-confdef
             -o Dpkg::Options::=--force-confold)
  log "apt-get install $*"
  # update first: a fresh image has no package lists
  "${apt[@]}" update >&2 || log "apt-get update failed (continuing with cached lists)"
  local rc=0
  "${apt[@]}" install --no-install-recommends "$@" >&2 || rc=$?
  restore_policy
  trap - EXIT
  POLICY_BAK=
  return $rc
}

# ---- Debian packages -------------------------------------------------------
pkgs=()
for c in $(missing_cmds); do pkgs+=("${CMD_PKG[$c]}"); done
if ! command -v "$PYTHON" >/dev/null 2>&1; then pkgs+=(python3); fi
if command -v "$PYTHON" >/dev/null 2>&1 && debian_python && ! browser_modules_ok; then
  pkgs+=("${BROWSER_DEB_PKGS[@]}")
fi
if ! py_ok && ! pip_ok; then pkgs+=(python3-pip); fi
if [ ${#pkgs[@]} -gt 0 ]; then
  mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
  apt_install "${pkgs[@]}" || log "apt-get install failed"
  PY_OK=   # python3 / pip may have just arrived: check again
fi

# ---- Python packages -------------------------------------------------------
if ! py_ok && command -v "$PYTHON" >/dev/null 2>&1; then
  if ! pip_ok; then
    log "pip missing for $PYTHON"
  else
    pip=("$PYTHON" -m pip install --disable-pip-version-check --no-input -q)
    [ "$(id -u)" -eq 0 ] && export PIP_ROOT_USER_ACTION=ignore
    log "pip install ${PIP_PKGS[*]}"
    out=$("${pip[@]}" "${PIP_PKGS[@]}" 2>&1) || {
      if grep -q externally-managed-environment <<<"$out"; then
        log "externally managed Python: retrying with --break-system-packages"
        "${pip[@]}" --break-system-packages "${PIP_PKGS[@]}" >&2 || log "pip install failed"
      else
        printf '%s\n' "$out" >&2
        log "pip install failed"
      fi
    }
    py_check
  fi
fi

# ---- cargo tools -----------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
cargo_fuzz_ok() {
  cargo fuzz --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"
}
if command -v cargo >/dev/null 2>&1 && ! cargo_fuzz_ok; then
  log "cargo install --locked cargo-fuzz --version $CARGO_FUZZ_VERSION"
  cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION" >&2 ||
    log "cargo install cargo-fuzz failed"
fi

# ---- final check -----------------------------------------------------------
still=()
for c in $(missing_cmds); do still+=("$c (Debian: ${CMD_PKG[$c]})"); done
if ! cargo_fuzz_ok; then
  still+=("cargo-fuzz $CARGO_FUZZ_VERSION (cargo install --locked cargo-fuzz)")
fi
if ! py_ok; then
  still+=("Python modules for $PYTHON: pynetdicom>=3, pydicom>=3, numpy, selenium>=4, prometheus-client, pylibjpeg, pylibjpeg-libjpeg, pylibjpeg-openjpeg, pylibjpeg-rle, pyjpegls (PyPI)")
fi
if [ ${#still[@]} -gt 0 ]; then
  log "MISSING after install:"
  printf '  - %s\n' "${still[@]}" >&2
  exit 1
fi
orthanc_bin=$(command -v Orthanc 2>/dev/null || echo /usr/sbin/Orthanc)
log "all peers present (dcmtk $(dcmpsprt --version 2>/dev/null | sed -n 's/.*dcmpsprt v\([0-9.]*\).*/\1/p' | head -1)," \
  "orthanc $("$orthanc_bin" --version 2>/dev/null | sed -n '1s/.* \([0-9][0-9.]*\)$/\1/p')," \
  "chromedriver $(chromedriver --version 2>/dev/null | cut -d' ' -f2), $PY_VERSIONS)"

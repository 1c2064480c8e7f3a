#!/usr/bin/env python3
"""A TLS client that offers only old protocol versions, for filmd's TLS tests.

  tls_probe.py --port P [--max-version TLSv1_1] [--ca CA.pem]

Connects to 127.0.0.1:P with Python's ssl module limited to TLS 1.0 .. --max-version
(OpenSSL security level 0, so that OpenSSL 3 still offers TLS 1.1 and its CBC
suites at all) and prints one JSON object: {"handshake": "ok"|"failed",
"version": ..., "error": ...}. Exit 0 when the server refused the handshake, 1
when it completed (2 on bad usage). filmd (BCP 195, RFC 8996) must refuse.
"""

import argparse
import json
import socket
import ssl
import sys

sys.dont_write_bytecode = True


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--max-version", default="TLSv1_1", choices=("TLSv1", "TLSv1_1"))
    ap.add_argument("--ca", help="verify the server against this CA (default: no verification)")
    ap.add_argument("--timeout", type=float, default=10)
    a = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = getattr(ssl.TLSVersion, a.max_version)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if a.ca:
        ctx.load_verify_locations(a.ca)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    result = {"handshake": "failed", "offered_max": a.max_version}
    try:
        with socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                result["handshake"] = "ok"
                result["version"] = tls.version()
                result["cipher"] = tls.cipher()[0]
    except (ssl.SSLError, OSError) as e:
        result["error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(result))
    return 0 if result["handshake"] == "failed" else 1


if __name__ == "__main__":
    sys.exit(main())

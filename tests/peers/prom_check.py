#!/usr/bin/env python3
r"""Parses a Prometheus /metrics text with a real parser (prometheus_client's) and prints
its samples as JSON, so that a test can assert counters without parsing the text itself.

  prom_check.py [FILE | --url URL [--auth USER:PASS]] [--prefix filmd_]

FILE ('-' or none: stdin) or the body of GET URL is parsed as the Prometheus text
format 0.0.4 (prometheus_client.parser), or as OpenMetrics 1.0 when the Content-Type
says so or the text ends with "# EOF" (prometheus_client.openmetrics.parser).

Besides the parser's own refusals, checks what Prometheus asks of exposition
(https://prometheus.io/docs/practices/naming/, /docs/instrumenting/exposition_formats/):
every family has HELP and a TYPE other than untyped/unknown; every counter sample ends
in _total (or _created); metric names match [a-zA-Z_:][a-zA-Z0-9_:]* and, with
--prefix, start with it; each family's lines in one group; no sample (name and labels) appears twice.

Prints one JSON object:
  {"ok": bool, "format": "prometheus"|"openmetrics", "content_type": "...",
   "families": {NAME: {"type", "help", "unit"}},
   "samples": [{"name", "labels": {...}, "value"}],
   "problems": ["..."]}
(values: numbers, or the strings "NaN", "+Inf", "-Inf"). Exit status 0 when it parsed
and no problem was found, 1 otherwise (the problems on stderr too), 2 on bad usage.
"""

import argparse
import base64
import json
import math
import re
import sys
import urllib.request

sys.dont_write_bytecode = True

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def fetch(url, auth, timeout):
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read().decode("utf-8"), r.headers.get("Content-Type", "")


def number(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return int(v) if float(v).is_integer() and abs(v) < 2**53 else v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file", nargs="?", default="-", help="the metrics text ('-': stdin)")
    ap.add_argument("--url", help="GET the metrics from here instead")
    ap.add_argument("--auth", metavar="USER:PASS", help="HTTP Basic credentials for --url")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--prefix", help="every metric name must start with this")
    args = ap.parse_args()

    content_type = ""
    if args.url:
        text, content_type = fetch(args.url, args.auth, args.timeout)
    elif args.file == "-":
        text = sys.stdin.read()
    else:
        with open(args.file, encoding="utf-8") as f:
            text = f.read()

    openmetrics = "openmetrics" in content_type or text.rstrip().endswith("# EOF")
    out = {"ok": False, "format": "openmetrics" if openmetrics else "prometheus",
           "content_type": content_type, "families": {}, "samples": [], "problems": []}
    problems = out["problems"]
    try:
        if openmetrics:
            from prometheus_client.openmetrics.parser import text_string_to_metric_families
        else:
            from prometheus_client.parser import text_string_to_metric_families
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser refuses the text: that is the finding
        problems.append(f"parse error: {type(e).__name__}: {e}")
        families = []

    # The text parser gives an untyped family for samples without # TYPE, and no help
    # for a family without # HELP.
    seen = set()
    for fam in families:
        if fam.name in out["families"]:
            problems.append(f"{fam.name}: its lines are not in one group")
        out["families"][fam.name] = {"type": fam.type, "help": fam.documentation,
                                     "unit": getattr(fam, "unit", "")}
        if not NAME.match(fam.name):
            problems.append(f"{fam.name}: not a valid metric name")
        if args.prefix and not fam.name.startswith(args.prefix):
            problems.append(f"{fam.name}: does not start with {args.prefix}")
        if not fam.documentation:
            problems.append(f"{fam.name}: no HELP")
        if fam.type in ("untyped", "unknown"):
            problems.append(f"{fam.name}: no TYPE")
        for s in fam.samples:
            if fam.type == "counter" and not s.name.endswith(("_total", "_created")):
                problems.append(f"{s.name}: a counter sample not named _total")
            key = (s.name, tuple(sorted(s.labels.items())))
            if key in seen:
                problems.append(f"{s.name}{dict(s.labels)}: appears twice")
            seen.add(key)
            out["samples"].append({"name": s.name, "labels": dict(s.labels),
                                   "value": number(s.value)})
    if not families and not problems:
        problems.append("no metric families")
    out["ok"] = not problems
    for p in problems:
        print("prom_check:", p, file=sys.stderr)
    print(json.dumps(out, indent=None))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

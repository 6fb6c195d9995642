#!/usr/bin/env python3
"""check_prometheus.py FILE [METRIC ...]: validate a Prometheus text exposition strictly.

Rules of the text format 0.0.4: '# HELP name text' and '# TYPE name type' at most
once per metric and before its samples; samples 'name{label="value",...} value
[timestamp]' with valid metric and label names, label values escaping only
backslash, double quote and newline; a metric's samples together; no series
twice. Every METRIC named must have at least one sample. Exit 1 naming the
first problem.
"""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL}={VALUE})(?:,{LABEL}={VALUE})*,?)?\}})? (\S+)(?: (-?\d+))?$")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def fail(number, line, why):
    sys.exit(f"line {number}: {why}: {line!r}")


def main():
    path, required = sys.argv[1], set(sys.argv[2:])
    helped, typed, seen_series, finished, sampled = set(), {}, set(), set(), set()
    current = None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f.read().split("\n"), 1):
            if line == "":
                continue
            if line.startswith("#"):
                parts = line.split(" ", 3)
                if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                    name = parts[2]
                    if not re.fullmatch(NAME, name):
                        fail(number, line, "bad metric name")
                    if name in sampled:
                        fail(number, line, f"{parts[1]} after samples of {name}")
                    if parts[1] == "HELP":
                        if name in helped:
                            fail(number, line, "second HELP")
                        helped.add(name)
                    else:
                        if name in typed or len(parts) != 4 or parts[3] not in TYPES:
                            fail(number, line, "bad or second TYPE")
                        typed[name] = parts[3]
                continue
            m = SAMPLE.match(line)
            if not m:
                fail(number, line, "not a sample")
            name, labels, value = m.group(1), m.group(2) or "", m.group(3)
            try:
                float(value)
            except ValueError:
                fail(number, line, "value is not a float")
            if name not in typed:
                fail(number, line, "sample before its TYPE")
            if name != current:
                if name in finished:
                    fail(number, line, f"samples of {name} are not together")
                if current:
                    finished.add(current)
                current = name
            series = (name, tuple(sorted(re.findall(rf"({LABEL})=({VALUE})", labels))))
            if series in seen_series:
                fail(number, line, "series twice")
            seen_series.add(series)
            sampled.add(name)
    missing = required - sampled
    if missing:
        sys.exit(f"no samples of {', '.join(sorted(missing))}")
    print(f"{len(seen_series)} series of {len(sampled)} metrics: valid")


main()

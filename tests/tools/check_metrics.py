#!/usr/bin/env python3
"""Validates a Prometheus text exposition (format 0.0.4) with the real parser.

    check_metrics.py FILE [--require NAME ...]      (FILE may be - for standard input)

The text is parsed by prometheus_client's parser (the reference Python implementation of the
format); on top of what it checks, every family must have one # HELP and one # TYPE line before
its samples (a histogram's NAME_bucket, NAME_sum and NAME_count samples are family NAME's, and
it must have all three, with an le="+Inf" bucket), counter names must end in _total, and each
--require NAME must be a family present with its # TYPE line. Prints "metrics ok: N families, M samples" and exits 0, or prints every
problem and exits 1. Run it through check_metrics.sh, which installs the parser when missing.
"""

import argparse
import re
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.exit("FAIL: prometheus_client is not installed; run tests/tools/check_metrics.sh, which installs it")

COMMENT = re.compile(r"^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?$")


# The samples of a histogram family NAME: NAME_bucket (with le), NAME_sum, NAME_count.
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def family_of(sample, types):
    """The family a sample belongs to: a histogram's _bucket/_sum/_count samples belong to it."""
    for suffix in HISTOGRAM_SUFFIXES:
        stem = sample[: -len(suffix)]
        if sample.endswith(suffix) and types.get(stem) == "histogram":
            return stem
    return sample


def histogram_problems(text, types):
    """Each histogram family has an le="+Inf" bucket, a _sum and a _count."""
    problems = []
    for name in (n for n, kind in types.items() if kind == "histogram"):
        wanted = {
            f'{name}_bucket{{le="+Inf"}}': rf'^{name}_bucket\{{(?:.*,)?le="\+Inf"[,}}]',
            f"{name}_sum": rf"^{name}_sum[ {{]",
            f"{name}_count": rf"^{name}_count[ {{]",
        }
        for needed, pattern in wanted.items():
            if not re.search(pattern, text, re.M):
                problems.append(f"histogram {name} has no {needed} sample")
    return problems


def structure_problems(text):
    """Checks the parser leaves to the writer: HELP/TYPE order, counter names."""
    problems, helps, types, sampled = [], set(), {}, set()
    for number, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        match = COMMENT.match(line)
        if match:
            kind, name, rest = match.groups()
            seen = helps if kind == "HELP" else types
            if name in seen:
                problems.append(f"line {number}: a second # {kind} for {name}")
            if name in sampled:
                problems.append(f"line {number}: # {kind} for {name} after its samples")
            if kind == "HELP":
                helps.add(name)
            else:
                types[name] = rest
                if rest == "counter" and not name.endswith("_total"):
                    problems.append(f"line {number}: counter {name} is not named *_total")
            continue
        if line.startswith("#"):
            continue
        name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line)
        name = name.group(0) if name else line
        name = family_of(name, types)
        sampled.add(name)
        if name not in types or name not in helps:
            problems.append(f"line {number}: sample {name} without # HELP and # TYPE before it")
    return problems, types


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--require", action="append", default=[], metavar="NAME")
    args = parser.parse_args()
    text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()
    problems = []
    if text and not text.endswith("\n"):
        problems.append("the text does not end with a newline")
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser raises ValueError and others on malformed text
        problems.append(f"prometheus_client cannot parse it: {type(e).__name__}: {e}")
        families = []
    more, types = structure_problems(text)
    problems += more + histogram_problems(text, types)
    for name in args.require:
        if name not in types:
            problems.append(f"required family {name} is missing")
    if problems:
        print("\n".join(f"FAIL: {p}" for p in problems))
        return 1
    samples = sum(len(f.samples) for f in families)
    print(f"metrics ok: {len(families)} families, {samples} samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())

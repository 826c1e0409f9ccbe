#!/usr/bin/env python3
"""A small HTTP/1.1 server that plays a live ingest publishing point for tests
(stdlib only): it accepts POSTs (empty probes, Content-Length and chunked
bodies), records every request with its body as it arrives, and answers as
a plan tells it: 200, a given status (401/403/404/500...), closing mid-body,
stalling, optionally over TLS with a self-signed certificate.

API:
    rx = IngestReceiver(plan=[{"status": 401}], tls=(cert, key))
    port = rx.start()
    ... rx.posts -> list of Post (method, path, headers, body, chunked, complete, status)
    rx.stop()
    cert, key = make_self_signed(dir)

Plan entries are used one per request in order; after the plan, every request
gets 200. Entry keys: "status" (answer this code; for a body with errors,
after reading it), "early" (with "status": answer right after the request
headers, then close), "close_after" (close the connection after this many
body bytes), "stall" (seconds to stop reading after "stall_after" body bytes),
"answer_after" (with "status": after this many body bytes answer at once with a
text/plain body "text", then close without reading on, as a publishing point
that refuses a body mid-stream; with "linger": N, read and discard N more
seconds first, as our origin does).

CLI: python3 ingest_receiver.py [--port N] [--tls DIR] [--out DIR] [--plan JSON]
serves until interrupted and writes each body to DIR/post-N.bin.
"""
import argparse
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from typing import List, Optional, Tuple


def make_self_signed(directory: str) -> Tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 made with the openssl CLI."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return cert, key


class Post:
    def __init__(self, index: int):
        self.index = index
        self.method = ""
        self.path = ""
        self.headers = {}  # lower-case names
        self.raw_headers = b""
        self.body = bytearray()
        self.chunked = False
        self.content_length: Optional[int] = None
        self.complete = False  # the whole body arrived (chunked end or Content-Length)
        self.status = 0  # what we answered (0: nothing)
        self.started = time.monotonic()
        self.ended: Optional[float] = None

    def __repr__(self):
        return "Post(%d %s %s body=%d chunked=%s complete=%s status=%d)" % (
            self.index, self.method, self.path, len(self.body), self.chunked, self.complete, self.status)


class _Closed(Exception):
    pass


class _AnswerNow(Exception):
    pass


class _Conn:
    def __init__(self, sock, post: Post, plan: dict):
        self.sock = sock
        self.buf = b""
        self.post = post
        self.plan = plan
        self.body_seen = 0

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise _Closed()
        self.buf += data

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise _Closed()
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def body(self, n: int):
        """Reads `n` body bytes as they arrive."""
        while n:
            if not self.buf:
                self.fill()
            piece, self.buf = self.buf[:n], self.buf[n:]
            n -= len(piece)
            self.body_bytes(piece)

    def body_bytes(self, data: bytes):
        """Records body bytes one at a time against the plan's limits."""
        plan = self.plan
        if "answer_after" in plan and self.body_seen + len(data) >= plan["answer_after"]:
            self.post.body += data
            self.body_seen += len(data)
            raise _AnswerNow()
        if "close_after" in plan:
            room = plan["close_after"] - self.body_seen
            if room < len(data):
                self.post.body += data[:max(0, room)]
                self.body_seen += max(0, room)
                raise _Closed()
        if "stall" in plan and not plan.get("_stalled") and self.body_seen + len(data) >= plan.get("stall_after", 0):
            plan["_stalled"] = True
            time.sleep(plan["stall"])
        self.post.body += data
        self.body_seen += len(data)


class IngestReceiver:
    def __init__(self, plan: Optional[List[dict]] = None, tls: Optional[Tuple[str, str]] = None,
                 host: str = "127.0.0.1"):
        self.plan = list(plan or [])
        self.tls = tls
        self.host = host
        self.posts: List[Post] = []
        self.lock = threading.Lock()
        self.sock = None
        self.port = 0
        self.threads = []
        self.stopped = False
        self.tls_failures = 0

    def start(self, port: int = 0) -> int:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.host, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self.threads.append(t)
        return self.port

    def stop(self):
        self.stopped = True
        for t in self.threads:
            t.join(timeout=5)
        if self.sock:
            self.sock.close()

    def url(self, path: str = "/live/pub.isml/Streams(s1)", userinfo: str = "") -> str:
        scheme = "https" if self.tls else "http"
        return "%s://%s%s:%d%s" % (scheme, userinfo + "@" if userinfo else "", self.host, self.port, path)

    def wait_posts(self, n: int, timeout: float = 10.0, complete: bool = False) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                done = [p for p in self.posts if p.ended is not None and (p.complete or not complete)]
                if len(done) >= n:
                    return True
            time.sleep(0.05)
        return False

    def _accept_loop(self):
        while not self.stopped:
            try:
                s, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(s,), daemon=True)
            t.start()

    def _serve(self, s):
        s.settimeout(30)
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)
            try:
                s = ctx.wrap_socket(s, server_side=True)
            except (ssl.SSLError, OSError):
                with self.lock:
                    self.tls_failures += 1
                s.close()
                return
        with self.lock:
            post = Post(len(self.posts))
            self.posts.append(post)
            plan = self.plan.pop(0) if self.plan else {}
        c = _Conn(s, post, plan)
        try:
            self._request(c)
        except (_Closed, OSError, ssl.SSLError, ValueError):
            pass
        finally:
            post.ended = time.monotonic()
            try:
                s.close()
            except OSError:
                pass

    def _answer(self, c: _Conn, status: int, text: str = ""):
        reason = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
                  409: "Conflict", 429: "Too Many Requests",
                  500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "Status")
        extra = 'WWW-Authenticate: Basic realm="ingest"\r\n' if status == 401 else ""
        body = text.encode()
        if body:
            extra += "Content-Type: text/plain\r\n"
        c.sock.sendall(("HTTP/1.1 %d %s\r\nContent-Length: %d\r\nConnection: close\r\n%s\r\n" %
                        (status, reason, len(body), extra)).encode() + body)
        c.post.status = status

    def _answer_mid_body(self, c: _Conn):
        self._answer(c, c.plan.get("status", 400), c.plan.get("text", ""))
        end = time.monotonic() + c.plan.get("linger", 0)
        try:
            c.sock.shutdown(socket.SHUT_WR)
            while time.monotonic() < end:
                c.sock.settimeout(max(0.01, end - time.monotonic()))
                if not c.sock.recv(65536):
                    break
        except OSError:
            pass

    def _request(self, c: _Conn):
        post = c.post
        request = c.line().decode("latin-1")
        post.method, post.path = request.split(" ")[0], request.split(" ")[1]
        raw = []
        while True:
            line = c.line()
            if not line:
                break
            raw.append(line)
            name, _, value = line.decode("latin-1").partition(":")
            post.headers[name.strip().lower()] = value.strip()
        post.raw_headers = b"\r\n".join(raw)
        status = c.plan.get("status", 200)
        if c.plan.get("early"):
            self._answer(c, status)
            return
        try:
            self._body(c)
        except _AnswerNow:
            self._answer_mid_body(c)
            return
        post.complete = True
        self._answer(c, status)

    def _body(self, c: _Conn):
        post = c.post
        if post.headers.get("transfer-encoding", "").lower() == "chunked":
            post.chunked = True
            while True:
                size = int(c.line().split(b";")[0], 16)
                if size == 0:
                    while c.line():  # trailers
                        pass
                    break
                c.body(size)
                if c.exact(2) != b"\r\n":
                    raise ValueError("bad chunk end")
        else:
            n = int(post.headers.get("content-length", "0"))
            post.content_length = n
            c.body(n)


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls", help="directory for a self-signed certificate (made if missing)")
    ap.add_argument("--out", help="directory to write post-N.bin bodies into")
    ap.add_argument("--plan", default="[]", help="JSON list of plan entries")
    a = ap.parse_args(argv)
    tls = None
    if a.tls:
        os.makedirs(a.tls, exist_ok=True)
        tls = make_self_signed(a.tls)
    rx = IngestReceiver(json.loads(a.plan), tls)
    rx.start(a.port)
    print("listening on %s, port %d" % (rx.url(""), rx.port), flush=True)
    saved = 0
    try:
        while True:
            time.sleep(0.2)
            with rx.lock:
                done = [p for p in rx.posts if p.ended is not None]
            for p in done[saved:]:
                print(repr(p), flush=True)
                if a.out:
                    with open(os.path.join(a.out, "post-%d.bin" % p.index), "wb") as f:
                        f.write(p.body)
            saved = len(done)
    except KeyboardInterrupt:
        rx.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

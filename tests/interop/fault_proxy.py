#!/usr/bin/env python3
"""A TCP proxy for fault tests on loopback (stdlib only): it sits between a
client (smoothsink, a player) and a server (ingest_receiver.py,
`gst-smooth serve`) and injects faults on a deterministic schedule, one plan
entry per accepted connection, in order:

    {"reset_after": N}   forward N client bytes, then reset both sides (RST)
    {"stall_after": N, "stall": S}
                         forward N client bytes, then read nothing for S
                         seconds (the client's writes stop being acknowledged
                         once the small receive buffer is full), then go on
    {}                   forward faithfully
plus `refuse_for=T`: connections accepted in the first T seconds after
start() (or after refuse(T)) are reset at once, as if refused.

The client side's receive buffer is kept small (rcvbuf, default 16 KiB) so
that what the kernel acknowledges to the client is close to what was
forwarded: a fault does not silently swallow megabytes the client believes
delivered.

API:
    px = FaultProxy(("127.0.0.1", server_port), plan=[{"reset_after": 100000}], refuse_for=0)
    port = px.start(); ...; px.connections -> list of Conn (forwarded bytes, fault applied); px.stop()
CLI: python3 fault_proxy.py --target PORT [--port N] [--plan JSON] [--refuse-for T]
"""
import argparse
import json
import socket
import struct
import sys
import threading
import time
from typing import List, Optional, Tuple


class Conn:
    def __init__(self, index: int, plan: dict):
        self.index = index
        self.plan = plan
        self.up = 0    # client -> server bytes forwarded
        self.down = 0  # server -> client bytes forwarded
        self.fault = ""  # what was done: "reset", "stall", "refused", ""
        self.closed = False


def _reset(s: socket.socket):
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    except OSError:
        pass


class FaultProxy:
    def __init__(self, target: Tuple[str, int], plan: Optional[List[dict]] = None, refuse_for: float = 0.0,
                 host: str = "127.0.0.1", rcvbuf: int = 16384):
        self.target = target
        self.plan = list(plan or [])
        self.host = host
        self.rcvbuf = rcvbuf
        self.refuse_until = 0.0
        self.refuse_for = refuse_for
        self.connections: List[Conn] = []
        self.lock = threading.Lock()
        self.stopped = False
        self.threads: List[threading.Thread] = []
        self.sock = None
        self.port = 0

    def start(self, port: int = 0) -> int:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)  # inherited by accepted sockets
        self.sock.bind((self.host, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.refuse(self.refuse_for)
        self._spawn(self._accept_loop)
        return self.port

    def refuse(self, seconds: float):
        self.refuse_until = time.monotonic() + seconds

    def stop(self):
        self.stopped = True
        for t in list(self.threads):
            t.join(timeout=5)
        if self.sock:
            self.sock.close()

    def _spawn(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        t.start()
        self.threads.append(t)

    def _accept_loop(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                if time.monotonic() < self.refuse_until:
                    conn = Conn(len(self.connections), {})
                    conn.fault = "refused"
                    conn.closed = True
                    self.connections.append(conn)
                    _reset(c)
                    continue
                conn = Conn(len(self.connections), self.plan.pop(0) if self.plan else {})
                self.connections.append(conn)
            self._spawn(self._serve, c, conn)

    def _serve(self, client: socket.socket, conn: Conn):
        try:
            server = socket.create_connection(self.target, timeout=10)
        except OSError:
            _reset(client)
            conn.closed = True
            return
        done = threading.Event()
        self._spawn(self._down, server, client, conn, done)
        plan = conn.plan
        client.settimeout(0.2)
        try:
            while not self.stopped and not done.is_set():
                limit = 65536
                for key in ("reset_after", "stall_after"):
                    if key in plan and not plan.get("_" + key):
                        limit = min(limit, plan[key] - conn.up)
                if limit <= 0:
                    if "reset_after" in plan and not plan.get("_reset_after"):
                        conn.fault = "reset"
                        _reset(client)
                        _reset(server)
                        break
                    plan["_stall_after"] = True
                    conn.fault = "stall"
                    end = time.monotonic() + plan.get("stall", 0)
                    while time.monotonic() < end and not self.stopped:
                        time.sleep(0.05)
                    continue
                try:
                    data = client.recv(limit)
                except socket.timeout:
                    continue
                if not data:
                    server.shutdown(socket.SHUT_WR)
                    done.wait(10)
                    break
                server.sendall(data)
                conn.up += len(data)
        except OSError:
            pass
        finally:
            conn.closed = True
            done.set()
            for s in (client, server):
                try:
                    s.close()
                except OSError:
                    pass

    def _down(self, server: socket.socket, client: socket.socket, conn: Conn, done: threading.Event):
        try:
            server.settimeout(0.2)
            while not done.is_set():
                try:
                    data = server.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                client.sendall(data)
                conn.down += len(data)
        except OSError:
            pass
        done.set()


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", type=int, required=True, help="server port on 127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--plan", default="[]", help="JSON list of per-connection plan entries")
    ap.add_argument("--refuse-for", type=float, default=0.0)
    a = ap.parse_args(argv)
    px = FaultProxy(("127.0.0.1", a.target), json.loads(a.plan), a.refuse_for)
    px.start(a.port)
    print("port %d" % px.port, flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        px.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Benchmark: PIFF sample encryption throughput against `openssl speed`.

Not part of the test suite.  In one run, for AES-128-CTR and AES-128-CBC:
  ours   build/tests/bench/encrypt_throughput SCHEME MODE 16384 SECONDS
         the core's TrackEncryptor, i.e. what ismvmux does per sample:
         NAL subsample mapping (MODE nal: one 16 KiB slice NAL per sample,
         4-byte lengths, as H.264 video) or whole samples (MODE whole, as
         AAC), AES through OpenSSL EVP, IV increments and senc records;
         64 samples (1 MiB) encrypted round and round.
  peer   openssl speed -evp aes-128-ctr|aes-128-cbc -bytes 16384 -seconds S
         (OpenSSL's own EVP loop over one 16 KiB buffer: the ceiling).
Each is run --runs times, alternating; the medians (MB/s = 10^6 bytes/s of
sample data) and ours/peer are printed.  Target: ours/peer >= 0.70.

Usage: python3 tests/bench/bench_encrypt.py [--runs 3] [--seconds 2]
         [--build-dir build]
Python 3.11 standard library only; needs the built tree and openssl(1).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import peers  # noqa: E402  (tests/bench, beside this script)


def ours(tool, scheme, mode, seconds):
    cmd = [tool, scheme, mode, "16384", str(seconds)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    m = re.search(r"([\d.]+) MB/s", out)
    if not m:
        sys.exit("cannot parse: %s" % out)
    return float(m.group(1)), " ".join(cmd)


def peer(scheme, seconds):
    cmd = ["openssl", "speed", "-evp", "aes-128-" + scheme, "-bytes", "16384", "-seconds", str(seconds)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    m = re.search(r"^AES-128-%s\s+([\d.]+)k" % scheme.upper(), out, re.M)
    if not m:
        sys.exit("cannot parse openssl speed output:\n%s" % out)
    return float(m.group(1)) * 1000 / 1e6, " ".join(cmd)  # 'k' = 1000 bytes/s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2)
    ap.add_argument("--build-dir", default=os.path.join(SOURCE_ROOT, "build"))
    a = ap.parse_args()
    peers.ensure("openssl")
    tool = os.path.join(a.build_dir, "tests", "bench", "encrypt_throughput")
    if not os.access(tool, os.X_OK):
        sys.exit("%s not built (ninja -C %s)" % (tool, a.build_dir))
    secs = int(a.seconds) if a.seconds == int(a.seconds) else a.seconds
    print("openssl: " + subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip())
    worst = None
    for scheme in ("ctr", "cbc"):
        rows = {"ours nal": [], "ours whole": [], "openssl": []}
        cmds = {}
        for _ in range(a.runs):
            for mode in ("nal", "whole"):
                v, c = ours(tool, scheme, mode, secs)
                rows["ours " + mode].append(v)
                cmds["ours " + mode] = c
            v, c = peer(scheme, secs)
            rows["openssl"].append(v)
            cmds["openssl"] = c
        print("\nAES-128-%s, 16 KiB samples, %d runs (median MB/s):" % (scheme.upper(), a.runs))
        med = {k: statistics.median(v) for k, v in rows.items()}
        for k in rows:
            print("  %-11s %9.1f MB/s   runs %s   $ %s" % (k, med[k], ["%.0f" % x for x in rows[k]], cmds[k]))
        for k in ("ours nal", "ours whole"):
            r = med[k] / med["openssl"]
            worst = r if worst is None else min(worst, r)
            print("  ratio %-10s / openssl = %.2f  (target >= 0.70: %s)" % (k, r, "met" if r >= 0.70 else "NOT met"))
    print("\nworst ratio: %.2f" % worst)


if __name__ == "__main__":
    main()

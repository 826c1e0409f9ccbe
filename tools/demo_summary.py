#!/usr/bin/env python3
"""Prints a readable summary of a packaged Smooth Streaming asset, from what
the PIFF core reads (piff-dump JSON) of the media file and both manifests."""
import json
import os
import subprocess
import sys


def dump(tool, path):
    return json.loads(subprocess.run([tool, path], check=True, stdout=subprocess.PIPE, text=True).stdout)


def main():
    tool, ismv, ism, ismc = sys.argv[1:5]
    media, server, client = dump(tool, ismv), dump(tool, ism), dump(tool, ismc)
    for d in (media, server, client):
        if "error" in d:
            sys.exit("demo: could not read the output: " + d["error"])
    by_id = {t["track_id"]: t for t in server["tracks"]}
    ts = client["timescale"]
    print("== %s: %.3f s, timescale %d, brand %s" % (os.path.basename(ismv), client["duration"] / ts, ts, media["ftyp"]))
    print("%-6s %-6s %12s %10s %12s" % ("track", "type", "bitrate", "fragments", "duration"))
    for t in media["tracks"]:
        s = by_id.get(t["id"], {})
        print("%-6d %-6s %9.1f kb/s %10d %10.3f s" % (t["id"], s.get("kind", "?"), s.get("bitrate", 0) / 1000.0,
                                                        t["fragments"], t["duration"] / t["timescale"]))
    for s in client["streams"]:
        times = ", ".join("%.3f" % (t / ts) for t, _ in s["fragments"])
        print("StreamIndex %-6s %d QualityLevel(s), fragments at [%s] s" % (s["name"], len(s["bitrates"]), times))
    print("mfra: %s" % ", ".join("track %d: %d entries" % (t["id"], t["entries"]) for t in media["tfra"]))
    print("files written:")
    for p in (ismv, ism, ismc):
        print("  %-40s %9d bytes" % (p, os.path.getsize(p)))


if __name__ == "__main__":
    main()

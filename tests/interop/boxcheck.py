#!/usr/bin/env python3
"""Independent ISO BMFF / PIFF box walker for the interop tests.

Deliberately shares no code or tables with the C++ core (gst/piff): it is
written from ISO/IEC 14496-12, [MS-SSTR] 2.2.4 and PIFF 1.1 only, so that a
misreading in the core is not repeated here.  Python stdlib only.

Usage as a tool:  python3 boxcheck.py FILE [--samples]
  prints the box tree and one line per fragment.
"""

from __future__ import annotations

import struct
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional

UUID_TFXD = bytes.fromhex("6D1D9B0542D544E680E2141DAFF757B2")
UUID_TFRF = bytes.fromhex("D4807EF2CA3946958E5426CB9E46A79F")
UUID_LIVE_MANIFEST = bytes.fromhex("A5D40B30E81411DDBA2F0800200C9A66")
UUID_PIFF_PSSH = bytes.fromhex("D08A4F1810F34A82B6C832D8ABA183D3")
UUID_PIFF_TENC = bytes.fromhex("8974DBCE7BE74C5184F97148F9882554")
UUID_PIFF_SENC = bytes.fromhex("A2394F525A9B4F14A2446C427C648DF4")

UUID_NAMES = {
    UUID_TFXD: "tfxd",
    UUID_TFRF: "tfrf",
    UUID_LIVE_MANIFEST: "live-server-manifest",
    UUID_PIFF_PSSH: "piff-pssh",
    UUID_PIFF_TENC: "piff-tenc",
    UUID_PIFF_SENC: "piff-senc",
}

# Plain containers: children start right after the header.
CONTAINERS = {
    "moov", "trak", "mdia", "minf", "stbl", "mvex", "moof", "traf", "mfra",
    "edts", "dinf", "udta", "sinf", "schi", "tref",
}

# trun flags (ISO 14496-12 8.8.8)
TRUN_DATA_OFFSET = 0x000001
TRUN_FIRST_SAMPLE_FLAGS = 0x000004
TRUN_DURATION = 0x000100
TRUN_SIZE = 0x000200
TRUN_FLAGS = 0x000400
TRUN_CTO = 0x000800

# tfhd flags (ISO 14496-12 8.8.7)
TFHD_BASE_DATA_OFFSET = 0x000001
TFHD_SDI = 0x000002
TFHD_DEFAULT_DURATION = 0x000008
TFHD_DEFAULT_SIZE = 0x000010
TFHD_DEFAULT_FLAGS = 0x000020
TFHD_DURATION_IS_EMPTY = 0x010000
TFHD_DEFAULT_BASE_IS_MOOF = 0x020000

SAMPLE_IS_NON_SYNC = 0x00010000


class BoxError(Exception):
    pass


@dataclass
class Box:
    type: str
    offset: int          # file offset of the first header byte
    size: int            # total size including header
    header: int          # header size (8, 16, +16 for uuid)
    data: bytes = field(repr=False)  # whole file
    uuid: Optional[bytes] = None
    children: List["Box"] = field(default_factory=list)
    parent: Optional["Box"] = field(default=None, repr=False)

    @property
    def name(self) -> str:
        if self.type == "uuid" and self.uuid is not None:
            return "uuid[%s]" % UUID_NAMES.get(self.uuid, self.uuid.hex())
        return self.type

    @property
    def payload_offset(self) -> int:
        return self.offset + self.header

    @property
    def end(self) -> int:
        return self.offset + self.size

    def payload(self) -> bytes:
        return self.data[self.payload_offset:self.end]

    def full_header(self):
        p = self.payload()
        if len(p) < 4:
            raise BoxError("%s at %d: too short for a FullBox" % (self.name, self.offset))
        return p[0], int.from_bytes(p[1:4], "big"), p[4:]

    def find(self, path: str) -> List["Box"]:
        """All descendants matching a '/'-separated type path, e.g. 'trak/mdia/mdhd'."""
        parts = path.split("/")
        cur = [self]
        for p in parts:
            nxt = []
            for b in cur:
                nxt.extend(c for c in b.children if c.type == p or c.name == p)
            cur = nxt
        return cur

    def first(self, path: str) -> Optional["Box"]:
        r = self.find(path)
        return r[0] if r else None


def _parse_boxes(data: bytes, start: int, end: int, parent: Optional[Box]) -> List[Box]:
    boxes = []
    pos = start
    while pos < end:
        if end - pos < 8:
            raise BoxError("truncated box header at offset %d (%d bytes left)" % (pos, end - pos))
        size, typ = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if end - pos < 16:
                raise BoxError("truncated largesize header at %d" % pos)
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        try:
            t = typ.decode("latin-1")
        except Exception:  # pragma: no cover
            t = repr(typ)
        uuid = None
        if t == "uuid":
            uuid = bytes(data[pos + header:pos + header + 16])
            header += 16
        if size < header or pos + size > end:
            raise BoxError("box '%s' at offset %d has bad size %d (parent ends at %d)" % (t, pos, size, end))
        b = Box(t, pos, size, header, data, uuid, [], parent)
        if t in CONTAINERS:
            b.children = _parse_boxes(data, pos + header, pos + size, b)
        elif t == "stsd":
            # FullBox + entry_count, then sample entries (boxes)
            b.children = _parse_boxes(data, pos + header + 8, pos + size, b)
            for e in b.children:
                _parse_sample_entry_children(e)
        boxes.append(b)
        pos += size
    return boxes


VISUAL_ENTRIES = {"avc1", "avc3", "encv", "hev1", "hvc1", "vc-1", "mp4v"}
AUDIO_ENTRIES = {"mp4a", "enca", "ec-3", "ac-3", "owma", "Opus"}


def _parse_sample_entry_children(e: Box) -> None:
    if e.type in VISUAL_ENTRIES:
        skip = 8 + 70  # SampleEntry(8) + VisualSampleEntry fields(70)
    elif e.type in AUDIO_ENTRIES:
        skip = 8 + 20
    else:
        return
    start = e.payload_offset + skip
    if start < e.end:
        e.children = _parse_boxes(e.data, start, e.end, e)


class File:
    """A parsed ISO BMFF file (whole file read into memory)."""

    def __init__(self, path: str):
        self.path = path
        with open(path, "rb") as f:
            self.data = f.read()
        self.boxes = _parse_boxes(self.data, 0, len(self.data), None)
        self.root = Box("<root>", 0, len(self.data), 0, self.data, None, self.boxes, None)

    def top(self, typ: str) -> List[Box]:
        return [b for b in self.boxes if b.type == typ]

    def box_at(self, offset: int) -> Optional[Box]:
        for b in self.boxes:
            if b.offset == offset:
                return b
        return None


# ---------------------------------------------------------------- leaf parsers

def parse_ftyp(b: Box) -> dict:
    p = b.payload()
    major = p[0:4].decode("latin-1")
    minor = struct.unpack_from(">I", p, 4)[0]
    compat = [p[i:i + 4].decode("latin-1") for i in range(8, len(p) - 3, 4)]
    return {"major": major, "minor": minor, "compatible": compat}


def parse_mvhd(b: Box) -> dict:
    v, _, p = b.full_header()
    if v == 1:
        _, _, ts, dur = struct.unpack_from(">QQIQ", p, 0)
        nxt = struct.unpack_from(">I", p, 28 + 76)[0]
    else:
        _, _, ts, dur = struct.unpack_from(">IIII", p, 0)
        nxt = struct.unpack_from(">I", p, 16 + 76)[0]
    return {"version": v, "timescale": ts, "duration": dur, "next_track_id": nxt}


def parse_tkhd(b: Box) -> dict:
    v, flags, p = b.full_header()
    if v == 1:
        _, _, tid, _, dur = struct.unpack_from(">QQIIQ", p, 0)
        rest = 32
    else:
        _, _, tid, _, dur = struct.unpack_from(">IIIII", p, 0)
        rest = 20
    w, h = struct.unpack_from(">II", p, rest + 8 + 8 + 36)
    return {"version": v, "flags": flags, "track_id": tid, "duration": dur,
            "width": w / 65536.0, "height": h / 65536.0}


def parse_mdhd(b: Box) -> dict:
    v, _, p = b.full_header()
    if v == 1:
        _, _, ts, dur = struct.unpack_from(">QQIQ", p, 0)
        at = 28
    else:
        _, _, ts, dur = struct.unpack_from(">IIII", p, 0)
        at = 16
    # ISO 639-2/T code: a pad bit, then three letters of 5 bits each (+ 0x60).
    packed = struct.unpack_from(">H", p, at)[0] if len(p) >= at + 2 else 0
    lang = "".join(chr(((packed >> s) & 31) + 0x60) for s in (10, 5, 0))
    return {"version": v, "timescale": ts, "duration": dur, "language": lang}


def parse_hdlr(b: Box) -> str:
    _, _, p = b.full_header()
    return p[4:8].decode("latin-1")


def parse_mehd(b: Box) -> dict:
    v, _, p = b.full_header()
    return {"version": v, "fragment_duration": struct.unpack_from(">Q" if v == 1 else ">I", p, 0)[0]}


def parse_trex(b: Box) -> dict:
    _, _, p = b.full_header()
    tid, sdi, dur, size, flags = struct.unpack_from(">IIIII", p, 0)
    return {"track_id": tid, "sample_description_index": sdi, "default_duration": dur,
            "default_size": size, "default_flags": flags}


def parse_mfhd(b: Box) -> int:
    _, _, p = b.full_header()
    return struct.unpack_from(">I", p, 0)[0]


def parse_tfhd(b: Box) -> dict:
    v, flags, p = b.full_header()
    r = {"version": v, "flags": flags, "track_id": struct.unpack_from(">I", p, 0)[0]}
    pos = 4
    if flags & TFHD_BASE_DATA_OFFSET:
        r["base_data_offset"] = struct.unpack_from(">Q", p, pos)[0]; pos += 8
    if flags & TFHD_SDI:
        r["sample_description_index"] = struct.unpack_from(">I", p, pos)[0]; pos += 4
    if flags & TFHD_DEFAULT_DURATION:
        r["default_duration"] = struct.unpack_from(">I", p, pos)[0]; pos += 4
    if flags & TFHD_DEFAULT_SIZE:
        r["default_size"] = struct.unpack_from(">I", p, pos)[0]; pos += 4
    if flags & TFHD_DEFAULT_FLAGS:
        r["default_flags"] = struct.unpack_from(">I", p, pos)[0]; pos += 4
    if pos != len(p):
        raise BoxError("tfhd at %d: %d payload bytes, flags 0x%06x need %d" % (b.offset, len(p), flags, pos))
    return r


def parse_trun(b: Box) -> dict:
    v, flags, p = b.full_header()
    count = struct.unpack_from(">I", p, 0)[0]
    pos = 4
    r = {"version": v, "flags": flags, "sample_count": count}
    if flags & TRUN_DATA_OFFSET:
        r["data_offset"] = struct.unpack_from(">i", p, pos)[0]; pos += 4
    if flags & TRUN_FIRST_SAMPLE_FLAGS:
        r["first_sample_flags"] = struct.unpack_from(">I", p, pos)[0]; pos += 4
    per = 4 * sum(1 for f in (TRUN_DURATION, TRUN_SIZE, TRUN_FLAGS, TRUN_CTO) if flags & f)
    if len(p) - pos != per * count:
        raise BoxError("trun at %d: %d sample bytes for %d samples x %d (flags 0x%06x)"
                       % (b.offset, len(p) - pos, count, per, flags))
    samples = []
    for _ in range(count):
        s = {}
        if flags & TRUN_DURATION:
            s["duration"] = struct.unpack_from(">I", p, pos)[0]; pos += 4
        if flags & TRUN_SIZE:
            s["size"] = struct.unpack_from(">I", p, pos)[0]; pos += 4
        if flags & TRUN_FLAGS:
            s["flags"] = struct.unpack_from(">I", p, pos)[0]; pos += 4
        if flags & TRUN_CTO:
            s["cto"] = struct.unpack_from(">i" if v == 1 else ">I", p, pos)[0]; pos += 4
        samples.append(s)
    r["samples"] = samples
    return r


def parse_tfdt(b: Box) -> int:
    v, _, p = b.full_header()
    return struct.unpack_from(">Q" if v == 1 else ">I", p, 0)[0]


def parse_tfxd(b: Box) -> dict:
    v, flags, p = b.full_header()
    if v == 1:
        if len(p) != 16:
            raise BoxError("tfxd v1 at %d: payload %d bytes, expected 16" % (b.offset, len(p)))
        t, d = struct.unpack_from(">QQ", p, 0)
    elif v == 0:
        if len(p) != 8:
            raise BoxError("tfxd v0 at %d: payload %d bytes, expected 8" % (b.offset, len(p)))
        t, d = struct.unpack_from(">II", p, 0)
    else:
        raise BoxError("tfxd at %d: unknown version %d" % (b.offset, v))
    return {"version": v, "flags": flags, "time": t, "duration": d}


def parse_tfrf(b: Box) -> dict:
    v, flags, p = b.full_header()
    n = p[0]
    fmt, step = (">QQ", 16) if v == 1 else (">II", 8)
    if len(p) != 1 + n * step:
        raise BoxError("tfrf at %d: payload %d bytes for %d entries v%d" % (b.offset, len(p), n, v))
    entries = [struct.unpack_from(fmt, p, 1 + i * step) for i in range(n)]
    return {"version": v, "flags": flags, "entries": entries}


def parse_tfra(b: Box) -> dict:
    v, _, p = b.full_header()
    tid, lens, n = struct.unpack_from(">III", p, 0)
    lt, lr, ls = ((lens >> 4) & 3) + 1, ((lens >> 2) & 3) + 1, (lens & 3) + 1
    pos = 12
    entries = []
    for _ in range(n):
        if v == 1:
            t, off = struct.unpack_from(">QQ", p, pos); pos += 16
        else:
            t, off = struct.unpack_from(">II", p, pos); pos += 8
        tn = int.from_bytes(p[pos:pos + lt], "big"); pos += lt
        rn = int.from_bytes(p[pos:pos + lr], "big"); pos += lr
        sn = int.from_bytes(p[pos:pos + ls], "big"); pos += ls
        entries.append({"time": t, "moof_offset": off, "traf": tn, "trun": rn, "sample": sn})
    if pos != len(p):
        raise BoxError("tfra at %d: %d trailing bytes" % (b.offset, len(p) - pos))
    return {"version": v, "track_id": tid, "reserved_lengths": lens, "entries": entries}


def parse_mfro(b: Box) -> int:
    _, _, p = b.full_header()
    return struct.unpack_from(">I", p, 0)[0]


def _read_descr_len(p: bytes, pos: int):
    n = 0
    for _ in range(4):
        c = p[pos]; pos += 1
        n = (n << 7) | (c & 0x7F)
        if not c & 0x80:
            break
    return n, pos


def parse_esds_asc(b: Box) -> Optional[bytes]:
    """AudioSpecificConfig (DecoderSpecificInfo, tag 5) from an esds box."""
    _, _, p = b.full_header()
    pos = 0
    while pos < len(p):
        tag = p[pos]; pos += 1
        ln, pos = _read_descr_len(p, pos)
        if tag == 0x03:      # ES_Descriptor
            flags = p[pos + 2]
            pos += 3
            if flags & 0x80:
                pos += 2
            if flags & 0x40:
                pos += 1 + p[pos]
            if flags & 0x20:
                pos += 2
            continue
        if tag == 0x04:      # DecoderConfigDescriptor
            pos += 13
            continue
        if tag == 0x05:
            return bytes(p[pos:pos + ln])
        pos += ln
    return None


def parse_avcc(b: Box) -> dict:
    p = b.payload()
    r = {"profile": p[1], "level": p[3], "length_size": (p[4] & 3) + 1, "sps": [], "pps": []}
    n = p[5] & 0x1F
    pos = 6
    for _ in range(n):
        ln = struct.unpack_from(">H", p, pos)[0]; pos += 2
        r["sps"].append(bytes(p[pos:pos + ln])); pos += ln
    n = p[pos]; pos += 1
    for _ in range(n):
        ln = struct.unpack_from(">H", p, pos)[0]; pos += 2
        r["pps"].append(bytes(p[pos:pos + ln])); pos += ln
    return r


def parse_sample_entry(e: Box) -> dict:
    p = e.payload()
    r = {"format": e.type, "data_reference_index": struct.unpack_from(">H", p, 6)[0]}
    if e.type in VISUAL_ENTRIES:
        r["width"], r["height"] = struct.unpack_from(">HH", p, 8 + 16)
        c = e.first("avcC")
        if c is not None:
            r["avcC"] = parse_avcc(c)
    elif e.type in AUDIO_ENTRIES:
        r["channels"], r["sample_size"] = struct.unpack_from(">HH", p, 8 + 8)
        r["sample_rate"] = struct.unpack_from(">I", p, 8 + 16)[0] >> 16
        c = e.first("esds")
        if c is not None:
            r["asc"] = parse_esds_asc(c)
    return r


# ---------------------------------------------------------------- high level

@dataclass
class Track:
    track_id: int
    handler: str
    timescale: int
    entry: dict
    tkhd: dict
    trex: Optional[dict]

    @property
    def kind(self) -> str:
        return {"vide": "video", "soun": "audio"}.get(self.handler, self.handler)


@dataclass
class TrackFragment:
    moof_offset: int
    moof_size: int
    sequence: int
    traf_index: int
    track_id: int
    tfhd: dict
    truns: List[dict]
    tfxd: Optional[dict]
    tfrf: Optional[dict]
    tfdt: Optional[int]
    samples: List[dict]     # resolved: duration, size, flags, cto, sync, offset
    mdat: Optional[Box]

    @property
    def duration(self) -> int:
        return sum(s["duration"] for s in self.samples)

    @property
    def size(self) -> int:
        return sum(s["size"] for s in self.samples)


class Movie:
    """Fragmented movie view: tracks from moov, fragments from moof/mdat pairs."""

    def __init__(self, path: str):
        self.file = File(path)
        f = self.file
        ftyp = f.top("ftyp")
        self.ftyp = parse_ftyp(ftyp[0]) if ftyp else None
        moov = f.top("moov")
        if len(moov) != 1:
            raise BoxError("%s: expected exactly one moov, found %d" % (path, len(moov)))
        self.moov = moov[0]
        self.mvhd = parse_mvhd(self.moov.first("mvhd"))
        trex = {}
        for t in self.moov.find("mvex/trex"):
            d = parse_trex(t)
            trex[d["track_id"]] = d
        mehd = self.moov.first("mvex/mehd")
        self.mehd = parse_mehd(mehd) if mehd else None
        self.tracks: Dict[int, Track] = {}
        self.track_order: List[int] = []
        for trak in self.moov.find("trak"):
            tkhd = parse_tkhd(trak.first("tkhd"))
            mdhd = parse_mdhd(trak.first("mdia/mdhd"))
            handler = parse_hdlr(trak.first("mdia/hdlr"))
            entries = trak.find("mdia/minf/stbl/stsd")
            entry = {}
            if entries and entries[0].children:
                entry = parse_sample_entry(entries[0].children[0])
            tid = tkhd["track_id"]
            self.tracks[tid] = Track(tid, handler, mdhd["timescale"], entry, tkhd, trex.get(tid))
            self.tracks[tid].mdhd = mdhd  # type: ignore[attr-defined]
            self.track_order.append(tid)
        self.fragments: List[TrackFragment] = []
        self.moof_sequence: List[int] = []
        self._parse_fragments()
        self.mfra = None
        self.tfra: Dict[int, dict] = {}
        self.mfro = None
        mfra = f.top("mfra")
        if mfra:
            self.mfra = mfra[-1]
            for t in self.mfra.find("tfra"):
                d = parse_tfra(t)
                self.tfra[d["track_id"]] = d
            m = self.mfra.first("mfro")
            if m is not None:
                self.mfro = parse_mfro(m)

    def _parse_fragments(self) -> None:
        boxes = self.file.boxes
        for i, moof in enumerate(boxes):
            if moof.type != "moof":
                continue
            mdat = boxes[i + 1] if i + 1 < len(boxes) and boxes[i + 1].type == "mdat" else None
            seq = parse_mfhd(moof.first("mfhd"))
            self.moof_sequence.append(seq)
            data_end = moof.offset  # running base for trafs without explicit base
            for ti, traf in enumerate(moof.find("traf")):
                tfhd = parse_tfhd(traf.first("tfhd"))
                tid = tfhd["track_id"]
                trex = self.tracks[tid].trex if tid in self.tracks else None
                trex = trex or {"default_duration": 0, "default_size": 0, "default_flags": 0}
                if "base_data_offset" in tfhd:
                    base = tfhd["base_data_offset"]
                elif tfhd["flags"] & TFHD_DEFAULT_BASE_IS_MOOF or ti == 0:
                    base = moof.offset
                else:
                    base = data_end
                tfxd = tfrf = None
                tfdt = None
                truns = []
                for c in traf.children:
                    if c.type == "trun":
                        truns.append(parse_trun(c))
                    elif c.type == "tfdt":
                        tfdt = parse_tfdt(c)
                    elif c.type == "uuid" and c.uuid == UUID_TFXD:
                        if tfxd is not None:
                            raise BoxError("two tfxd boxes in traf at %d" % traf.offset)
                        tfxd = parse_tfxd(c)
                    elif c.type == "uuid" and c.uuid == UUID_TFRF:
                        tfrf = parse_tfrf(c)
                samples = []
                pos = base
                for r in truns:
                    if "data_offset" in r:
                        pos = base + r["data_offset"]
                    for k, s in enumerate(r["samples"]):
                        dur = s.get("duration", tfhd.get("default_duration", trex["default_duration"]))
                        size = s.get("size", tfhd.get("default_size", trex["default_size"]))
                        if k == 0 and "first_sample_flags" in r:
                            fl = r["first_sample_flags"]
                        else:
                            fl = s.get("flags", tfhd.get("default_flags", trex["default_flags"]))
                        samples.append({"duration": dur, "size": size, "flags": fl,
                                        "cto": s.get("cto", 0), "sync": not (fl & SAMPLE_IS_NON_SYNC),
                                        "offset": pos})
                        pos += size
                data_end = pos
                self.fragments.append(TrackFragment(moof.offset, moof.size, seq, ti, tid, tfhd, truns,
                                                    tfxd, tfrf, tfdt, samples, mdat))

    def track_fragments(self, track_id: int) -> List[TrackFragment]:
        return [f for f in self.fragments if f.track_id == track_id]

    def check_sample_data_in_mdat(self) -> List[str]:
        """Every sample's byte range must lie inside the mdat that follows its moof."""
        errs = []
        for fr in self.fragments:
            if fr.mdat is None:
                errs.append("moof at %d (track %d) is not followed by an mdat" % (fr.moof_offset, fr.track_id))
                continue
            lo, hi = fr.mdat.payload_offset, fr.mdat.end
            for i, s in enumerate(fr.samples):
                if s["offset"] < lo or s["offset"] + s["size"] > hi:
                    errs.append("track %d moof@%d sample %d bytes [%d,%d) outside mdat payload [%d,%d)"
                                % (fr.track_id, fr.moof_offset, i, s["offset"], s["offset"] + s["size"], lo, hi))
                    break
        return errs


# ---------------------------------------------------------------- CLI

def _dump(b: Box, depth: int, out) -> None:
    extra = ""
    try:
        if b.type == "tfhd":
            extra = " %s" % {k: (hex(v) if k in ("flags", "default_flags") else v) for k, v in parse_tfhd(b).items()}
        elif b.type == "trun":
            r = parse_trun(b)
            extra = " v%d flags=0x%06x n=%d data_offset=%s first_flags=%s" % (
                r["version"], r["flags"], r["sample_count"], r.get("data_offset"),
                hex(r["first_sample_flags"]) if "first_sample_flags" in r else None)
        elif b.type == "uuid" and b.uuid == UUID_TFXD:
            extra = " %s" % parse_tfxd(b)
        elif b.type == "tfra":
            r = parse_tfra(b)
            extra = " v%d track=%d n=%d first=%s" % (r["version"], r["track_id"], len(r["entries"]),
                                                      r["entries"][:2])
        elif b.type == "mfro":
            extra = " size=%d" % parse_mfro(b)
        elif b.type == "mfhd":
            extra = " seq=%d" % parse_mfhd(b)
        elif b.type == "ftyp":
            extra = " %s" % parse_ftyp(b)
        elif b.type == "mdhd":
            extra = " %s" % parse_mdhd(b)
        elif b.type == "tkhd":
            extra = " id=%d" % parse_tkhd(b)["track_id"]
        elif b.type == "trex":
            extra = " %s" % parse_trex(b)
        elif b.type == "mehd":
            extra = " %s" % parse_mehd(b)
    except (BoxError, struct.error) as e:
        extra = " PARSE ERROR: %s" % e
    out.write("%s%s @%d size=%d%s\n" % ("  " * depth, b.name, b.offset, b.size, extra))
    for c in b.children:
        _dump(c, depth + 1, out)


def main(argv: List[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    path = argv[1]
    f = File(path)
    moofs = 0
    for b in f.boxes:
        if b.type == "moof":
            moofs += 1
            if moofs > 3 and "--all" not in argv:
                continue
        if b.type == "mdat" and moofs > 3 and "--all" not in argv:
            continue
        _dump(b, 0, sys.stdout)
    if moofs > 3 and "--all" not in argv:
        print("... (%d moofs, --all to show all)" % moofs)
    m = Movie(path)
    for tid in m.track_order:
        t = m.tracks[tid]
        frs = m.track_fragments(tid)
        print("track %d %s ts=%d entry=%s fragments=%d samples=%d" % (
            tid, t.kind, t.timescale, {k: v for k, v in t.entry.items() if k not in ("avcC",)},
            len(frs), sum(len(x.samples) for x in frs)))
        if "--samples" in argv:
            for fr in frs:
                print("  seq=%d tfxd=%s n=%d dur=%d first_sync=%s cto0=%d" % (
                    fr.sequence, fr.tfxd and (fr.tfxd["time"], fr.tfxd["duration"]), len(fr.samples),
                    fr.duration, fr.samples[0]["sync"] if fr.samples else None,
                    fr.samples[0]["cto"] if fr.samples else 0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

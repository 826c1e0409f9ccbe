#!/usr/bin/env python3
"""Independent PIFF protection reader and decryptor for the interop tests.

Shares no code with the C++ core: the protection boxes (sinf/frma/schm/
uuid-tenc, uuid-senc, uuid-pssh), the PlayReady Object and the decryption
rules are written here from PIFF 1.1 and the PlayReady Header Specification,
and AES runs through OpenSSL's EVP API called directly with ctypes, so that a
misreading in the core is not repeated.  Built on boxcheck.py's box tree.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import struct
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional

import boxcheck

PLAYREADY_SYSTEM_ID = bytes.fromhex("9A04F07998404286AB92E65BE0885F95")

# ---------------------------------------------------------------- OpenSSL EVP via ctypes

_lib = None


def _crypto():
    global _lib
    if _lib is None:
        name = ctypes.util.find_library("crypto") or "libcrypto.so.3"
        lib = ctypes.CDLL(name)
        lib.EVP_CIPHER_CTX_new.restype = ctypes.c_void_p
        lib.EVP_CIPHER_CTX_free.argtypes = [ctypes.c_void_p]
        for f in ("EVP_aes_128_ctr", "EVP_aes_128_cbc", "EVP_aes_128_ecb"):
            getattr(lib, f).restype = ctypes.c_void_p
        lib.EVP_CipherInit_ex.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p,
                                          ctypes.c_char_p, ctypes.c_int]
        lib.EVP_CIPHER_CTX_set_padding.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.EVP_CipherUpdate.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int),
                                         ctypes.c_char_p, ctypes.c_int]
        _lib = lib
    return _lib


def evp(cipher: str, key: bytes, iv: Optional[bytes], data: bytes, encrypt: bool) -> bytes:
    """One EVP pass (no padding) over `data`."""
    lib = _crypto()
    c = {"ctr": lib.EVP_aes_128_ctr, "cbc": lib.EVP_aes_128_cbc, "ecb": lib.EVP_aes_128_ecb}[cipher]()
    ctx = lib.EVP_CIPHER_CTX_new()
    try:
        if lib.EVP_CipherInit_ex(ctx, c, None, key, iv, 1 if encrypt else 0) != 1:
            raise RuntimeError("EVP_CipherInit_ex failed")
        lib.EVP_CIPHER_CTX_set_padding(ctx, 0)
        out = ctypes.create_string_buffer(len(data) + 32)
        n = ctypes.c_int(0)
        if len(data) and lib.EVP_CipherUpdate(ctx, out, ctypes.byref(n), data, len(data)) != 1:
            raise RuntimeError("EVP_CipherUpdate failed")
        return out.raw[:n.value]
    finally:
        lib.EVP_CIPHER_CTX_free(ctx)


def guid_swap(kid: bytes) -> bytes:
    """UUID (big-endian) <-> Windows GUID byte order (first three fields little-endian)."""
    return kid[3::-1] + kid[5:3:-1] + kid[7:5:-1] + kid[8:]


def playready_checksum(kid_uuid: bytes, key: bytes) -> bytes:
    return evp("ecb", key, None, guid_swap(kid_uuid), True)[:8]


# ---------------------------------------------------------------- boxes

def parse_tenc(b: boxcheck.Box) -> dict:
    _, _, p = b.full_header()
    return {"algorithm": int.from_bytes(p[0:3], "big"), "iv_size": p[3], "kid": bytes(p[4:20])}


def track_protection(movie: boxcheck.Movie) -> Dict[int, dict]:
    """Per track id: {'entry', 'frma', 'scheme', 'scheme_version', 'tenc'} for encrypted sample entries."""
    out = {}
    for trak in movie.moov.find("trak"):
        tid = boxcheck.parse_tkhd(trak.first("tkhd"))["track_id"]
        stsd = trak.first("mdia/minf/stbl/stsd")
        if stsd is None or not stsd.children:
            continue
        e = stsd.children[0]
        sinf = e.first("sinf")
        if sinf is None:
            continue
        r = {"entry": e.type}
        frma = sinf.first("frma")
        r["frma"] = frma.payload()[:4].decode("latin-1") if frma else None
        schm = sinf.first("schm")
        if schm is not None:
            _, _, p = schm.full_header()
            r["scheme"] = p[0:4].decode("latin-1")
            r["scheme_version"] = struct.unpack(">I", p[4:8])[0]
        schi = sinf.first("schi")
        for c in (schi.children if schi else []):
            if c.type == "uuid" and c.uuid == boxcheck.UUID_PIFF_TENC:
                r["tenc"] = parse_tenc(c)
        out[tid] = r
    return out


def parse_senc(b: boxcheck.Box, default_iv_size: int) -> dict:
    _, flags, p = b.full_header()
    pos = 0
    iv_size = default_iv_size
    r = {"flags": flags, "samples": []}
    if flags & 1:
        r["override"] = {"algorithm": int.from_bytes(p[0:3], "big"), "iv_size": p[3], "kid": p[4:20]}
        iv_size = p[3]
        pos = 20
    count = struct.unpack_from(">I", p, pos)[0]
    pos += 4
    for _ in range(count):
        iv = bytes(p[pos:pos + iv_size])
        pos += iv_size
        subs = []
        if flags & 2:
            n = struct.unpack_from(">H", p, pos)[0]
            pos += 2
            for _ in range(n):
                subs.append(struct.unpack_from(">HI", p, pos))
                pos += 6
        r["samples"].append({"iv": iv, "subsamples": subs})
    if pos != len(p):
        raise boxcheck.BoxError("senc at %d: %d bytes left over" % (b.offset, len(p) - pos))
    return r


def fragment_senc(fr: boxcheck.TrackFragment, movie: boxcheck.Movie, default_iv_size: int) -> Optional[dict]:
    moof = movie.file.box_at(fr.moof_offset)
    traf = moof.find("traf")[fr.traf_index]
    for c in traf.children:
        if c.type == "uuid" and c.uuid == boxcheck.UUID_PIFF_SENC:
            return parse_senc(c, default_iv_size)
    return None


def piff_pssh(movie: boxcheck.Movie) -> List[dict]:
    out = []
    for c in movie.moov.children:
        if c.type == "uuid" and c.uuid == boxcheck.UUID_PIFF_PSSH:
            _, _, p = c.full_header()
            size = struct.unpack_from(">I", p, 16)[0]
            out.append({"system_id": bytes(p[:16]), "data": bytes(p[20:20 + size]), "size_ok": len(p) == 20 + size})
    return out


def parse_pro(pro: bytes) -> dict:
    """PlayReady Object -> {'length_ok', 'records', 'xml', 'version', 'kid' (UUID order), 'checksum', 'la_url'}."""
    length, count = struct.unpack_from("<IH", pro, 0)
    pos = 6
    r = {"length_ok": length == len(pro), "records": count, "xml": None}
    for _ in range(count):
        typ, ln = struct.unpack_from("<HH", pro, pos)
        pos += 4
        if typ == 1:
            r["xml"] = pro[pos:pos + ln].decode("utf-16-le")
        pos += ln
    if r["xml"]:
        ns = "{http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader}"
        root = ET.fromstring(r["xml"])
        r["version"] = root.get("version")
        data = root.find(ns + "DATA")
        kid = data.find(ns + "KID")
        if kid is not None and kid.text:
            r["kid"] = guid_swap(base64.b64decode(kid.text))
        else:
            k = data.find(ns + "PROTECTINFO/" + ns + "KIDS/" + ns + "KID")
            if k is not None:
                r["kid"] = guid_swap(base64.b64decode(k.get("VALUE")))
                r["algid"] = k.get("ALGID")
        alg = data.find(ns + "PROTECTINFO/" + ns + "ALGID")
        if alg is not None:
            r["algid"] = alg.text
        cs = data.find(ns + "CHECKSUM")
        r["checksum"] = base64.b64decode(cs.text) if cs is not None else None
        la = data.find(ns + "LA_URL")
        r["la_url"] = la.text if la is not None else None
    return r


# ---------------------------------------------------------------- decryption

def decrypt_sample(data: bytes, algorithm: int, key: bytes, iv: bytes, subsamples) -> bytes:
    """PIFF rules: AlgorithmID 1 = AES-CTR (8-byte IV || 64-bit block counter from 0,
    or a 16-byte IV as the counter block); 2 = AES-CBC (whole blocks only). The
    encrypted ranges of a sample form one stream."""
    if subsamples:
        ranges, pos = [], 0
        for clear, enc in subsamples:
            pos += clear
            ranges.append((pos, enc))
            pos += enc
        if pos != len(data):
            raise ValueError("subsamples cover %d of %d bytes" % (pos, len(data)))
    else:
        n = len(data) if algorithm == 1 else len(data) - len(data) % 16
        ranges = [(0, n)]
    stream = b"".join(data[o:o + n] for o, n in ranges)
    if algorithm == 1:
        counter = iv + bytes(8) if len(iv) == 8 else iv
        plain = evp("ctr", key, counter, stream, False)
    elif algorithm == 2:
        if len(stream) % 16:
            raise ValueError("CBC encrypted bytes %d not a multiple of 16" % len(stream))
        plain = evp("cbc", key, iv, stream, False)
    else:
        raise ValueError("AlgorithmID %d" % algorithm)
    out = bytearray(data)
    p = 0
    for o, n in ranges:
        out[o:o + n] = plain[p:p + n]
        p += n
    return bytes(out)

#!/usr/bin/env bash
# Regenerates the seed part of tests/fuzz/corpus from tiny synthetic streams:
# ismvmux output (needs the built plugin in build/gst/ismv or $GST_SMOOTH_BUILD_DIR),
# FFmpeg's -f ismv / -f smoothstreaming output, slices of them (init segment,
# moof+mdat pairs), the manifests next to them, the unit-test manifest
# fixtures and a few hand-made variants. Regression inputs (regress-*) are not
# touched: they are kept by hand, one per bug fixed.
#
#   bash tests/fuzz/make_corpus.sh
#
# The media is generated, never downloaded, and kept small (the whole corpus
# stays well under 1 MB) so that replaying it in CI takes seconds.
set -euo pipefail

src_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${GST_SMOOTH_BUILD_DIR:-$src_root/build}
corpus=$src_root/tests/fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GST_PLUGIN_PATH_1_0=$build/gst/ismv GST_REGISTRY_1_0=$tmp/registry.bin
cd "$tmp"

# --- media ------------------------------------------------------------------
# 64x64, quantizer 50: a few KB per second. B-frames in the A/V file give
# composition offsets (trun v1); the video-only file has 5-frame GOPs.
X264=(pass=quant quantizer=50 speed-preset=ultrafast)
gst-launch-1.0 -q -e \
  videotestsrc num-buffers=30 ! video/x-raw,width=64,height=64,framerate=30/1 ! \
    x264enc "${X264[@]}" key-int-max=10 bframes=2 option-string=scenecut=0:min-keyint=10 ! h264parse ! queue ! mux.video_0 \
  audiotestsrc num-buffers=10 samplesperbuffer=4800 ! audio/x-raw,rate=48000,channels=1 ! audioconvert ! \
    avenc_aac bitrate=16000 ! aacparse ! queue ! mux.audio_0 \
  ismvmux name=mux fragment-duration=333333333 server-manifest=av.ism client-manifest=av.ismc ! filesink location=av.ismv
gst-launch-1.0 -q -e \
  videotestsrc num-buffers=20 ! video/x-raw,width=64,height=64,framerate=30/1 ! \
    x264enc "${X264[@]}" key-int-max=5 bframes=0 option-string=scenecut=0:min-keyint=5 ! h264parse ! \
  ismvmux fragment-duration=100000000 server-manifest=v.ism client-manifest=v.ismc ! filesink location=v.ismv
gst-launch-1.0 -q -e \
  audiotestsrc num-buffers=6 samplesperbuffer=4800 ! audio/x-raw,rate=48000,channels=1 ! \
    avenc_aac bitrate=16000 ! aacparse ! mux.audio_0 \
  audiotestsrc num-buffers=6 samplesperbuffer=4800 wave=square ! audio/x-raw,rate=22050,channels=2 ! \
    avenc_aac bitrate=16000 ! aacparse ! mux.audio_1 \
  ismvmux name=mux fragment-duration=300000000 server-manifest=a.ism client-manifest=a.ismc ! filesink location=a.isma

ffmpeg -v error -y -f lavfi -i testsrc=size=64x64:rate=15:duration=1 \
  -f lavfi -i sine=frequency=440:sample_rate=22050:duration=1 \
  -c:v libx264 -preset ultrafast -crf 51 -g 5 -bf 1 -c:a aac -b:a 8k -ac 1 in.mp4
ffmpeg -v error -y -i in.mp4 -c copy -f ismv ff.ismv
ffmpeg -v error -y -i in.mp4 -c copy -movflags isml+frag_keyframe -f ismv ff-live.ismv
mkdir ss
ffmpeg -v error -y -i in.mp4 -c copy -min_frag_duration 300000 -f smoothstreaming ss
# Encoded straight to ismv: FFmpeg's AAC starts at minus its priming (a
# negative tfxd, see gst/piff/start_offset.h).
ffmpeg -v error -y -f lavfi -i testsrc2=s=64x64:r=24:d=1 -f lavfi -i sine=d=1:r=48000 \
  -c:v libx264 -qp 50 -preset ultrafast -g 12 -c:a aac -b:a 16k -f ismv ff-neg.ismv

# Encrypted (PIFF CTR with audio, CBC video-only): sinf/tenc, uuid-pssh, uuid-senc.
ENC=(key-id=01020304-0506-0708-090a-aabbccddeeff content-key=00112233445566778899aabbccddeeff)
gst-launch-1.0 -q -e \
  videotestsrc num-buffers=20 ! video/x-raw,width=64,height=64,framerate=30/1 ! \
    x264enc "${X264[@]}" key-int-max=10 ! h264parse ! queue ! mux.video_0 \
  audiotestsrc num-buffers=5 samplesperbuffer=4800 ! audio/x-raw,rate=48000,channels=1 ! audioconvert ! \
    avenc_aac bitrate=16000 ! aacparse ! queue ! mux.audio_0 \
  ismvmux name=mux fragment-duration=333333333 encryption=piff-ctr "${ENC[@]}" ! filesink location=enc-ctr.ismv
gst-launch-1.0 -q -e \
  videotestsrc num-buffers=10 ! video/x-raw,width=64,height=64,framerate=30/1 ! \
    x264enc "${X264[@]}" key-int-max=5 ! h264parse ! \
  ismvmux fragment-duration=100000000 encryption=piff-cbc "${ENC[@]}" ! filesink location=enc-cbc.ismv

# --- corpus -----------------------------------------------------------------
for t in fuzz_piff_file fuzz_fragment fuzz_client_manifest fuzz_server_manifest fuzz_codec_config fuzz_protection fuzz_stream_reader fuzz_ingest_stream; do
  mkdir -p "$corpus/$t"
  find "$corpus/$t" -type f ! -name 'regress-*' ! -name 'seed-*' -delete
done

# Whole files. The ismvmux-* names are replayed with PIFF_FUZZ_EXACT=1 by
# run.sh: our own output must round-trip byte for byte.
cp av.ismv "$corpus/fuzz_piff_file/ismvmux-av.ismv"
cp v.ismv "$corpus/fuzz_piff_file/ismvmux-v.ismv"
cp a.isma "$corpus/fuzz_piff_file/ismvmux-2audio.isma"
cp ff.ismv "$corpus/fuzz_piff_file/ffmpeg.ismv"
cp ff-live.ismv "$corpus/fuzz_piff_file/ffmpeg-live.ismv"
cp in.mp4 "$corpus/fuzz_piff_file/ffmpeg-progressive.mp4"  # filled stts/stsc/stsz/stco
cp enc-ctr.ismv "$corpus/fuzz_piff_file/ismvmux-enc-ctr.ismv"
cp enc-cbc.ismv "$corpus/fuzz_piff_file/ismvmux-enc-cbc.ismv"
cp enc-ctr.ismv "$corpus/fuzz_fragment/ismvmux-enc-ctr.ismv"
cp ff-neg.ismv "$corpus/fuzz_fragment/ffmpeg-aac-negative-start.ismv"
# Whole streams for the incremental reader (fed in random pieces).
cp ff-live.ismv "$corpus/fuzz_stream_reader/ffmpeg-live.ismv"
cp av.ismv "$corpus/fuzz_stream_reader/ismvmux-av.ismv"
cp ff.ismv "$corpus/fuzz_stream_reader/ffmpeg.ismv"
cp enc-ctr.ismv "$corpus/fuzz_stream_reader/ismvmux-enc-ctr.ismv"
cp ff-neg.ismv "$corpus/fuzz_stream_reader/ffmpeg-aac-negative-start.ismv"
# Ingest bodies (FFmpeg's isml output is one) for the ingest parser.
cp ff-live.ismv "$corpus/fuzz_ingest_stream/ffmpeg-live.ismv"
cp av.ismv "$corpus/fuzz_ingest_stream/ismvmux-av.ismv"
# Protection pieces cut out with the independent box walker of the interop tests.
python3 - "$src_root/tests/interop" "$corpus/fuzz_protection" enc-ctr.ismv enc-cbc.ismv <<'PY'
import os, sys
sys.path.insert(0, sys.argv[1])
import boxcheck
out = sys.argv[2]
for path in sys.argv[3:]:
    tag = os.path.splitext(path)[0]
    m = boxcheck.Movie(path)
    def save(name, box, limit=4000):
        open(os.path.join(out, "%s-%s.bin" % (tag, name)), "wb").write(m.file.data[box.offset:box.end][:limit])
    for c in m.moov.children:
        if c.type == "uuid" and c.uuid == boxcheck.UUID_PIFF_PSSH:
            open(os.path.join(out, tag + "-pro.bin"), "wb").write(c.payload()[24:])
    for trak in m.moov.find("trak"):
        e = trak.first("mdia/minf/stbl/stsd").children[0]
        save(e.type + "-sinf", e.first("sinf"))
    for i, fr in enumerate(m.fragments[:3]):
        traf = m.file.box_at(fr.moof_offset).find("traf")[fr.traf_index]
        for c in traf.children:
            if c.type == "uuid" and c.uuid == boxcheck.UUID_PIFF_SENC:
                save("senc-%d" % i, c)
        s = fr.samples[0]
        open(os.path.join(out, "%s-sample-%d.bin" % (tag, i)), "wb").write(m.file.data[s["offset"]:s["offset"] + s["size"]])
PY
printf '%s' '01020304-0506-0708-090a-aabbccddeeff:00112233445566778899aabbccddeeff,{0102030405060708090AAABBCCDDEE00}:ffeeddccbbaa99887766554433221100' \
  >"$corpus/fuzz_protection/keys.txt"

python3 - "$corpus" <<'PY'
import os, struct, sys

corpus = sys.argv[1]

def boxes(data):
    off = 0
    while off + 8 <= len(data):
        size, typ = struct.unpack(">I4s", data[off:off + 8])
        if size == 1:
            size = struct.unpack(">Q", data[off + 8:off + 16])[0]
        elif size == 0:
            size = len(data) - off
        if size < 8 or off + size > len(data):
            break
        yield typ.decode("latin-1"), off, size
        off += size

def put(target, name, payload):
    with open(os.path.join(corpus, target, name), "wb") as f:
        f.write(payload)

# Bytes of fields before the children of the non-plain containers we walk.
FIELDS = {"stsd": 8, "avc1": 78, "mp4a": 28}

def find(data, path):
    """Payload offsets of the boxes at path (a list of fourccs) under data."""
    out = []
    def walk(start, end, depth):
        for typ, off, size in boxes(data[start:end]):
            if typ == path[depth]:
                if depth + 1 == len(path):
                    out.append((start + off + 8, start + off + size))
                else:
                    walk(start + off + 8 + FIELDS.get(typ, 0), start + off + size, depth + 1)
    walk(0, len(data), 0)
    return out

for name, path in [("ismvmux-av", "av.ismv"), ("ismvmux-v", "v.ismv"), ("ffmpeg", "ff.ismv"),
                   ("ffmpeg-live", "ff-live.ismv")]:
    data = open(path, "rb").read()
    top = list(boxes(data))
    moofs = [(o, s) for t, o, s in top if t == "moof"]
    # The initialisation part: everything before the first moof.
    put("fuzz_piff_file", name + "-init.mp4", data[:moofs[0][0]])
    # moof + its mdat: the first two fragments (video and audio when shared).
    for k, (o, s) in enumerate(moofs[:2]):
        end = o + s
        nxt = [(t, oo, ss) for t, oo, ss in top if oo == end]
        if nxt and nxt[0][0] == "mdat":
            end += nxt[0][2]
        put("fuzz_fragment", "%s-moof%d.bin" % (name, k), data[o:end])
    mfra = [(o, s) for t, o, s in top if t == "mfra"]
    if mfra and moofs:
        # A file cut after the first fragment, with the real (now stale) mfra.
        o, s = moofs[0]
        end = o + s + next(ss for t, oo, ss in top if oo == o + s)
        put("fuzz_fragment", name + "-cut.ismv", data[:end] + data[mfra[0][0]:mfra[0][0] + mfra[0][1]])
    for o, s in find(data, ["moov", "trak", "mdia", "minf", "stbl", "stsd", "avc1", "avcC"])[:1]:
        put("fuzz_codec_config", name + "-avcc.bin", b"\x00" + data[o:s])
    if name == "ffmpeg-live":
        for t, o, s in top:
            if t == "uuid" and o < 4096:
                put("fuzz_server_manifest", "ffmpeg-live-server-manifest.xml",
                    data[o + 8 + 16 + 4:o + s].rstrip(b"\0"))

# FFmpeg's smoothstreaming fragments are moof+mdat files as an origin serves them.
for q in sorted(os.listdir("ss")):
    if not q.startswith("QualityLevels"):
        continue
    frags = sorted(f for f in os.listdir(os.path.join("ss", q)) if f.startswith("Fragments("))
    kind = frags[0].split("(")[1].split("=")[0]
    put("fuzz_fragment", "ffmpeg-ss-%s.bin" % kind, open(os.path.join("ss", q, frags[0]), "rb").read())
PY

cp v.ismv "$corpus/fuzz_fragment/ismvmux-v.ismv"
cp "$corpus/fuzz_fragment/ffmpeg-live-cut.ismv" "$corpus/fuzz_stream_reader/ffmpeg-live-cut.ismv"
cp "$corpus/fuzz_fragment/ffmpeg-live-cut.ismv" "$corpus/fuzz_ingest_stream/ffmpeg-live-cut.ismv"
cp av.ismc "$corpus/fuzz_client_manifest/ismvmux-av.ismc"
cp a.ismc "$corpus/fuzz_client_manifest/ismvmux-2audio.ismc"
cp ss/Manifest "$corpus/fuzz_client_manifest/ffmpeg-ss.Manifest"
cp "$src_root/tests/unit/data/ffmpeg_Manifest" "$corpus/fuzz_client_manifest/unit-ffmpeg.Manifest"
cp "$src_root/tests/unit/data/iis_live.ismc" "$corpus/fuzz_client_manifest/unit-iis-live.ismc"
cp av.ism "$corpus/fuzz_server_manifest/ismvmux-av.ism"
cp a.ism "$corpus/fuzz_server_manifest/ismvmux-2audio.ism"
cp "$src_root/tests/unit/data/iis_vod.ism" "$corpus/fuzz_server_manifest/unit-iis-vod.ism"
cp "$src_root/tests/unit/data/ffmpeg_live_server_manifest.xml" "$corpus/fuzz_server_manifest/unit-ffmpeg-live.xml"
# UTF-16 documents take the g_convert path of the XML layer.
printf '\xff\xfe' >"$corpus/fuzz_client_manifest/utf16le-bom.ismc"
iconv -f UTF-8 -t UTF-16LE a.ismc >>"$corpus/fuzz_client_manifest/utf16le-bom.ismc"
iconv -f UTF-8 -t UTF-16BE v.ism >"$corpus/fuzz_server_manifest/utf16be-nobom.ism"

# Hand-made client manifest variants: v1 spellings (Width/Height,
# WaveFormatEx), n-only chunks, r with implicit t, inline f samples.
cat >"$corpus/fuzz_client_manifest/variants.ismc" <<'XML'
<?xml version="1.0"?>
<SmoothStreamingMedia MajorVersion="1" MinorVersion="0" Duration="60000000" TimeScale="1000">
  <StreamIndex Type="video" Url="QualityLevels({bitrate})/Fragments(video={start time})" Chunks="4">
    <QualityLevel Bitrate="350000" FourCC="WVC1" Width="320" Height="240" CodecPrivateData="250000010FCBEE"/>
    <c n="0" d="2000"/><c n="1" d="2000"/><c n="2" d="1000" r="2"/>
  </StreamIndex>
  <StreamIndex Type="audio" Name="a" TimeScale="44100" Url="Q({Bitrate})/F(a={start_time})">
    <QualityLevel Index="3" Bitrate="64000" WaveFormatEx="FF00020044AC0000803E00000400100002001210"/>
    <c t="0" d="88200" r="3"/><c t="300000"/><c d="10"/>
  </StreamIndex>
  <StreamIndex Type="text" ManifestOutput="true" Url="t({start time})">
    <QualityLevel Bitrate="1" FourCC="TTML"/>
    <c t="5" d="5"><f i="0">AAAA</f><f>BB BB</f></c>
  </StreamIndex>
</SmoothStreamingMedia>
XML

# Codec configurations: selector byte (see fuzz_codec_config.cc) + payload.
put() { printf '%b' "$2" >"$corpus/fuzz_codec_config/$1"; }
put asc-aac-lc.bin '\x01\x11\x90'
put asc-he-aac-explicit.bin '\x01\x2b\x92\x08\x00'
put asc-he-aac-v2.bin '\x01\xeb\x09\x88\x00'
put asc-sbr-sync-ext.bin '\x01\x13\x10\x56\xe5\x98'
put asc-explicit-rate.bin '\x01\x17\x80\x01\xf4\x10'
put cpd-main.txt '\x0200000001674D401FECA02802DD80880000030008000003019078C18CB00000000168EBE3CB20'
put cpd-high.txt '\x020000000167F4000A90D9B2884D80B506060640000003004000000F23C48965800000000168CE011C6480'
put uuid.txt '\x03{9A04F079-9840-4286-AB92-E65BE0885F95}'
put hex.txt '\x030123456789abcdefABCDEF'

du -sh "$corpus"

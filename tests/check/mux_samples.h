// Synthetic H.264/AAC input for the ismvmux element tests (test_ismvmux.cc,
// test_ismvmux_live.cc): caps, samples with controlled timestamps and flags,
// and the fragments of one track read back with the core. Include after
// mux_rig.h.
#pragma once

#include <vector>

#include "file.h"

// kAvcC (mux_rig.h) at level 3.1 instead of 3.0: a second rendition, or a
// caps change mid-stream.
inline const guint8 kAvcC2[] = {0x01, 0x42, 0xc0, 0x1f, 0xff, 0xe1, 0x00, 0x08, 0x67, 0x42, 0xc0, 0x1f,
                                0xd9, 0x00, 0xa0, 0x47, 0x01, 0x00, 0x04, 0x68, 0xce, 0x3c, 0x80};

inline GstCaps* VideoCaps(const guint8* avcc = kAvcC, gsize n = sizeof(kAvcC), int width = 320) {
  GstBuffer* cd = gst_buffer_new_memdup(avcc, n);
  GstCaps* caps = gst_caps_new_simple("video/x-h264", "stream-format", G_TYPE_STRING, "avc", "alignment",
                                      G_TYPE_STRING, "au", "width", G_TYPE_INT, width, "height", G_TYPE_INT, 180,
                                      "framerate", GST_TYPE_FRACTION, 25, 1, "codec_data", GST_TYPE_BUFFER, cd,
                                      nullptr);
  gst_buffer_unref(cd);
  return caps;
}

inline GstBuffer* Sample(gsize size, GstClockTime pts, GstClockTime dts, GstClockTime duration, bool key, guint8 fill = 0) {
  GstBuffer* b = gst_buffer_new_allocate(nullptr, size, nullptr);
  gst_buffer_memset(b, 0, fill, size);
  GST_BUFFER_PTS(b) = pts;
  GST_BUFFER_DTS(b) = dts;
  GST_BUFFER_DURATION(b) = duration;
  if (!key) GST_BUFFER_FLAG_SET(b, GST_BUFFER_FLAG_DELTA_UNIT);
  return b;
}

// Video: 25 fps, keyframe every `gop` frames, sizes vary with the index.
inline void PushVideo(Rig& r, size_t src, int frames, int gop, GstClockTime start = 0, int skip_key_offset = 0) {
  GstClockTime dur = GST_SECOND / 25;
  for (int i = 0; i < frames; i++) {
    GstClockTime ts = start + i * dur;
    bool key = (i + skip_key_offset) % gop == 0;
    r.Push(src, Sample(1000 + i, ts, ts, dur, key, static_cast<guint8>(i)));
  }
}

inline void PushAudio(Rig& r, size_t src, int frames, GstClockTime start = 0) {
  for (int i = 0; i < frames; i++) {
    GstClockTime ts = start + gst_util_uint64_scale(i, 1024 * GST_SECOND, 48000);
    GstClockTime next = start + gst_util_uint64_scale(i + 1, 1024 * GST_SECOND, 48000);
    r.Push(src, Sample(300, ts, ts, next - ts, true));
  }
}

inline std::vector<piff::TrackFragmentSamples> Fragments(const piff::PiffFile& f, uint32_t track) {
  std::vector<piff::TrackFragmentSamples> all, out;
  piff::Status s = f.Fragments(&all);
  fail_unless(s.ok(), "%s", s.message().c_str());
  for (auto& x : all)
    if (x.track_id == track) out.push_back(x);
  return out;
}


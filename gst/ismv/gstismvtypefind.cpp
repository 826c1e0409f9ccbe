// The "video/x-ms-ismv" typefinder: claims streams whose ftyp names the isml
// or piff brand (or that carry a Live Server Manifest box right after the
// ftyp), so that decodebin/playbin plug ismdemux for them. GStreamer's own
// "video/quicktime" typefinder (rank PRIMARY) returns MAXIMUM probability for
// major brand isml too; typefinding stops at the first MAXIMUM in rank order,
// so this one is registered one rank above it (PRIMARY + 1) and is tried first.
// Anything else (plain MP4, DASH, QuickTime) is left to the quicktime one, and
// so is a Smooth file with a track ismdemux cannot play (piff::SniffTracks).
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstismdemux.h"

#include <string>

#include "sniff.h"

// Enough for the ftyp (rarely more than 40 bytes) and the next box header.
static constexpr guint kPeekSize = 256;
// Enough for the moov of a Smooth Streaming file (a few KB; no sample tables).
static constexpr guint kMoovPeekSize = 65536;

static void gst_ismv_type_find(GstTypeFind* tf, gpointer user_data) {
  const guint8* data = gst_type_find_peek(tf, 0, kPeekSize);
  guint size = kPeekSize;
  if (!data) {
    // Short stream: peek what there is, down to the 16 bytes of an ftyp header.
    guint64 len = gst_type_find_get_length(tf);
    if (len < 16 || len > kPeekSize) {
      data = gst_type_find_peek(tf, 0, 16);
      size = 16;
    } else {
      size = static_cast<guint>(len);
      data = gst_type_find_peek(tf, 0, size);
    }
    if (!data) return;
  }
  piff::SniffResult sniffed = piff::SniffSmoothStreaming(data, size);
  if (sniffed != piff::SniffResult::kNotSmooth) {
    // Claim only what ismdemux plays whole; qtdemux gets the rest (HEVC,
    // E-AC-3, ...). The moov of a Smooth file is small and right after the
    // ftyp; when it cannot be peeked (a stream, not enough data yet), the
    // brand decides as before.
    guint64 len = gst_type_find_get_length(tf);
    guint want = len > 0 && len < kMoovPeekSize ? static_cast<guint>(len) : kMoovPeekSize;
    const guint8* head = gst_type_find_peek(tf, 0, want);
    if (!head && want > 4096) head = gst_type_find_peek(tf, 0, want = 4096);
    std::string why;
    if (head && piff::SniffTracks(head, want, &why) == piff::TrackSniff::kNotAllSupported) {
      GST_INFO("Smooth Streaming brand, but not for ismdemux (%s): left to other typefinders", why.c_str());
      return;
    }
  }
  switch (sniffed) {
    case piff::SniffResult::kSmoothBrand:
      gst_type_find_suggest_empty_simple(tf, GST_TYPE_FIND_MAXIMUM, GST_ISM_DEMUX_SINK_CAPS);
      break;
    case piff::SniffResult::kLiveIngest:
      gst_type_find_suggest_simple(tf, GST_TYPE_FIND_MAXIMUM, GST_ISM_DEMUX_SINK_CAPS, "live-ingest",
                                   G_TYPE_BOOLEAN, TRUE, nullptr);
      break;
    case piff::SniffResult::kNotSmooth:
      break;
  }
}

// "mp4" is listed so that an isml/piff file named .mp4 is still sniffed
// before the quicktime typefinder, which is moved ahead for that extension.
GST_TYPE_FIND_REGISTER_DEFINE(ismv, GST_ISM_DEMUX_SINK_CAPS, GST_RANK_PRIMARY + 1, gst_ismv_type_find,
                              "ismv,isma,piff,mp4", gst_caps_from_string(GST_ISM_DEMUX_SINK_CAPS), nullptr, nullptr);

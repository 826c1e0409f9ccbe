// ismvmux: H.264/AAC in, PIFF 1.1 fragmented MP4 (.ismv/.isma) out, plus the
// Smooth Streaming server (.ism) and client (.ismc) manifests.
#pragma once

#include <gst/base/gstaggregator.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_ISMV_MUX (gst_ismv_mux_get_type())
G_DECLARE_FINAL_TYPE(GstIsmvMux, gst_ismv_mux, GST, ISMV_MUX, GstAggregator)

#define GST_TYPE_ISMV_MUX_PAD (gst_ismv_mux_pad_get_type())
G_DECLARE_FINAL_TYPE(GstIsmvMuxPad, gst_ismv_mux_pad, GST, ISMV_MUX_PAD, GstAggregatorPad)

typedef enum {
  GST_ISMV_MUX_TIMESTAMPS_ZERO,
  GST_ISMV_MUX_TIMESTAMPS_RUNNING_TIME,
  GST_ISMV_MUX_TIMESTAMPS_CLOCK,
} GstIsmvMuxTimestampMode;

// Where fragments start: at the first keyframe at or after each target
// (fragment-duration after the previous boundary), or - for timecode-ganged
// redundant encoders - at the first frame of each multiple of
// fragment-duration on the output timeline (ismvmux_live.cpp).
typedef enum {
  GST_ISMV_MUX_BOUNDARIES_KEYFRAME,
  GST_ISMV_MUX_BOUNDARIES_CLOCK_GRID,
} GstIsmvMuxFragmentBoundaries;

GST_ELEMENT_REGISTER_DECLARE(ismvmux);

G_END_DECLS

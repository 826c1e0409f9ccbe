// smoothsink: pushes a live Smooth Streaming (fragmented MP4 / ISML) byte
// stream to an IIS / Azure Media Services style publishing point with HTTP
// POST ([MS-SSTR] §2.2.7, the Azure fragmented MP4 live ingest spec).
#pragma once

#include <gst/base/gstbasesink.h>
#include <gst/gst.h>

G_BEGIN_DECLS
#define GST_TYPE_SMOOTH_SINK (gst_smooth_sink_get_type())
G_DECLARE_FINAL_TYPE(GstSmoothSink, gst_smooth_sink, GST, SMOOTH_SINK, GstBaseSink)
GST_ELEMENT_REGISTER_DECLARE(smoothsink);
G_END_DECLS

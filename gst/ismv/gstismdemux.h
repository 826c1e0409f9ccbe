// ismdemux: Smooth Streaming / PIFF (.ismv, .isma, live ingest streams) to
// elementary streams, in pull mode (seekable, indexed) and push mode
// (pipes, HTTP, live ingest); and the "video/x-ms-ismv" typefinder.
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_ISM_DEMUX (gst_ism_demux_get_type())
G_DECLARE_FINAL_TYPE(GstIsmDemux, gst_ism_demux, GST, ISM_DEMUX, GstElement)

// Caps of Smooth Streaming media streams, as the typefinder suggests them and
// ismdemux accepts them.
#define GST_ISM_DEMUX_SINK_CAPS "video/x-ms-ismv"

GST_ELEMENT_REGISTER_DECLARE(ismdemux);
GST_TYPE_FIND_REGISTER_DECLARE(ismv);

G_END_DECLS

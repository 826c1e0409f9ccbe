// The "smoothhttp" plugin: Smooth Streaming elements that speak HTTP
// (libsoup 3): smoothsink, the live ingest sender.
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gstsmoothsink.h"

static gboolean plugin_init(GstPlugin* plugin) { return GST_ELEMENT_REGISTER(smoothsink, plugin); }

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, smoothhttp,
                  "Microsoft Smooth Streaming over HTTP: live ingest to a publishing point", plugin_init, VERSION,
                  GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)

// The "ismv" plugin: Smooth Streaming (PIFF) file elements.
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gstismvmux.h"
#include "gstismdemux.h"

static gboolean plugin_init(GstPlugin* plugin) {
  gboolean ok = GST_ELEMENT_REGISTER(ismvmux, plugin);
  ok &= GST_ELEMENT_REGISTER(ismdemux, plugin);
  ok &= GST_TYPE_FIND_REGISTER(ismv, plugin);
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, ismv,
                  "Microsoft Smooth Streaming (PIFF 1.1 / ISMV) muxing, demuxing and manifests", plugin_init, VERSION,
                  GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)

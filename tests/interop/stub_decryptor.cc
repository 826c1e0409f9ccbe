// Test-only plugin: registers a "Decryptor" element factory for the
// PlayReady system id, as a set-top box's PlayReady decryptor would.
// GStreamer's mssdemux refuses a protected manifest unless such a factory
// exists (gst_protection_select_system); the element itself is never
// linked: the interop test inspects what mssdemux + qtdemux emit for the
// decryptor (application/x-cenc caps, GstProtectionMeta, protection events).
#include <gst/gst.h>

#define PLAYREADY_SYSTEM_ID "9a04f079-9840-4286-ab92-e65be0885f95"

typedef struct {
  GstElement parent;
} SmoothTestDecryptor;
typedef struct {
  GstElementClass parent_class;
} SmoothTestDecryptorClass;

G_DEFINE_TYPE(SmoothTestDecryptor, smooth_test_decryptor, GST_TYPE_ELEMENT)

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS("application/x-cenc, protection-system=(string)" PLAYREADY_SYSTEM_ID));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-h264; audio/mpeg"));

static void smooth_test_decryptor_class_init(SmoothTestDecryptorClass* klass) {
  GstElementClass* e = GST_ELEMENT_CLASS(klass);
  gst_element_class_add_static_pad_template(e, &sink_template);
  gst_element_class_add_static_pad_template(e, &src_template);
  gst_element_class_set_static_metadata(e, "Smooth test PlayReady decryptor stub", "Decryptor",
                                        "Claims the PlayReady system id for tests; never decrypts",
                                        "gst-smooth tests");
}

static void smooth_test_decryptor_init(SmoothTestDecryptor*) {}

static gboolean plugin_init(GstPlugin* plugin) {
  return gst_element_register(plugin, "smoothteststubdecryptor", GST_RANK_MARGINAL, smooth_test_decryptor_get_type());
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, smoothteststub, "Test-only PlayReady decryptor stub",
                  plugin_init, "0.1", "LGPL", "gst-smooth", "https://example.invalid/gst-smooth")

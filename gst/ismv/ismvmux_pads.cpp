// ismvmux's sink pads: the pad class and its properties, the pads as
// children, and their languages (see ismvmux_pads.h).
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "ismvmux_pads.h"

#include <mutex>
#include <string>

#include "ismvmux_private.h"

#include "language.h"

static GObject* ChildByIndex(GstChildProxy* proxy, guint index) {
  GstElement* e = GST_ELEMENT(proxy);
  GST_OBJECT_LOCK(e);
  auto* child = static_cast<GObject*>(g_list_nth_data(e->sinkpads, index));
  if (child) gst_object_ref(child);
  GST_OBJECT_UNLOCK(e);
  return child;
}

static guint ChildrenCount(GstChildProxy* proxy) {
  GstElement* e = GST_ELEMENT(proxy);
  GST_OBJECT_LOCK(e);
  guint n = e->numsinkpads;
  GST_OBJECT_UNLOCK(e);
  return n;
}

void IsmvMuxChildProxyInit(gpointer g_iface, gpointer) {
  auto* iface = static_cast<GstChildProxyInterface*>(g_iface);
  iface->get_child_by_index = ChildByIndex;
  iface->get_children_count = ChildrenCount;
}

GstPad* IsmvMuxRequestNewPad(GstElementClass* parent_class, GstElement* element, GstPadTemplate* templ,
                             const gchar* name, const GstCaps* caps) {
  GstPad* pad = parent_class->request_new_pad(element, templ, name, caps);
  if (pad) gst_child_proxy_child_added(GST_CHILD_PROXY(element), G_OBJECT(pad), GST_OBJECT_NAME(pad));
  return pad;
}

void IsmvMuxChildRemoved(GstElement* element, GstPad* pad) {
  gst_child_proxy_child_removed(GST_CHILD_PROXY(element), G_OBJECT(pad), GST_OBJECT_NAME(pad));
}

bool MapPadLanguage(GstElement* mux, GstPad* pad, const char* tag, const char* source, std::string* out) {
  if (piff::LanguageToIso639_2T(tag, out)) return true;
  GST_ELEMENT_WARNING(mux, STREAM, MUX,
                      ("Pad %s: the %s \"%s\" is not a language tag that maps to an ISO 639-2 code", GST_PAD_NAME(pad),
                       source, tag),
                      ("give an ISO 639-1/639-2 code or a BCP 47 tag (\"fr\", \"fra\", \"fre\", \"pt-BR\"); the mdhd box "
                       "and the .ismc Language attribute need an ISO 639-2/T code"));
  return false;
}

// ---------------------------------------------------------------- the pad class

enum { PROP_PAD_0, PROP_PAD_LANGUAGE, PROP_PAD_BITRATE };

G_DEFINE_TYPE(GstIsmvMuxPad, gst_ismv_mux_pad, GST_TYPE_AGGREGATOR_PAD)

static void gst_ismv_mux_pad_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  GstIsmvMuxPad* pad = GST_ISMV_MUX_PAD(object);
  switch (prop_id) {
    case PROP_PAD_LANGUAGE: {
      GST_OBJECT_LOCK(pad);
      g_free(pad->language);
      pad->language = g_value_dup_string(value);
      GST_OBJECT_UNLOCK(pad);
      GstElement* parent = GST_ELEMENT(gst_object_get_parent(GST_OBJECT(pad)));
      if (parent) {
        // Mapped (and warned about) before the tracks are locked.
        std::string iso = "und";
        const gchar* tag = g_value_get_string(value);
        if (tag) MapPadLanguage(parent, GST_PAD(pad), tag, "language property", &iso);
        std::lock_guard<std::mutex> lock(GST_ISMV_MUX(parent)->state->tracks_lock);
        Track* t = FindTrack(GST_ISMV_MUX(parent)->state, GST_AGGREGATOR_PAD(pad));
        if (t && tag) t->language = t->config.language = iso;
        gst_object_unref(parent);
      }
      break;
    }
    case PROP_PAD_BITRATE:
      GST_OBJECT_LOCK(pad);
      pad->bitrate = g_value_get_uint(value);
      GST_OBJECT_UNLOCK(pad);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
}

static void gst_ismv_mux_pad_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  GstIsmvMuxPad* pad = GST_ISMV_MUX_PAD(object);
  switch (prop_id) {
    case PROP_PAD_LANGUAGE:
      GST_OBJECT_LOCK(pad);
      g_value_set_string(value, pad->language);
      GST_OBJECT_UNLOCK(pad);
      break;
    case PROP_PAD_BITRATE:
      GST_OBJECT_LOCK(pad);
      g_value_set_uint(value, pad->bitrate);
      GST_OBJECT_UNLOCK(pad);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
}

static void gst_ismv_mux_pad_finalize(GObject* object) {
  g_free(GST_ISMV_MUX_PAD(object)->language);
  delete GST_ISMV_MUX_PAD(object)->queue;
  G_OBJECT_CLASS(gst_ismv_mux_pad_parent_class)->finalize(object);
}

static void gst_ismv_mux_pad_class_init(GstIsmvMuxPadClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  gobject_class->set_property = gst_ismv_mux_pad_set_property;
  gobject_class->get_property = gst_ismv_mux_pad_get_property;
  gobject_class->finalize = gst_ismv_mux_pad_finalize;
  g_object_class_install_property(
      gobject_class, PROP_PAD_LANGUAGE,
      g_param_spec_string("language", "Language",
                          "Language of the track: an ISO 639-1/639-2 code or a BCP 47 tag (\"fr\", \"fre\", "
                          "\"fra\", \"pt-BR\", \"zh-Hans\"), written as its ISO 639-2/T code (mdhd, .ismc "
                          "Language); a tag that maps to none is a warning and \"und\". Overrides the "
                          "language-code tag (default: from tags, else \"und\"). From gst-launch-1.0: "
                          "ismvmux name=mux audio_0::language=fra",
                          nullptr,
                          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(
      gobject_class, PROP_PAD_BITRATE,
      g_param_spec_uint("bitrate", "Bitrate",
                        "Live mode: the track's systemBitrate in the Live Server Manifest, in bit/s (the number in "
                        "its QualityLevels(...) URLs); 0 = the nominal-bitrate or bitrate tag of the input seen "
                        "before the header (x264enc, for one, tags its bitrate). Unused in on-demand files, whose "
                        "bitrates are measured (default: 0)",
                        0, G_MAXUINT, 0,
                        static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
}

static void gst_ismv_mux_pad_init(GstIsmvMuxPad* pad) {
  pad->language = nullptr;
  pad->bitrate = 0;
  pad->queue = new ismvmux::PadQueue();
}

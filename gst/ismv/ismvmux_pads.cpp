// ismvmux's sink pads as children and their languages (see ismvmux_pads.h).
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "ismvmux_pads.h"

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

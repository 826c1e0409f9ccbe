// ismvmux's sink pads as the application sees them: the pad class
// (GstIsmvMuxPad: language, bitrate; ismvmux_pads.cpp), and the element as a
// GstChildProxy over its sink pads, so that gst-launch-1.0 can set pad
// properties (`ismvmux name=mux audio_0::language=fra`), and a pad's language (property
// or language-code tag) is mapped to ISO 639-2/T by the core, with a
// warning when it cannot be.
#pragma once

#include <gst/gst.h>

#include <string>

// The GstChildProxy interface of ismvmux (children: its sink pads).
void IsmvMuxChildProxyInit(gpointer g_iface, gpointer iface_data);

// Wraps the parent class's request_new_pad / release_pad with the
// child-added / child-removed signals (gst-launch-1.0 sets `pad::property`
// values when the pad is added).
GstPad* IsmvMuxRequestNewPad(GstElementClass* parent_class, GstElement* element, GstPadTemplate* templ,
                             const gchar* name, const GstCaps* caps);
void IsmvMuxChildRemoved(GstElement* element, GstPad* pad);

// The ISO 639-2/T code of `tag` (piff::LanguageToIso639_2T). False, with a
// WARNING from `mux` naming the pad, the tag and where it came from
// (`source`: "language property" or "language-code tag"), when it cannot be
// mapped.
bool MapPadLanguage(GstElement* mux, GstPad* pad, const char* tag, const char* source, std::string* out);

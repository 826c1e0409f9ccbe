// SinkBodyStream: the request body of one long ingest POST, as a GInputStream
// that libsoup reads from while the sink appends bytes (the header, then
// fragments as they arrive) and finally ends it. libsoup sends a body of
// unknown length chunked, which is what a publishing point expects.
//
// Only the asynchronous read is served (libsoup splices the body with it);
// a read waits until bytes are appended or the body is ended. All calls
// happen in the thread of the GMainContext the stream was made for.
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS
#define SINK_TYPE_BODY_STREAM (sink_body_stream_get_type())
G_DECLARE_FINAL_TYPE(SinkBodyStream, sink_body_stream, SINK, BODY_STREAM, GInputStream)

SinkBodyStream* sink_body_stream_new(void);
// Appends bytes (a reference is kept until they are read).
void sink_body_stream_append(SinkBodyStream* self, GBytes* bytes);
// No more bytes: a read at the end returns 0 (the end of the chunked body).
void sink_body_stream_end(SinkBodyStream* self);
// Bytes appended and not yet read by libsoup.
guint64 sink_body_stream_unread(SinkBodyStream* self);
// Bytes read by libsoup so far.
guint64 sink_body_stream_served(SinkBodyStream* self);
G_END_DECLS

// SinkBodyStream: a GInputStream fed by the sink (see the header).
#include "body_stream.h"

#include <cstring>

struct _SinkBodyStream {
  GInputStream parent;
  GQueue* chunks;  // GBytes, the first one partly read up to `offset`
  gsize offset;
  guint64 unread;
  guint64 served;
  gboolean ended;
  // A read waiting for bytes.
  GTask* pending;
  void* pending_buffer;
  gsize pending_count;
  gulong cancel_id;
};

G_DEFINE_TYPE(SinkBodyStream, sink_body_stream, G_TYPE_INPUT_STREAM)

namespace {

gsize CopyOut(SinkBodyStream* self, void* buffer, gsize count) {
  gsize done = 0;
  while (done < count && !g_queue_is_empty(self->chunks)) {
    GBytes* b = static_cast<GBytes*>(g_queue_peek_head(self->chunks));
    gsize size = 0;
    const guint8* data = static_cast<const guint8*>(g_bytes_get_data(b, &size));
    gsize n = MIN(count - done, size - self->offset);
    memcpy(static_cast<guint8*>(buffer) + done, data + self->offset, n);
    done += n;
    self->offset += n;
    if (self->offset == size) {
      g_bytes_unref(static_cast<GBytes*>(g_queue_pop_head(self->chunks)));
      self->offset = 0;
    }
  }
  self->unread -= done;
  self->served += done;
  return done;
}

// Completes the waiting read, if there is something to give it.
void ServePending(SinkBodyStream* self) {
  if (!self->pending || (self->unread == 0 && !self->ended)) return;
  GTask* task = self->pending;
  self->pending = nullptr;
  if (self->cancel_id) g_cancellable_disconnect(g_task_get_cancellable(task), self->cancel_id);
  self->cancel_id = 0;
  gsize n = CopyOut(self, self->pending_buffer, self->pending_count);
  g_task_return_int(task, static_cast<gssize>(n));
  g_object_unref(task);
}

gboolean CancelPendingIdle(gpointer data) {
  SinkBodyStream* self = SINK_BODY_STREAM(data);
  if (self->pending && g_task_return_error_if_cancelled(self->pending)) {
    g_clear_object(&self->pending);
    self->cancel_id = 0;
  }
  return G_SOURCE_REMOVE;
}

// Runs with the cancellable's lock held, maybe in another thread: finish the
// read later, from an idle source of the stream's own context (never
// directly, which could re-enter the cancellable).
void OnCancelled(GCancellable*, gpointer data) {
  SinkBodyStream* self = SINK_BODY_STREAM(data);
  GTask* task = self->pending;
  if (!task) return;
  GSource* idle = g_idle_source_new();
  g_source_set_callback(idle, CancelPendingIdle, g_object_ref(self), g_object_unref);
  g_source_attach(idle, g_task_get_context(task));
  g_source_unref(idle);
}

gssize ReadSync(GInputStream* stream, void* buffer, gsize count, GCancellable*, GError** error) {
  SinkBodyStream* self = SINK_BODY_STREAM(stream);
  if (self->unread == 0 && !self->ended) {
    g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "no body bytes yet");
    return -1;
  }
  return static_cast<gssize>(CopyOut(self, buffer, count));
}

void ReadAsync(GInputStream* stream, void* buffer, gsize count, int, GCancellable* cancellable,
               GAsyncReadyCallback callback, gpointer user_data) {
  SinkBodyStream* self = SINK_BODY_STREAM(stream);
  GTask* task = g_task_new(stream, cancellable, callback, user_data);
  if (self->pending) {
    g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_PENDING, "a read is already waiting");
    g_object_unref(task);
    return;
  }
  if (g_task_return_error_if_cancelled(task)) {
    g_object_unref(task);
    return;
  }
  self->pending = task;
  self->pending_buffer = buffer;
  self->pending_count = count;
  if (cancellable) self->cancel_id = g_cancellable_connect(cancellable, G_CALLBACK(OnCancelled), self, nullptr);
  ServePending(self);
}

gssize ReadFinish(GInputStream*, GAsyncResult* result, GError** error) {
  return g_task_propagate_int(G_TASK(result), error);
}

void Finalize(GObject* object) {
  SinkBodyStream* self = SINK_BODY_STREAM(object);
  g_queue_free_full(self->chunks, reinterpret_cast<GDestroyNotify>(g_bytes_unref));
  G_OBJECT_CLASS(sink_body_stream_parent_class)->finalize(object);
}

}  // namespace

static void sink_body_stream_class_init(SinkBodyStreamClass* klass) {
  G_OBJECT_CLASS(klass)->finalize = Finalize;
  GInputStreamClass* in = G_INPUT_STREAM_CLASS(klass);
  in->read_fn = ReadSync;
  in->read_async = ReadAsync;
  in->read_finish = ReadFinish;
}

static void sink_body_stream_init(SinkBodyStream* self) { self->chunks = g_queue_new(); }

SinkBodyStream* sink_body_stream_new(void) {
  return SINK_BODY_STREAM(g_object_new(SINK_TYPE_BODY_STREAM, nullptr));
}

void sink_body_stream_append(SinkBodyStream* self, GBytes* bytes) {
  if (g_bytes_get_size(bytes) == 0) return;
  g_queue_push_tail(self->chunks, g_bytes_ref(bytes));
  self->unread += g_bytes_get_size(bytes);
  ServePending(self);
}

void sink_body_stream_end(SinkBodyStream* self) {
  self->ended = TRUE;
  ServePending(self);
}

guint64 sink_body_stream_unread(SinkBodyStream* self) { return self->unread; }
guint64 sink_body_stream_served(SinkBodyStream* self) { return self->served; }

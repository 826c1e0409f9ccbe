// Packs a fragment's header bytes and its samples' shared memories into a
// buffer list (ismvmux_fragment_buffers.h). Fewer buffers per fragment is
// what makes the output cheap downstream: each buffer of a list costs a sink
// (or a pad probe) a few thousand instructions, each memory almost nothing
// (filesink writes a whole list with writev).
#include "ismvmux_fragment_buffers.h"

namespace ismvmux {

static void CloseBuffer(GstBufferList* list, GstBuffer* buf, uint64_t* offset) {
  GST_BUFFER_OFFSET(buf) = *offset;
  *offset += gst_buffer_get_size(buf);
  GST_BUFFER_OFFSET_END(buf) = *offset;
  gst_buffer_list_add(list, buf);
}

GstBufferList* FragmentBufferList(std::vector<uint8_t> header, std::vector<BufferPtr> payloads, uint64_t* offset) {
  const guint max = gst_buffer_get_max_memory();
  GstBufferList* list = gst_buffer_list_new_sized(1 + payloads.size() / max + 1);
  GstBuffer* buf = WrapBytes(std::move(header));
  std::vector<GstMemory*> mems(max);
  for (BufferPtr& p : payloads) {
    const guint n = gst_buffer_n_memory(p.get());
    // Appending past the limit would make GStreamer merge (copy) the
    // memories: start the next buffer instead.
    if (gst_buffer_n_memory(buf) + n > max) {
      CloseBuffer(list, buf, offset);
      buf = gst_buffer_new();
    }
    // The input buffer goes first: a memory without a parent buffer joins
    // its new one cheaply, while a second parent costs GStreamer two
    // allocations per memory (its parents array).
    for (guint m = 0; m < n; m++) mems[m] = gst_memory_ref(gst_buffer_peek_memory(p.get(), m));  // n <= max
    p.reset();
    for (guint m = 0; m < n; m++) gst_buffer_append_memory(buf, mems[m]);
  }
  CloseBuffer(list, buf, offset);
  return list;
}

}  // namespace ismvmux

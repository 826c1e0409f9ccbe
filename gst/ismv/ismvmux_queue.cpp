// ismvmux's direct input.
//
// GstAggregator holds one buffer per sink pad when its latency is 0 and makes
// every upstream push wait until its own thread has taken the previous one.
// Two costs follow for a remux (filesrc ! qtdemux ! parsers ! ismvmux): a
// thread hand-off per sample (context switches and futex calls that cost more
// than the muxing), and a deadlock without queues, because qtdemux pushes
// every track from one thread: it blocks on a full pad while the muxer waits
// for the other, empty one.
//
// When no input is live, the muxer therefore takes buffers in the upstream
// streaming thread: the pad's chain function appends to the pad's own queue
// and runs the muxer's merge right there (under the muxer's tracks lock, in
// decode-time order across pads, exactly as the aggregate function does), so
// output is written by whichever thread brought the sample that completed it.
// A pad's queue may run ahead of the merge by kQueueLimit while another pad is
// still empty; beyond that its streaming thread waits, which bounds memory.
// Events stay with GstAggregator: its thread handles the serialized ones in
// order (caps, segment, EOS), and a buffer that arrives behind such an event
// waits until the event has been handled. The aggregate function still runs
// at EOS (all pads EOS) and finishes the file.
//
// When some input is live (latency query at the first buffer), the
// aggregator's chain function is used unchanged: its latency, timeouts and
// live scheduling stay as they are.
#include "ismvmux_queue.h"

#include <chrono>

GST_DEBUG_CATEGORY_STATIC(gst_ismv_mux_queue_debug);
#define GST_CAT_DEFAULT gst_ismv_mux_queue_debug

namespace ismvmux {
namespace {

GstPadChainFunction aggregator_chain = nullptr;
GstPadEventFullFunction aggregator_event = nullptr;

GstClockTime DecodeTime(GstBuffer* b) { return GST_BUFFER_DTS_IS_VALID(b) ? GST_BUFFER_DTS(b) : GST_BUFFER_PTS(b); }

bool UpstreamLive(GstElement* mux) {
  bool live = false;
  gst_element_foreach_sink_pad(
      mux,
      [](GstElement*, GstPad* pad, gpointer user) -> gboolean {
        GstQuery* q = gst_query_new_latency();
        gboolean l = FALSE;
        if (gst_pad_peer_query(pad, q)) gst_query_parse_latency(q, &l, nullptr, nullptr);
        gst_query_unref(q);
        if (l) *static_cast<bool*>(user) = true;
        return TRUE;
      },
      &live);
  return live;
}

// Runs the merge until it needs more data, fails or ends. Without the lock.
GstFlowReturn Drain(GstAggregator* mux) {
  DirectInput& d = MuxDirectInput(mux);
  GstFlowReturn ret = GST_FLOW_OK;
  for (;;) {
    uint64_t before = d.consumed;
    ret = MuxStep(mux);
    if (ret == GST_AGGREGATOR_FLOW_NEED_DATA) {
      ret = GST_FLOW_OK;
      break;
    }
    if (ret != GST_FLOW_OK) {
      std::lock_guard<std::mutex> lock(MuxLock(mux));
      if (d.flow == GST_FLOW_OK) d.flow = ret;
      break;
    }
    if (d.consumed == before) break;  // nothing more to take now
  }
  std::lock_guard<std::mutex> lock(MuxLock(mux));
  if (d.waiters) d.cond.notify_all();
  return ret;
}

void Wait(DirectInput& d, std::unique_lock<std::mutex>& lock, int ms) {
  d.waiters++;
  d.cond.wait_for(lock, std::chrono::milliseconds(ms));
  d.waiters--;
}

GstFlowReturn Chain(GstPad* pad, GstObject* parent, GstBuffer* buf) {
  GstAggregator* mux = GST_AGGREGATOR(parent);
  DirectInput& d = MuxDirectInput(mux);
  PadQueue& q = MuxPadQueue(pad);
  std::unique_lock<std::mutex> lock(MuxLock(mux));
  if (d.mode == DirectInput::Mode::kUndecided) {
    lock.unlock();
    bool live = UpstreamLive(GST_ELEMENT(mux));
    lock.lock();
    if (d.mode == DirectInput::Mode::kUndecided) {
      d.mode = live ? DirectInput::Mode::kAggregator : DirectInput::Mode::kDirect;
      GST_INFO_OBJECT(mux, "%s input: %s", live ? "live" : "non-live",
                      live ? "buffers go through the aggregator's queues" : "buffers are muxed as they arrive");
    }
  }
  if (d.mode == DirectInput::Mode::kAggregator) {
    lock.unlock();
    q.aggregator_buffers = true;
    return aggregator_chain(pad, parent, buf);
  }
  // Caps and segment before this buffer are handled in the aggregator's
  // thread; the buffer must not overtake them.
  while (q.events_done < q.events_in && !GST_PAD_IS_FLUSHING(pad) && d.flow == GST_FLOW_OK) Wait(d, lock, 20);
  if (GST_PAD_IS_FLUSHING(pad) || d.flow != GST_FLOW_OK) {
    GstFlowReturn ret = GST_PAD_IS_FLUSHING(pad) ? GST_FLOW_FLUSHING : d.flow;
    gst_buffer_unref(buf);
    return ret;
  }
  q.buffers.push_back(buf);
  lock.unlock();
  GstFlowReturn ret = Drain(mux);
  lock.lock();
  // Bounded: wait while this pad is far ahead of an empty one (polling too,
  // so that an EOS, a released pad or a deactivation is never missed).
  while (ret == GST_FLOW_OK && q.buffers.size() > 1 && q.Span() > kQueueLimit) {
    if (GST_PAD_IS_FLUSHING(pad)) return GST_FLOW_FLUSHING;
    GST_LOG_OBJECT(pad, "queue of %zu buffers spans %" GST_TIME_FORMAT ": waiting", q.buffers.size(),
                   GST_TIME_ARGS(q.Span()));
    Wait(d, lock, 50);
    lock.unlock();
    ret = Drain(mux);
    lock.lock();
  }
  return ret;
}

GstFlowReturn Event(GstPad* pad, GstObject* parent, GstEvent* event) {
  GstEventType type = GST_EVENT_TYPE(event);
  bool queued = GST_EVENT_IS_SERIALIZED(event) && type != GST_EVENT_FLUSH_STOP;
  PadQueue& q = MuxPadQueue(pad);
  if (queued) q.events_in++;  // before: the aggregator's thread may handle it at once
  // Before too: the pad may be EOS (or hold a gap buffer) as soon as the
  // aggregator has the event.
  if (type == GST_EVENT_EOS) q.eos_received = true;
  if (type == GST_EVENT_GAP) q.aggregator_buffers = true;
  GstFlowReturn ret = aggregator_event(pad, parent, event);
  if (queued && ret != GST_FLOW_OK) q.events_in--;  // dropped (flushing)
  if (type == GST_EVENT_FLUSH_STOP) {
    q.events_done = q.events_in.load();  // the flush dropped what was queued
    q.eos_received = false;              // the aggregator cleared its EOS too
  }
  if (type == GST_EVENT_FLUSH_START) {
    GstAggregator* mux = GST_AGGREGATOR(parent);
    std::lock_guard<std::mutex> lock(MuxLock(mux));
    q.Clear();  // what was queued before the flush is dropped, as the aggregator drops its own
    MuxDirectInput(mux).cond.notify_all();
  }
  return ret;
}

}  // namespace

void PadQueue::Clear() {
  for (GstBuffer* b : buffers) gst_buffer_unref(b);
  buffers.clear();
}

GstClockTime PadQueue::Span() const {
  if (buffers.size() < 2) return 0;
  GstClockTime a = DecodeTime(buffers.front()), b = DecodeTime(buffers.back());
  if (!GST_CLOCK_TIME_IS_VALID(a) || !GST_CLOCK_TIME_IS_VALID(b)) return 0;
  return b > a ? b - a : 0;
}

void InstallPadFunctions(GstPad* pad) {
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    GST_DEBUG_CATEGORY_INIT(gst_ismv_mux_queue_debug, "ismvmux-queue", 0, "ismvmux direct input");
    aggregator_chain = GST_PAD_CHAINFUNC(pad);
    aggregator_event = GST_PAD_EVENTFULLFUNC(pad);
    g_once_init_leave(&once, 1);
  }
  gst_pad_set_chain_function(pad, Chain);
  gst_pad_set_event_full_function(pad, Event);
}

GstBuffer* PeekBuffer(GstAggregatorPad* pad) {
  PadQueue& q = MuxPadQueue(&pad->parent);
  if (!q.buffers.empty()) return gst_buffer_ref(q.buffers.front());
  return q.aggregator_buffers ? gst_aggregator_pad_peek_buffer(pad) : nullptr;
}

GstBuffer* PopBuffer(GstAggregatorPad* pad) {
  PadQueue& q = MuxPadQueue(&pad->parent);
  GstBuffer* b;
  if (!q.buffers.empty()) {
    b = q.buffers.front();
    q.buffers.pop_front();
    // As the aggregator does for what it dequeues (GstAggregatorPad::emit-signals).
    static guint consumed_signal = g_signal_lookup("buffer-consumed", GST_TYPE_AGGREGATOR_PAD);
    if (consumed_signal && g_signal_has_handler_pending(pad, consumed_signal, 0, TRUE)) {
      gboolean emit = FALSE;
      g_object_get(pad, "emit-signals", &emit, nullptr);
      if (emit) g_signal_emit(pad, consumed_signal, 0, b);
    }
  } else {
    b = q.aggregator_buffers ? gst_aggregator_pad_pop_buffer(pad) : nullptr;
  }
  GstObject* parent = GST_OBJECT_PARENT(pad);
  if (b && parent) MuxDirectInput(reinterpret_cast<GstAggregator*>(parent)).consumed++;
  return b;
}

bool HasBuffer(GstAggregatorPad* pad) {
  PadQueue& q = MuxPadQueue(&pad->parent);
  return !q.buffers.empty() || (q.aggregator_buffers && gst_aggregator_pad_has_buffer(pad));
}

bool PadIsEos(GstAggregatorPad* pad) {
  return MuxPadQueue(&pad->parent).eos_received && gst_aggregator_pad_is_eos(pad);
}

void SerializedEventHandled(GstAggregator* mux, GstAggregatorPad* pad, GstEventType type) {
  MuxPadQueue(GST_PAD(pad)).events_done++;
  DirectInput& d = MuxDirectInput(mux);
  bool direct;
  {
    std::lock_guard<std::mutex> lock(MuxLock(mux));
    direct = d.mode == DirectInput::Mode::kDirect && d.flow == GST_FLOW_OK;
    if (d.waiters) d.cond.notify_all();
  }
  // A pad at EOS no longer holds the others back: mux what they queued.
  if (type == GST_EVENT_EOS && direct) Drain(mux);
}

void ResetPadQueue(GstPad* pad) {
  PadQueue& q = MuxPadQueue(pad);
  q.Clear();
  q.events_done = q.events_in.load();
}

}  // namespace ismvmux

// ismvmux's direct input: in pipelines that are not live, samples are taken
// in the upstream streaming thread into the muxer's own queue on each sink pad
// and muxed there, instead of waiting one buffer at a time for GstAggregator's
// thread. See ismvmux_queue.cpp for why and how; live pipelines keep the
// aggregator's input path (its latency and timeouts).
#pragma once

#include <gst/base/gstaggregator.h>
#include <gst/gst.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>

namespace ismvmux {

// How far (running time, decode order) one pad's queue may run ahead of the
// muxer while another pad has no data yet, before its streaming thread waits.
// A demuxer feeding every pad from one thread interleaves its tracks much
// closer than this; what is queued is only referenced, never copied.
inline constexpr GstClockTime kQueueLimit = 5 * GST_SECOND;

// The muxer's own queue on one sink pad.
struct PadQueue {
  std::deque<GstBuffer*> buffers;        // owned references, oldest first
  std::atomic<uint64_t> events_in{0};    // serialized events queued in the aggregator for this pad
  std::atomic<uint64_t> events_done{0};  // ... of which sink_event has handled
  // What the aggregator's own state on this pad can be, so that the muxer's
  // per-sample checks skip its pad lock when the answer is known: an EOS
  // event came in since the last flush-stop (else the pad cannot be EOS),
  // and buffers may be in the aggregator's queue (live input, gap buffers).
  std::atomic<bool> eos_received{false};
  std::atomic<bool> aggregator_buffers{false};
  PadQueue() = default;
  PadQueue(const PadQueue&) = delete;
  PadQueue& operator=(const PadQueue&) = delete;
  ~PadQueue() { Clear(); }
  void Clear();
  // Decode-time span from the oldest to the newest queued buffer.
  GstClockTime Span() const;
};

// Element-wide state of the direct input (guarded by the muxer's tracks lock).
struct DirectInput {
  enum class Mode { kUndecided, kDirect, kAggregator };
  Mode mode = Mode::kUndecided;
  GstFlowReturn flow = GST_FLOW_OK;  // sticky: the first non-OK result of muxing in direct mode
  std::atomic<uint64_t> consumed{0};  // samples taken by the muxer, to tell progress
  int waiters = 0;
  std::condition_variable cond;      // queue space, events handled, flushing
  void Reset() {
    mode = Mode::kUndecided;
    flow = GST_FLOW_OK;
  }
};

// Replaces the chain and event functions of a new sink pad (the aggregator's
// stay in use for live input and for everything but buffers).
void InstallPadFunctions(GstPad* pad);

// The muxer's view of a sink pad's next buffer: the aggregator's queue first
// (live input, gap buffers), then the pad's own queue. Call with the tracks lock.
GstBuffer* PeekBuffer(GstAggregatorPad* pad);  // new reference or null
GstBuffer* PopBuffer(GstAggregatorPad* pad);   // owned or null
bool HasBuffer(GstAggregatorPad* pad);
// gst_aggregator_pad_is_eos() without its pad lock while no EOS came in.
bool PadIsEos(GstAggregatorPad* pad);

// Call from GstAggregatorClass::sink_event after handling a serialized event
// (lets a buffer waiting behind it go on; at EOS, muxes what other pads queued).
void SerializedEventHandled(GstAggregator* mux, GstAggregatorPad* pad, GstEventType type);
// Empties a pad's queue (flush, stop); call with the tracks lock.
void ResetPadQueue(GstPad* pad);

// Provided by the element (gstismvmux.cpp).
std::mutex& MuxLock(GstAggregator* mux);
DirectInput& MuxDirectInput(GstAggregator* mux);
PadQueue& MuxPadQueue(GstPad* pad);
// One step of the muxer's merge (its aggregate function, not timed out):
// takes the tracks lock itself.
GstFlowReturn MuxStep(GstAggregator* mux);

}  // namespace ismvmux

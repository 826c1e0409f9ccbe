// IngestTarget: one publishing point that smoothsink pushes to (the primary
// location, or the backup), with its own thread, HTTP session, connection,
// backlog and statistics, so that either may fail without affecting the
// other.
//
// The streaming thread hands it the header and the fragments; its thread
// runs a libsoup session in its own GMainContext: the empty probe POST, then
// one long chunked POST whose body is the header and the fragments as they
// come, and on a TCP error, a stall or a 5xx a new POST after a backoff, with
// the header and the resend set first (piff::IngestBacklog decides what).
#pragma once

#include <gst/gst.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct IngestTargetConfig {
  std::string label;  // "primary" / "backup", for messages
  GUri* uri = nullptr;  // without user info (owned by the caller for the call)
  std::string redacted_url;
  std::string user, password;     // basic auth, never logged
  GstStructure* extra_headers = nullptr;  // copied; never logged
  bool probe = true;
  bool tls_verify = true;
  std::string ca_file;
  guint connect_timeout_ms = 10000;
  guint send_timeout_ms = 0;  // 0: derived from the fragment duration
  // End the POST after this long without a new fragment (digest §4.4: a
  // POST not sending at the fragment rate); -1: 3 × the longest fragment
  // (never before the first); 0: never.
  gint64 idle_timeout_ms = -1;
  guint64 retry_delay_ms = 500;
  guint64 retry_delay_max_ms = 8000;
  gint64 max_retries = -1;
  guint64 backlog_bytes = 64ull << 20;
  guint64 backlog_time_ms = 60000;
};

struct IngestFragmentIn {
  guint32 track_id = 0;
  std::vector<guint32> other_tracks;  // further trafs of the same moof
  guint64 time = 0;
  guint64 duration = 0;
  guint32 timescale = 0;
  gboolean keyframe = FALSE;
  GstBuffer* buffer = nullptr;  // moof + mdat (a reference is taken)
};

class IngestTarget {
 public:
  enum class Outcome { kRunning, kDone, kFailed };

  IngestTarget(GstElement* element, const IngestTargetConfig& config);
  ~IngestTarget();  // stops the thread
  IngestTarget(const IngestTarget&) = delete;
  IngestTarget& operator=(const IngestTarget&) = delete;

  bool Start(std::string* error);
  // The bytes that start every POST (everything before the first moof).
  // Again later (a different header: the input restarted): the current POST
  // ends after the fragments pushed so far, and the next POST starts with the
  // new header and the fragments pushed from now on.
  void SetHeader(GBytes* header);
  void PushFragment(const IngestFragmentIn& f);
  // End of the input: `tail` (e.g. the empty mfra; may be null) ends the body.
  void Finish(GBytes* tail);
  // Waits until the POST completed or the target failed, at most `timeout_ms`.
  Outcome Wait(guint64 timeout_ms);
  // Makes Wait return at once (true, the sink's unlock) or wait again (false).
  void Cancel(bool cancel);
  Outcome outcome() const;
  // Statistics as fields of `s` (bytes-sent, fragments-sent, ...).
  void FillStats(GstStructure* s) const;
  guint64 dropped() const;
  // Why it failed, and the HTTP status when that was the reason (else 0).
  std::string failure(guint* status) const;
  const std::string& label() const;
  const std::string& redacted_url() const;
  // Called in the target's thread when it gives up (a 4xx, retries used up).
  void SetFailureHandler(std::function<void(IngestTarget*)> handler);
  std::string DroppedSummary() const;

  struct State;

 private:
  std::unique_ptr<State> st_;
};

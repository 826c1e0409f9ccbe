// IngestBacklog: the fragments a live ingest POST still owes (see the header).
#include "ingest_backlog.h"

#include <algorithm>

namespace piff {

uint64_t IngestBacklog::TicksToMs(uint64_t ticks, uint32_t timescale) {
  if (timescale == 0) return 0;
  // Split so that ticks * 1000 cannot overflow.
  return ticks / timescale * 1000 + ticks % timescale * 1000 / timescale;
}

uint64_t IngestSendTimeoutMs(uint64_t fragment_ms) {
  if (fragment_ms == 0) return 10000;
  return std::max<uint64_t>(1000, fragment_ms + fragment_ms / 2);
}

IngestBacklog::Entry* IngestBacklog::Find(uint64_t seq) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), seq,
                             [](const Entry& e, uint64_t s) { return e.f.seq < s; });
  return it != entries_.end() && it->f.seq == seq ? &*it : nullptr;
}

bool IngestBacklog::Carries(const IngestFragment& f, uint32_t track_id) {
  return f.track_id == track_id ||
         std::find(f.other_tracks.begin(), f.other_tracks.end(), track_id) != f.other_tracks.end();
}

bool IngestBacklog::InResendSet(const Entry& e) const {
  auto in = [&](uint32_t track) {
    auto it = last_confirmed_.find(track);
    return it != last_confirmed_.end() && std::find(it->second.begin(), it->second.end(), e.f.seq) != it->second.end();
  };
  return in(e.f.track_id) || std::any_of(e.f.other_tracks.begin(), e.f.other_tracks.end(), in);
}

uint64_t IngestBacklog::TrackPendingMs(uint32_t track_id) const {
  uint64_t ms = 0;
  for (const Entry& e : entries_)
    if (e.state != State::kConfirmed && Carries(e.f, track_id)) ms += TicksToMs(e.f.duration, e.f.timescale);
  return ms;
}

void IngestBacklog::Unpend(const Entry& e) {
  pending_count_--;
  pending_bytes_ -= e.f.bytes;
}

std::vector<uint64_t> IngestBacklog::Add(const IngestFragment& f) {
  Entry e;
  e.f = f;
  entries_.push_back(e);
  pending_count_++;
  pending_bytes_ += f.bytes;
  std::vector<uint64_t> dropped;
  // Drop the oldest never-sent fragments (of any track for bytes, of the new
  // fragment's track for time) until the backlog fits; never the new one.
  auto over = [&]() {
    return pending_bytes_ > limits_.max_bytes || TrackPendingMs(f.track_id) > limits_.max_duration_ms;
  };
  while (over()) {
    bool bytes_over = pending_bytes_ > limits_.max_bytes;
    auto victim = std::find_if(entries_.begin(), entries_.end() - 1, [&](const Entry& x) {
      return x.state == State::kQueued && !x.sent_before && (bytes_over || Carries(x.f, f.track_id));
    });
    if (victim == entries_.end() - 1) break;  // only fragments in flight are left
    Unpend(*victim);
    dropped.push_back(victim->f.seq);
    released_.push_back(victim->f.seq);
    entries_.erase(victim);
  }
  return dropped;
}

std::optional<uint64_t> IngestBacklog::Hand(bool* resend, uint64_t before) {
  for (Entry& e : entries_) {
    if (e.f.seq >= before) break;
    if (e.state != State::kQueued) continue;
    if (resend) *resend = e.sent_before;
    e.state = State::kHanded;
    e.sent_before = true;
    return e.f.seq;
  }
  return std::nullopt;
}

void IngestBacklog::OnWritten(uint64_t seq, uint64_t mark) {
  Entry* e = Find(seq);
  if (!e || e->state != State::kHanded) return;
  e->state = State::kWritten;
  e->mark = mark;
}

std::vector<uint64_t> IngestBacklog::OnAcked(uint64_t acked) {
  std::vector<uint64_t> confirmed;
  for (Entry& e : entries_) {
    if (e.state == State::kWritten && e.mark <= acked) {
      Confirm(&e);
      confirmed.push_back(e.f.seq);
    }
  }
  Settle();
  return confirmed;
}

size_t IngestBacklog::OnConnectionLost() {
  size_t again = 0;
  for (Entry& e : entries_) {
    if (e.state == State::kQueued) continue;
    if (e.state == State::kConfirmed) {
      if (!InResendSet(e)) continue;
      // Confirmed on the old connection, but the rules resend it: it is owed again.
      pending_count_++;
      pending_bytes_ += e.f.bytes;
    }
    e.state = State::kQueued;
    again++;
  }
  return again;
}

void IngestBacklog::Confirm(Entry* e) {
  e->state = State::kConfirmed;
  Unpend(*e);
  auto file = [&](uint32_t track) {
    std::vector<uint64_t>& last = last_confirmed_[track];
    if (std::find(last.begin(), last.end(), e->f.seq) != last.end()) return;  // confirmed again after a resend
    last.push_back(e->f.seq);
    std::sort(last.begin(), last.end());
    if (last.size() > 2) last.erase(last.begin());
  };
  file(e->f.track_id);
  for (uint32_t t : e->f.other_tracks) file(t);
}

void IngestBacklog::Settle() {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->state == State::kConfirmed && !InResendSet(*it)) {
      released_.push_back(it->f.seq);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<uint64_t> IngestBacklog::TakeReleased() {
  std::vector<uint64_t> out;
  out.swap(released_);
  return out;
}

size_t IngestBacklog::queued_fragments(uint64_t before) const {
  return static_cast<size_t>(std::count_if(entries_.begin(), entries_.end(), [before](const Entry& e) {
    return e.state == State::kQueued && e.f.seq < before;
  }));
}

std::vector<uint64_t> IngestBacklog::Forget(uint64_t before) {
  std::vector<uint64_t> lost;
  while (!entries_.empty() && entries_.front().f.seq < before) {
    const Entry& e = entries_.front();
    if (e.state != State::kConfirmed) {
      Unpend(e);
      lost.push_back(e.f.seq);
    }
    released_.push_back(e.f.seq);
    entries_.pop_front();
  }
  for (auto& track : last_confirmed_)
    track.second.erase(std::remove_if(track.second.begin(), track.second.end(), [before](uint64_t s) { return s < before; }),
                       track.second.end());
  return lost;
}

size_t IngestBacklog::unconfirmed_in_flight() const {
  return static_cast<size_t>(std::count_if(entries_.begin(), entries_.end(), [](const Entry& e) {
    return e.state == State::kHanded || e.state == State::kWritten;
  }));
}

}  // namespace piff

// Benchmark helper: how fast the core's TrackEncryptor encrypts sample data
// (the whole ismvmux encryption path per sample: NAL subsample mapping, AES,
// IV bookkeeping, senc records), in MB/s (10^6 bytes of sample data per
// second). Run by bench_encrypt.py next to `openssl speed`.
//
// Usage: encrypt_throughput ctr|cbc whole|nal SAMPLE_BYTES SECONDS
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "encryption.h"
#include "protection.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s ctr|cbc whole|nal SAMPLE_BYTES SECONDS\n", argv[0]);
    return 2;
  }
  piff::EncryptionSettings s;
  s.scheme = std::string(argv[1]) == "cbc" ? piff::EncryptionScheme::kPiffCbc : piff::EncryptionScheme::kPiffCtr;
  s.kid.fill(1);
  s.key.assign(16, 0x42);
  piff::TrackEncryptor::Format format;
  bool nal = std::string(argv[2]) == "nal";
  if (nal) format.nal_length_size = 4;
  size_t sample_size = strtoul(argv[3], nullptr, 10);
  double seconds = atof(argv[4]);
  if (sample_size < 16) return 2;

  // 64 samples (1 MiB at 16 KiB, cache-resident like openssl speed's buffer).
  // NAL mode: one slice NAL filling the sample, as a typical frame of one slice.
  const size_t count = 64;
  std::vector<std::vector<uint8_t>> in(count, std::vector<uint8_t>(sample_size));
  for (auto& v : in) {
    for (size_t i = 0; i < v.size(); i++) v[i] = static_cast<uint8_t>(i * 31 + 7);
    if (nal) {
      uint32_t n = static_cast<uint32_t>(sample_size - 4);
      v[0] = n >> 24; v[1] = n >> 16; v[2] = n >> 8; v[3] = n;
      v[4] = 0x65;
    }
  }
  std::vector<uint8_t> out(sample_size);
  std::unique_ptr<piff::TrackEncryptor> enc;
  piff::Status st = piff::TrackEncryptor::Create(s, format, &enc);
  if (!st) {
    fprintf(stderr, "%s\n", st.message().c_str());
    return 1;
  }
  uint64_t bytes = 0, samples = 0;
  auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  piff::SampleEncryption senc = enc->NewFragment();
  while (elapsed < seconds) {
    for (size_t i = 0; i < count; i++) {
      st = enc->EncryptSample(in[i].data(), out.data(), sample_size, &senc);
      if (!st) {
        fprintf(stderr, "%s\n", st.message().c_str());
        return 1;
      }
      bytes += sample_size;
      samples++;
      if (senc.samples.size() >= 60) senc = enc->NewFragment();  // one fragment per 2 s at 30 fps
    }
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  printf("%s %s %zu bytes: %llu samples in %.3f s: %.1f MB/s\n", argv[1], argv[2], sample_size,
         static_cast<unsigned long long>(samples), elapsed, bytes / elapsed / 1e6);
  return 0;
}

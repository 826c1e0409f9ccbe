#include "libcrypto.h"

#include <dlfcn.h>

#include <mutex>

namespace piff {
namespace {

// The soname of OpenSSL 3 (meson.build requires >= 3.0; its ABI keeps this name).
constexpr const char* kSoname = "libcrypto.so.3";

struct Loaded {
  LibCrypto api{};
  bool ok = false;
  std::string error;
};

template <typename F>
bool Resolve(void* handle, const char* name, F* out, std::string* error) {
  void* sym = dlsym(handle, name);
  if (!sym) {
    if (error->empty()) *error = std::string(kSoname) + " has no " + name;
    return false;
  }
  *out = reinterpret_cast<F>(sym);
  return true;
}

Loaded& State() {
  static Loaded loaded;
  static std::once_flag once;
  std::call_once(once, [] {
    void* h = dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = dlerror();
      loaded.error = std::string("cannot load ") + kSoname + " (OpenSSL, needed for encryption): " + (e ? e : "?");
      return;
    }
    LibCrypto& a = loaded.api;
    std::string* e = &loaded.error;
    loaded.ok = Resolve(h, "EVP_CIPHER_CTX_new", &a.CIPHER_CTX_new, e) &
                Resolve(h, "EVP_CIPHER_CTX_free", &a.CIPHER_CTX_free, e) &
                Resolve(h, "EVP_CIPHER_CTX_set_padding", &a.CIPHER_CTX_set_padding, e) &
                Resolve(h, "EVP_CipherInit_ex", &a.CipherInit_ex, e) &
                Resolve(h, "EVP_CipherUpdate", &a.CipherUpdate, e) &
                Resolve(h, "EVP_EncryptInit_ex", &a.EncryptInit_ex, e) &
                Resolve(h, "EVP_EncryptUpdate", &a.EncryptUpdate, e) &
                Resolve(h, "EVP_aes_128_ecb", &a.aes_128_ecb, e) &
                Resolve(h, "EVP_aes_128_ctr", &a.aes_128_ctr, e) &
                Resolve(h, "EVP_aes_128_cbc", &a.aes_128_cbc, e) & Resolve(h, "RAND_bytes", &a.RAND_bytes, e);
  });
  return loaded;
}

}  // namespace

const LibCrypto* GetLibCrypto(Status* error) {
  Loaded& l = State();
  if (l.ok) return &l.api;
  if (error) *error = Status::Error(l.error);
  return nullptr;
}

bool LibCryptoLoaded() {
  void* h = dlopen(kSoname, RTLD_LAZY | RTLD_NOLOAD);
  if (h) dlclose(h);
  return h != nullptr;
}

}  // namespace piff

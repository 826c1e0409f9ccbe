// OpenSSL's libcrypto, loaded on first use. Linking it would make every
// process that loads the plugin pay for loading and relocating it (GStreamer
// opens plugins with immediate binding: about 6 million instructions, 1.3 ms
// of CPU here), although only encrypted content needs it. The core calls
// OpenSSL through this table; the types come from OpenSSL's own headers.
#pragma once

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "status.h"

namespace piff {

struct LibCrypto {
  decltype(&::EVP_CIPHER_CTX_new) CIPHER_CTX_new;
  decltype(&::EVP_CIPHER_CTX_free) CIPHER_CTX_free;
  decltype(&::EVP_CIPHER_CTX_set_padding) CIPHER_CTX_set_padding;
  decltype(&::EVP_CipherInit_ex) CipherInit_ex;
  decltype(&::EVP_CipherUpdate) CipherUpdate;
  decltype(&::EVP_EncryptInit_ex) EncryptInit_ex;
  decltype(&::EVP_EncryptUpdate) EncryptUpdate;
  decltype(&::EVP_aes_128_ecb) aes_128_ecb;
  decltype(&::EVP_aes_128_ctr) aes_128_ctr;
  decltype(&::EVP_aes_128_cbc) aes_128_cbc;
  decltype(&::RAND_bytes) RAND_bytes;
};

// The loaded library (loaded once, thread-safe, never unloaded), or null with
// *error set ("cannot load libcrypto.so.3: ...").
const LibCrypto* GetLibCrypto(Status* error);

// Whether it has been loaded in this process (by the core, or already there).
bool LibCryptoLoaded();

}  // namespace piff

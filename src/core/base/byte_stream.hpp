// The two ends that encrypt_stream() connects through GPGME: something that
// yields the plaintext and something that takes the ciphertext.
#pragma once

#include <cstddef>

namespace gpgseal {

class byte_source {
 public:
  virtual ~byte_source() = default;
  // Fills up to `size` bytes; returns 0 only at the end. Throws gpgseal::error.
  virtual std::size_t read(char* buffer, std::size_t size) = 0;
};

class byte_sink {
 public:
  virtual ~byte_sink() = default;
  // Takes all `size` bytes. Throws gpgseal::error.
  virtual void write(const char* data, std::size_t size) = 0;
};

}  // namespace gpgseal

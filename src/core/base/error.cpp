#include "core/error.hpp"

#include <cstring>

namespace gpgseal {

error system_error(const std::string& what, int errnum) {
  return {error_kind::io, what + ": " + std::strerror(errnum)};
}

}  // namespace gpgseal

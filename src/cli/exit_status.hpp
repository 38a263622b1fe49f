// The one place where outcomes and error kinds become exit statuses
// (<sysexits.h>). Dovecot stores the original for any non-zero status, and an
// MTA pipe defers on 75, so only a complete message on stdout may exit 0.
#pragma once

#include "core/error.hpp"
#include "core/filter.hpp"

namespace gpgseal::cli {

int exit_status_for(error_kind kind) noexcept;
int exit_status_for(const filter_outcome& outcome) noexcept;

}  // namespace gpgseal::cli

// The one place where the ways a run can end become exit statuses
// (<sysexits.h>). Dovecot stores the original for any non-zero status, and an
// MTA pipe defers on 75, so only a complete message on stdout may exit 0.
#pragma once

#include "core/error.hpp"
#include "core/filter.hpp"
#include "core/maildir.hpp"

namespace gpgseal::cli {

// `attention`: the run itself worked, and found something an admin must act
// on (a report of keys about to expire); 1, for cron.
enum class ending { ok, attention, usage, data, unavailable, software, io, tempfail, config };

// The exit status of every front-end for every ending.
int exit_status(ending how) noexcept;

ending ending_for(error_kind kind) noexcept;
ending ending_for(const filter_outcome& outcome) noexcept;
// A batch that handled every message ends ok; anything left to do, a failed
// message or folder or an interruption, asks for another run.
ending ending_for(const maildir_summary& summary) noexcept;

}  // namespace gpgseal::cli

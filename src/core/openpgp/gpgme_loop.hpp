// Runs a GPGME operation on gpgseal's own event loop (GPGME's "user I/O
// callbacks") instead of GPGME's private one.
//
// GPGME's private loop waits for POLLOUT on the pipe to gpg's stdin and never
// looks at POLLERR: when gpg exits before reading all its input (an error, a
// crash, a kill at the deadline) it spins on poll() forever. Here every
// revents, POLLERR and POLLHUP included, runs GPGME's handler, whose write
// then fails with EPIPE and ends the operation with an error.
#pragma once

#include <gpgme.h>

#include <functional>

namespace gpgseal {

// Calls `start` (a gpgme_op_*_start on `ctx`), then drives the operation to
// its end. Returns the operation's error, or 0. Restores GPGME's own loop on
// `ctx` afterwards. Throws nothing.
gpgme_error_t run_on_own_loop(gpgme_ctx_t ctx, const std::function<gpgme_error_t()>& start);

}  // namespace gpgseal

#include "core/openpgp/gpgme_loop.hpp"

#include <poll.h>

#include <cerrno>
#include <memory>
#include <vector>

namespace gpgseal {

namespace {

struct io_watch {
  int fd;
  bool for_read;
  gpgme_io_cb_t handler;
  void* handler_data;
  bool active = true;
};

struct event_loop {
  std::vector<std::unique_ptr<io_watch>> watches;
  bool done = false;
  gpgme_error_t err = 0;
};

gpgme_error_t add_watch(void* data, int fd, int dir, gpgme_io_cb_t handler, void* handler_data,
                        void** tag) noexcept {
  try {
    auto* loop = static_cast<event_loop*>(data);
    loop->watches.push_back(
        std::make_unique<io_watch>(io_watch{fd, dir != 0, handler, handler_data}));
    *tag = loop->watches.back().get();
    return 0;
  } catch (...) {
    return gpgme_error(GPG_ERR_ENOMEM);
  }
}

void remove_watch(void* tag) noexcept { static_cast<io_watch*>(tag)->active = false; }

void on_event(void* data, gpgme_event_io_t type, void* type_data) noexcept {
  if (type != GPGME_EVENT_DONE) return;
  auto* loop = static_cast<event_loop*>(data);
  auto* result = static_cast<gpgme_io_event_done_data*>(type_data);
  loop->done = true;
  loop->err = result ? (result->err ? result->err : result->op_err) : 0;
}

// One round of poll(); returns false if nothing is left to wait for.
bool poll_once(event_loop& loop) {
  std::vector<pollfd> fds;
  std::vector<io_watch*> owners;
  for (auto& watch : loop.watches) {
    if (!watch->active) continue;
    fds.push_back(pollfd{watch->fd, static_cast<short>(watch->for_read ? POLLIN : POLLOUT), 0});
    owners.push_back(watch.get());
  }
  if (fds.empty()) return false;
  if (::poll(fds.data(), fds.size(), 1000) < 0) return errno == EINTR;
  for (std::size_t i = 0; i < fds.size() && !loop.done; ++i) {
    // Any event, errors and hang-ups too: the handler finds out what happened.
    if (fds[i].revents != 0 && owners[i]->active)
      owners[i]->handler(owners[i]->handler_data, fds[i].fd);
  }
  return true;
}

}  // namespace

gpgme_error_t run_on_own_loop(gpgme_ctx_t ctx, const std::function<gpgme_error_t()>& start) {
  event_loop loop;
  gpgme_io_cbs callbacks{add_watch, &loop, remove_watch, on_event, &loop};
  gpgme_io_cbs previous{};
  gpgme_get_io_cbs(ctx, &previous);
  gpgme_set_io_cbs(ctx, &callbacks);
  gpgme_error_t err = start();
  while (!err && !loop.done) {
    if (!poll_once(loop)) {
      err = gpgme_error(GPG_ERR_EOF);
      break;
    }
  }
  gpgme_set_io_cbs(ctx, &previous);
  return err ? err : loop.err;
}

}  // namespace gpgseal

// gpgseal-smtpd: gpgseal as an OpenSMTPD filter (`filter "gpgseal" proc-exec
// "gpgseal-smtpd ..."`). One long-lived process serves every SMTP session:
// it reads smtpd's protocol lines on stdin, spools each message to disk,
// seals it for all its recipients once its "." line came, on one of at most
// --workers threads, and streams the result back as filter-dataline answers. A policy `fail`
// becomes a 451 at the commit phase. It never exits on bad input: smtpd exits when its filter does.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cli/common/exit_status.hpp"
#include "cli/common/explain.hpp"
#include "cli/common/log.hpp"
#include "cli/common/options.hpp"
#include "cli/common/usage.hpp"
#include "cli/smtpd/protocol.hpp"
#include "cli/smtpd/recipients.hpp"
#include "cli/smtpd/responder.hpp"
#include "cli/smtpd/sessions.hpp"
#include "cli/smtpd/workers.hpp"
#include "core/filter.hpp"

namespace {

using namespace gpgseal::cli;
using namespace gpgseal::smtpd;

constexpr const char* program = "gpgseal-smtpd";
constexpr const char* tempfail_reply =
    "reject|451 4.3.0 message not accepted for now, try again later";

command_line smtpd_command_line() {
  command_line cl(program, keyring_options | encryption_options | delivery_policy | limit_options |
                               logging_options);
  cl.own_options().add_options()(
      "local-domain", po::value<std::vector<std::string>>()->value_name("DOMAIN"),
      "seal only messages whose recipients are all in DOMAIN (repeatable; default: any)")(
      "workers", po::value<unsigned>()->value_name("N"),
      "seal at most N messages at once; the others wait their turn (default: one per CPU)");
  return cl;
}

void print_help(const command_line& cl) {
  std::cout
      << "Usage: gpgseal-smtpd [OPTIONS]\n"
         "An OpenSMTPD filter (smtpd.conf: filter \"gpgseal\" proc-exec \"gpgseal-smtpd ...\").\n"
         "Encrypts each message received over SMTP once, to the OpenPGP keys of all its\n"
         "recipients, as PGP/MIME (RFC 3156). If a recipient has no usable key, or is\n"
         "outside the --local-domain list, the message goes on unchanged to all.\n\n";
  cl.print_options(std::cout);
  std::cout << "\nWith --on-missing-key fail or --on-error fail, such a message is refused\n"
               "with 451 at the end of DATA and the sender retries it.\n";
}

// What the workers and the reading loop share.
class filter_state {
 public:
  filter_state(shared_options options, std::vector<std::string> domains, std::size_t workers)
      : options_(std::move(options)),
        domains_(std::move(domains)),
        out_(STDOUT_FILENO),
        pool_(workers) {}

  responder& out() { return out_; }
  const shared_options& options() const { return options_; }
  const std::vector<std::string>& domains() const { return domains_; }

  void open_session(const std::string& s) {
    with_lock([&] { live_.insert(s); });
  }
  void close_session(const std::string& s) {
    with_lock([&] {
      live_.erase(s);
      verdicts_.erase(s);
    });
  }
  bool is_live(const std::string& s) {
    std::lock_guard<std::mutex> lock(mutex_);
    return live_.count(s) != 0;
  }
  void set_verdict(const std::string& s, std::string reply) {
    with_lock([&] { verdicts_[s] = std::move(reply); });
  }
  std::string take_verdict(const std::string& s) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = verdicts_.find(s);
    if (it == verdicts_.end()) return "proceed";
    std::string reply = std::move(it->second);
    verdicts_.erase(it);
    return reply;
  }
  worker_pool& pool() { return pool_; }

 private:
  template <typename F>
  void with_lock(F f) {
    std::lock_guard<std::mutex> lock(mutex_);
    f();
  }
  shared_options options_;
  std::vector<std::string> domains_;
  responder out_;
  std::mutex mutex_;
  std::set<std::string> live_;
  std::map<std::string, std::string> verdicts_;
  worker_pool pool_;  // last: destroyed first, waiting for the jobs that use the rest
};

// smtpd writes each line of its filter's stderr to its own log behind the
// filter's name ("gpgseal: ..."), so the lines carry no name of their own.
message_log filter_log(const filter_state& state) {
  return message_log(state.options().log, state.options().syslog_facility, "");
}

// Seals `m` into a temporary file and returns it rewound, or an invalid file
// when the original is to go on (its spool is then rewound). Sets the
// session's commit verdict when a fail policy applies.
spool_file seal(filter_state& state, finished_message& m, message_log& log) {
  std::string why;
  recipient_verdict verdict = check_recipients(m.recipients, state.domains(), state.options());
  if (!verdict.sealable) {
    log.failure("message " + m.session + " passed unchanged: " + verdict.why);
    return {};
  }
  gpgseal::seal_settings settings = settings_for(state.options(), m.recipients);
  spool_file result = spool_file::create(settings.temp_dir, why);
  if (result.fd() < 0) {
    log.failure(why);
    if (state.options().on_error == gpgseal::on_failure::fail) {
      state.set_verdict(m.session, tempfail_reply);
    }
    return {};
  }
  try {
    gpgseal::filter_outcome outcome =
        gpgseal::run_filter(m.spool.fd(), result.fd(), settings, policy_for(state.options()));
    outcome.detail = explain(outcome, state.options(), settings);
    log.outcome(outcome, settings.addresses);
    if (outcome.action == gpgseal::filter_action::failed) {
      state.set_verdict(m.session, tempfail_reply);
      return {};
    }
    if (outcome.bytes_out == 0) return {};
  } catch (const gpgseal::error& e) {
    log.failure(explain(e, settings));
    if (state.options().on_error == gpgseal::on_failure::fail) {
      state.set_verdict(m.session, tempfail_reply);
    }
    return {};
  }
  if (::lseek(result.fd(), 0, SEEK_SET) != 0) return {};
  return result;
}

// One finished message, on a thread of the pool: seal, answer, free.
void handle_message(filter_state& state, finished_message m) {
  message_log log = filter_log(state);
  const std::string session = m.session;
  auto wanted = [&] { return state.is_live(session); };
  if (!wanted()) return;  // dropped while it waited for a worker: nobody to answer
  if (m.spool_failed) {
    log.failure("message " + session + " could not be spooled; answered 451");
    state.set_verdict(session, tempfail_reply);
  } else {
    spool_file result = seal(state, m, log);
    int fd = result.fd() >= 0 ? result.fd() : m.spool.fd();
    if (result.fd() < 0) ::lseek(fd, 0, SEEK_SET);
    if (!stream_back(state.out(), fd, session, m.token, wanted)) {
      if (state.is_live(session)) {
        log.failure("message " + session + " could not be answered: smtpd is gone");
      }
      return;
    }
  }
  if (wanted()) state.out().write(dataline_line(session, m.token, "."));
}

void start_worker(filter_state& state, finished_message m) {
  // std::function needs a copyable job: the message travels in a shared_ptr.
  auto message = std::make_shared<finished_message>(std::move(m));
  state.pool().submit([&state, message] {
    try {
      handle_message(state, std::move(*message));
    } catch (const std::exception& e) {
      filter_log(state).failure(e.what());
    }
  });
}

class reader {
 public:
  bool next(std::string& line) { return static_cast<bool>(std::getline(std::cin, line)); }
};

void note(message_log& log, std::set<std::string>& noted, const std::string& what) {
  // Each kind of oddity once, so that a misbehaving peer cannot flood the log.
  if (noted.size() < 1000 && noted.insert(what).second) log.failure(what);
}

void handle_report(filter_state& state, session_table& table, const protocol_line& p,
                   message_log& log, std::set<std::string>& noted) {
  std::string session(p.session);
  std::string_view rest = p.rest;
  if (p.name == "link-connect") {
    table.connect(session);
    state.open_session(session);
  } else if (p.name == "link-disconnect") {
    table.disconnect(session);
    state.close_session(session);
  } else if (p.name == "tx-begin") {
    table.begin(session);
    state.open_session(session);
  } else if (p.name == "tx-rcpt") {
    next_field(rest);  // message id
    std::string_view result = next_field(rest);
    if (result == "ok") table.add_recipient(session, rest);
  } else if (p.name == "tx-reset" || p.name == "tx-rollback") {
    table.reset(session);
  } else {
    note(log, noted, "ignoring the report event '" + std::string(p.name) + "'");
  }
}

void handle_filter(filter_state& state, session_table& table, const protocol_line& p,
                   message_log& log, std::set<std::string>& noted) {
  std::string session(p.session);
  if (p.name == "data-line") {
    state.open_session(session);
    auto done = table.data_line(p.session, p.token, p.rest);
    if (done) start_worker(state, std::move(*done));
    return;
  }
  std::string reply = "proceed";
  if (p.name == "commit") {
    reply = state.take_verdict(session);
  } else {
    note(log, noted, "answering 'proceed' to the filter phase '" + std::string(p.name) + "'");
  }
  state.out().write(result_line(p.session, p.token, reply));
}

bool handshake(reader& in, filter_state& state, message_log& log) {
  std::string line;
  while (in.next(line)) {
    protocol_line p = parse_line(line);
    if (p.type == line_type::config && p.key == "ready") {
      std::string lines;
      for (const char* event :
           {"link-connect", "link-disconnect", "tx-begin", "tx-rcpt", "tx-reset", "tx-rollback"}) {
        lines += std::string("register|report|smtp-in|") + event + "\n";
      }
      lines += "register|filter|smtp-in|data-line\n";
      lines += "register|filter|smtp-in|commit\n";
      lines += "register|ready\n";
      return state.out().write(lines);
    }
    if (p.type != line_type::config) log.failure("before config|ready: " + line.substr(0, 200));
  }
  return false;
}

int serve(filter_state& state) {
  message_log log = filter_log(state);
  reader in;
  if (!handshake(in, state, log)) {
    log.failure("smtpd closed the filter before the handshake");
    return exit_status(ending::io);
  }
  session_table table(settings_for(state.options(), {}).temp_dir);
  std::set<std::string> noted;
  std::string line;
  while (in.next(line)) {
    protocol_line p = parse_line(line);
    if (p.type == line_type::malformed) {
      note(log, noted, "ignoring a malformed line (" + std::string(p.why) + ")");
    } else if (p.type == line_type::config) {
      continue;
    } else if (p.version != protocol_version) {
      note(log, noted,
           "protocol version " + std::string(p.version) + ", expected " +
               std::string(protocol_version) + "; going on");
    }
    if (p.type == line_type::report) handle_report(state, table, p, log, noted);
    if (p.type == line_type::filter) handle_filter(state, table, p, log, noted);
  }
  state.pool().wait_idle();
  return exit_status(ending::ok);
}

// smtpd raises its open-file limit to the maximum, and its filter inherits
// it; every gpg that GPGME starts would then close that many descriptors
// first, which costs seconds per message. Thousands are plenty here.
void lower_descriptor_limit() {
  constexpr rlim_t enough = 8192;
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur > enough) {
    limit.rlim_cur = enough;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::ios::sync_with_stdio(false);
  command_line cl = smtpd_command_line();
  shared_options options;
  std::vector<std::string> domains;
  std::size_t workers = default_workers();
  try {
    po::variables_map vm;
    options = cl.parse(argc, argv, vm);
    if (vm.count("local-domain")) domains = vm["local-domain"].as<std::vector<std::string>>();
    check_domains(domains);
    if (vm.count("workers")) workers = vm["workers"].as<unsigned>();
    if (workers == 0 || workers > 1024) {
      throw usage_error("--workers " + std::to_string(workers) + ": use 1 to 1024");
    }
    if (!options.help && !options.version) settings_for(options, {});
  } catch (const usage_error& e) {
    return report_usage_error(program, e.what());
  }
  if (auto status = answer_help_or_version(cl, options, print_help)) return *status;
  lower_descriptor_limit();
  try {
    // Before the first worker thread: each message is sealed on one.
    gpgseal::enable_smime_for_every_message();
  } catch (const gpgseal::error& e) {
    std::cerr << e.what() << std::endl;  // smtpd names the filter
    return exit_status(ending_for(e.kind()));
  }
  filter_state state(options, domains, workers);
  return serve(state);
}

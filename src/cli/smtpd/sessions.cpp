#include "cli/smtpd/sessions.hpp"

#include <algorithm>

namespace gpgseal::smtpd {

std::string_view unstuff(std::string_view line) {
  if (!line.empty() && line.front() == '.') line.remove_prefix(1);
  return line;
}

void append_stuffed(std::string& out, std::string_view line) {
  if (!line.empty() && line.front() == '.') out.push_back('.');
  out.append(line);
}

session_table::entry& session_table::at(std::string_view session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) it = sessions_.emplace(std::string(session), entry{}).first;
  return it->second;
}

bool session_table::knows(std::string_view session) const {
  return sessions_.find(session) != sessions_.end();
}

bool session_table::spooling(std::string_view session) const {
  auto it = sessions_.find(session);
  return it != sessions_.end() && it->second.spool.has_value();
}

std::size_t session_table::in_data() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(sessions_.begin(), sessions_.end(),
                    [](const auto& s) { return s.second.spool.has_value(); }));
}

void session_table::connect(std::string_view session) { at(session) = entry{}; }

void session_table::disconnect(std::string_view session) {
  auto it = sessions_.find(session);
  if (it != sessions_.end()) sessions_.erase(it);
}

void session_table::begin(std::string_view session) { at(session) = entry{}; }

void session_table::add_recipient(std::string_view session, std::string_view address) {
  auto& e = at(session);
  if (std::find(e.recipients.begin(), e.recipients.end(), address) == e.recipients.end()) {
    e.recipients.emplace_back(address);
  }
}

void session_table::reset(std::string_view session) {
  auto it = sessions_.find(session);
  if (it != sessions_.end()) it->second = entry{};
}

std::optional<finished_message> session_table::data_line(std::string_view session,
                                                         std::string_view token,
                                                         std::string_view line) {
  auto& e = at(session);
  if (e.spool && e.token != token) e.spool.reset();  // a new DATA; the old one is gone
  if (!e.spool) {
    e.spool.emplace(temp_dir_);
    e.token = std::string(token);
  }
  if (line != ".") {
    e.spool->add_line(unstuff(line));
    return std::nullopt;
  }
  finished_message m;
  m.session = std::string(session);
  m.token = e.token;
  m.recipients = std::move(e.recipients);
  m.bytes = e.spool->bytes();
  m.spool = e.spool->finish();
  m.spool_failed = m.spool.fd() < 0;
  e = entry{};
  return m;
}

}  // namespace gpgseal::smtpd

#include "cli/maildir/when.hpp"

#include <cstdio>
#include <stdexcept>

namespace gpgseal::cli {

namespace {

std::time_t seconds_per(char unit) {
  constexpr std::time_t minute = 60;
  constexpr std::time_t hour = 60 * minute;
  constexpr std::time_t day = 24 * hour;
  switch (unit) {
    case 's':
      return 1;
    case 'm':
      return minute;
    case 'h':
      return hour;
    case 'd':
      return day;
    case 'w':
      return 7 * day;
    default:
      return 0;
  }
}

bool parse_age(const std::string& text, std::time_t now, std::time_t& when) {
  if (text.size() < 2) return false;
  std::time_t unit = seconds_per(text.back());
  if (unit == 0) return false;
  std::time_t count = 0;
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9' || count > 1000000000) return false;
    count = count * 10 + (text[i] - '0');
  }
  when = now - count * unit;
  return true;
}

bool parse_date(const std::string& text, std::time_t& when) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &consumed) !=
      3) {
    return false;
  }
  if (consumed == 10 && text.size() > 10) {
    int more = 0;
    if (std::sscanf(text.c_str() + 10, "T%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &more) != 2) {
      return false;
    }
    consumed += more;
    if (text.size() > static_cast<std::size_t>(consumed) &&
        std::sscanf(text.c_str() + consumed, ":%2d%n", &tm.tm_sec, &more) == 1) {
      consumed += more;
    }
  }
  if (static_cast<std::size_t>(consumed) != text.size()) return false;
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return false;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  when = std::mktime(&tm);
  return when != static_cast<std::time_t>(-1);
}

}  // namespace

std::time_t parse_point_in_time(const std::string& text, std::time_t now) {
  std::time_t when = 0;
  if (parse_age(text, now, when) || parse_date(text, when)) return when;
  throw std::invalid_argument("'" + text +
                              "' is neither an age (45s, 90m, 12h, 30d, 2w) nor a date "
                              "(YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], local time)");
}

}  // namespace gpgseal::cli

// The --newer-than / --older-than arguments of gpgseal-maildir: a point in
// time given as an age or as a local date, in place of the free-form find(1)
// arguments admins had to pass to encmaildir.sh.
#pragma once

#include <ctime>
#include <string>

namespace gpgseal::cli {

// Parses an age counted back from `now` ("45s", "90m", "12h", "30d", "2w") or a
// local date "YYYY-MM-DD" / date-time "YYYY-MM-DDTHH:MM[:SS]". Throws
// std::invalid_argument naming the accepted forms.
std::time_t parse_point_in_time(const std::string& text, std::time_t now);

}  // namespace gpgseal::cli

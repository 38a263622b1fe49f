// Hands one copy back to Postfix the way FILTER_README's simple content filter
// does: `sendmail -G -i -f SENDER -- RECIPIENT...`. Mail submitted through
// sendmail enters by pickup(8), which has no content_filter, so it is not
// filtered again. The copy is queued when sendmail exits 0 (postdrop has
// written it to the maildrop queue); nothing else counts as success.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace gpgseal::cli::postfix {

// Runs `sendmail` with the copy in `message_fd` (rewound first) on its
// standard input; its output goes to our standard error, which pipe(8) logs.
// Returns nullopt once the copy is queued, else why not.
std::optional<std::string> reinject(const std::string& sendmail, const std::string& sender,
                                    const std::vector<std::string>& recipients, int message_fd);

}  // namespace gpgseal::cli::postfix

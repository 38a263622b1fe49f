// Finishes replacements that a crash interrupted. Between "encrypted version
// renamed into place" and "original removed" a folder holds two files of one
// base name: the plaintext original and its encrypted copy (with other S=/W=
// values). The plaintext is removed only when the encrypted file is complete
// (its S= is its size), is well-formed PGP/MIME by the filter's detection, and
// carries exactly the original's outer header fields; otherwise both stay and
// the pair is reported. The only copy of a message is never removed.
#pragma once

#include <vector>

#include "core/maildir.hpp"
#include "core/maildir/folder.hpp"

namespace gpgseal::detail {

struct leftover_resolution {
  std::vector<message_file> to_process;  // files not settled here, in listing order
  std::vector<message_report> reports;   // plaintext twins removed, or pairs left alone
};

// Groups `files` by base name and settles each group that holds an encrypted
// copy. With `dry_run` reports what it would remove and removes nothing.
// Requires initialise_libraries(). Never throws for one group: a problem
// becomes a `failed` report and that group's files are left untouched.
leftover_resolution resolve_leftovers(const maildir_folder& folder,
                                      const std::vector<message_file>& files, bool dry_run);

}  // namespace gpgseal::detail

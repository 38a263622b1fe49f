// Which messages gpgseal-smtpd may seal. smtpd hands the filter one message
// for all the recipients of a transaction, so it is sealed once, to all their
// keys, or not at all: a recipient outside the local domains, or one whose
// keyring is not the others' (a per-user --gnupghome template), could not
// read a message sealed for the rest, so such a message goes on unchanged to
// everybody. A recipient without a key is the core's business: the whole
// message then passes, or is refused, by --on-missing-key.
#pragma once

#include <string>
#include <vector>

#include "cli/common/options.hpp"

namespace gpgseal::smtpd {

struct recipient_verdict {
  bool sealable = false;
  std::string why;  // when not sealable; names the recipient, never content
};

recipient_verdict check_recipients(const std::vector<std::string>& recipients,
                                   const std::vector<std::string>& local_domains,
                                   const cli::shared_options& options);

// Validates and lower-cases the --local-domain values. Throws cli::usage_error.
void check_domains(std::vector<std::string>& domains);

}  // namespace gpgseal::smtpd

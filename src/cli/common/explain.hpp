// Turns the core's words into words about the options an admin set: the
// core says "the size limit", the CLI says which option set it. Core texts
// never name a flag (core/filter.hpp), so this is the only place that does.
#pragma once

#include <string>

#include "cli/common/options.hpp"
#include "core/error.hpp"
#include "core/filter.hpp"

namespace gpgseal::cli {

// The detail of `outcome`, naming the option behind a limit or a mode.
std::string explain(const filter_outcome& outcome, const shared_options& options,
                    const seal_settings& settings);

// The text of a core error, with the options that would fix it.
std::string explain(const error& failure, const seal_settings& settings);

}  // namespace gpgseal::cli

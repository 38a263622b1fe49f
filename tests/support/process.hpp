// Runs a real program with given arguments, environment and standard input,
// and collects its exit status, stdout and stderr. Used to drive gpg and the
// gpgseal binary from tests.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace gpgseal::test {

struct process_result {
  int exit_code = -1;  // -1 if killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
};

struct process_options {
  std::optional<std::vector<std::string>> env;  // nullopt: inherit
  std::optional<unsigned> run_as_uid;           // setuid before exec (needs root)
  std::size_t input_chunk = 0;                  // >0: write stdin in chunks this small
  bool close_stdin_early = false;               // never write stdin; close it at once
};

process_result run_process(const std::vector<std::string>& argv, const std::string& input = "",
                           const process_options& options = {});

// Runs and throws std::runtime_error with stderr if the exit status is not 0.
std::string run_checked(const std::vector<std::string>& argv, const std::string& input = "");

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);
std::string make_temp_dir();  // mode 0700
void remove_tree(const std::string& path);

}  // namespace gpgseal::test

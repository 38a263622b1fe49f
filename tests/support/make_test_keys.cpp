// Makes the standard test keys once, before the test processes that ctest
// starts one per test: `make_test_keys DIR`. INSECURE test keys only.
#include <exception>
#include <iostream>

#include "support/test_keyring.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_test_keys DIRECTORY\n";
    return 64;
  }
  try {
    gpgseal::test::save_standard_keys(argv[1]);
  } catch (const std::exception& e) {
    std::cerr << "make_test_keys: " << e.what() << "\n";
    return 1;
  }
  std::cout << "standard test keys saved in " << argv[1] << "\n";
  return 0;
}

// The C++ unit tests' one check: unlike assert it stays active in Release builds (-DNDEBUG), counts
// failures instead of aborting, and finish() turns the count into the exit code ctest reads.
#pragma once

#include <cstdio>

namespace energylens::testing {

inline int failures = 0;

/// Exit code for main(): 0 when every CHECK held, 1 otherwise (with a summary line).
inline int finish(const char* name) {
  if (failures != 0) {
    std::fprintf(stderr, "%s: %d failure(s)\n", name, failures);
    return 1;
  }
  std::printf("%s: all passed\n", name);
  return 0;
}

}  // namespace energylens::testing

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++energylens::testing::failures;                                               \
    }                                                                                \
  } while (0)

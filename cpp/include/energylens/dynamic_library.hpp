// Run-time loading of the vendor libraries energylens never links (NVML, CUPTI, DCGM, the CUDA
// driver): one place for dlopen over candidate names and for typed symbol lookup.
#pragma once

#include <initializer_list>
#include <string>

namespace energylens::dynlib {

/// dlopen()s the first of `candidates` that loads (null entries are skipped), RTLD_NOW | RTLD_LOCAL.
/// Returns the handle, or nullptr with the loader's message for every candidate tried appended to
/// `tried` ("; "-separated), for an error that says what was looked for and why it failed.
void* open_first(std::initializer_list<const char*> candidates, std::string& tried);

/// The raw address of `name` in `lib`, or nullptr when the symbol is absent.
void* symbol(void* lib, const char* name);

/// The file the loader opened for `lib` (the search of LD_LIBRARY_PATH and the ldconfig cache resolved),
/// or "" when the loader does not say.
std::string loaded_path(void* lib);

/// Stores the address of `primary` (else `fallback`, when given) in the typed function pointer `slot`;
/// null when both are absent.
template <typename Fn>
void resolve(void* lib, Fn& slot, const char* primary, const char* fallback = nullptr) {
  void* address = symbol(lib, primary);
  if (address == nullptr && fallback != nullptr) address = symbol(lib, fallback);
  slot = reinterpret_cast<Fn>(address);
}

}  // namespace energylens::dynlib

#include "energylens/dynamic_library.hpp"

#include <dlfcn.h>
#include <link.h>

namespace energylens::dynlib {

void* open_first(std::initializer_list<const char*> candidates, std::string& tried) {
  for (const char* path : candidates) {
    // nullptr (an unset variable) or "" (one exported empty): dlopen("") would return the program itself.
    if (path == nullptr || *path == '\0') continue;
    if (void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL)) return lib;
    const char* why = dlerror();
    tried += std::string(tried.empty() ? "" : "; ") + (why != nullptr ? why : path);
  }
  return nullptr;
}

void* symbol(void* lib, const char* name) { return dlsym(lib, name); }

std::string loaded_path(void* lib) {
  struct link_map* map = nullptr;
  if (dlinfo(lib, RTLD_DI_LINKMAP, &map) != 0 || map == nullptr || map->l_name == nullptr) return "";
  return map->l_name;
}

}  // namespace energylens::dynlib

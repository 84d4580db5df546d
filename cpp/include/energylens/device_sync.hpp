// Window-edge synchronisation of every GPU the process is using, whichever CUDA runtime launched
// the work (PyTorch's, CuPy's or ours): the driver API (libcuda.so.1, dlopen'd) synchronises each
// device whose primary context is active, and never creates a context on an unused GPU.
#pragma once

#include <string>

namespace energylens {

/// Synchronises every device with an active primary context; returns how many. 0 (a no-op) when
/// no driver is present or no context is active. Throws CudaUnavailable when a synchronise fails
/// (a sticky CUDA error in the application's context), with the driver's message.
int synchronize_active_devices();

/// Why the driver API cannot be used ("" when libcuda.so.1 loads and cuInit succeeds).
std::string driver_unavailable_reason();

}  // namespace energylens

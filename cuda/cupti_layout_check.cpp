// Compile-time check of cpp/include/energylens/cupti_layout.hpp against the CUDA toolkit's CUPTI headers
// (built only where cupti.h is found, cuda/CMakeLists.txt). No code: a mismatch fails the build.
#include <cupti.h>

#include <cstddef>

#include "energylens/cupti_layout.hpp"

namespace layout = energylens::cupti::layout;

static_assert(layout::kSuccess == CUPTI_SUCCESS);
static_assert(layout::kKindMemcpy == CUPTI_ACTIVITY_KIND_MEMCPY);
static_assert(layout::kKindMemset == CUPTI_ACTIVITY_KIND_MEMSET);
static_assert(layout::kKindConcurrentKernel == CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
static_assert(layout::kFlushForced == CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);

#if CUPTI_API_VERSION >= 130000
using KernelRecord = CUpti_ActivityKernel10;
static_assert(offsetof(KernelRecord, name) == layout::kKernelName);
#else
using KernelRecord = CUpti_ActivityKernel9;
#endif
static_assert(offsetof(KernelRecord, kind) == layout::kKind);
static_assert(offsetof(KernelRecord, start) == layout::kStart);
static_assert(offsetof(KernelRecord, end) == layout::kEnd);
static_assert(offsetof(KernelRecord, deviceId) == layout::kKernelDevice);
static_assert(offsetof(KernelRecord, streamId) == layout::kKernelStream);

static_assert(offsetof(CUpti_ActivityMemcpy6, copyKind) == layout::kMemcpyCopyKind);
static_assert(offsetof(CUpti_ActivityMemcpy6, start) == layout::kStart);
static_assert(offsetof(CUpti_ActivityMemcpy6, end) == layout::kEnd);
static_assert(offsetof(CUpti_ActivityMemcpy6, deviceId) == layout::kMemcpyDevice);
static_assert(offsetof(CUpti_ActivityMemcpy6, streamId) == layout::kMemcpyStream);
static_assert(offsetof(CUpti_ActivityMemset4, start) == layout::kStart);
static_assert(offsetof(CUpti_ActivityMemset4, end) == layout::kEnd);
static_assert(offsetof(CUpti_ActivityMemset4, deviceId) == layout::kMemsetDevice);
static_assert(offsetof(CUpti_ActivityMemset4, streamId) == layout::kMemsetStream);

static_assert(layout::kCopyHtoD == CUPTI_ACTIVITY_MEMCPY_KIND_HTOD);
static_assert(layout::kCopyDtoH == CUPTI_ACTIVITY_MEMCPY_KIND_DTOH);
static_assert(layout::kCopyDtoD == CUPTI_ACTIVITY_MEMCPY_KIND_DTOD);
static_assert(layout::kCopyHtoH == CUPTI_ACTIVITY_MEMCPY_KIND_HTOH);
static_assert(layout::kCopyPtoP == CUPTI_ACTIVITY_MEMCPY_KIND_PTOP);

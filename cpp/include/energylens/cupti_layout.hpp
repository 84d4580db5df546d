// The part of CUPTI's activity-record ABI that cupti.cpp reads (cupti_activity.h): kinds, result codes
// and byte offsets of the leading fields of the kernel, memcpy and memset records. The core loads
// libcupti with dlopen and compiles without CUDA headers, so these are written out here; where the CUDA
// toolkit's headers are present the build checks every value against them at compile time
// (cuda/cupti_layout_check.cpp), so a toolkit that moves a field fails the build instead of the records.
#pragma once

#include <cstddef>
#include <cstdint>

namespace energylens::cupti::layout {

constexpr int kSuccess = 0;                 ///< CUPTI_SUCCESS
constexpr int kKindMemcpy = 1;              ///< CUPTI_ACTIVITY_KIND_MEMCPY
constexpr int kKindMemset = 2;              ///< CUPTI_ACTIVITY_KIND_MEMSET
constexpr int kKindConcurrentKernel = 10;   ///< CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL
constexpr std::uint32_t kFlushForced = 1;   ///< CUPTI_ACTIVITY_FLAG_FLUSH_FORCED

// Every record starts with its kind (CUpti_ActivityKind, 4 bytes) and carries start / end (GPU ns).
constexpr std::size_t kKind = 0;            ///< byte offset of the record's kind (CUpti_ActivityKind, 4 bytes)
constexpr std::size_t kStart = 16;          ///< byte offset of start (std::uint64_t, GPU ns)
constexpr std::size_t kEnd = 24;            ///< byte offset of end (std::uint64_t, GPU ns)

// CUpti_ActivityKernel10 (CUDA 13; the leading fields are those of every kernel record since CUDA 11).
constexpr std::size_t kKernelDevice = 40;                    ///< byte offset of deviceId (std::uint32_t)
constexpr std::size_t kKernelStream = 48;                    ///< byte offset of streamId (std::uint32_t)
constexpr std::size_t kKernelName = 104;                     ///< const char*, from CUPTI API 13.0 on
constexpr std::uint32_t kKernelNameMinVersion = 130000;      ///< CUPTI_API_VERSION with the name at 104

// CUpti_ActivityMemcpy6 and CUpti_ActivityMemset4.
constexpr std::size_t kMemcpyCopyKind = 4;                   ///< std::uint8_t, CUpti_ActivityMemcpyKind
constexpr std::size_t kMemcpyDevice = 32;                    ///< byte offset of a memcpy's deviceId
constexpr std::size_t kMemcpyStream = 40;                    ///< byte offset of a memcpy's streamId
constexpr std::size_t kMemsetDevice = 32;                    ///< byte offset of a memset's deviceId
constexpr std::size_t kMemsetStream = 40;                    ///< byte offset of a memset's streamId

// CUpti_ActivityMemcpyKind values the records name.
constexpr int kCopyHtoD = 1;   ///< CUPTI_ACTIVITY_MEMCPY_KIND_HTOD
constexpr int kCopyDtoH = 2;   ///< CUPTI_ACTIVITY_MEMCPY_KIND_DTOH
constexpr int kCopyDtoD = 8;   ///< CUPTI_ACTIVITY_MEMCPY_KIND_DTOD
constexpr int kCopyHtoH = 9;   ///< CUPTI_ACTIVITY_MEMCPY_KIND_HTOH
constexpr int kCopyPtoP = 10;  ///< CUPTI_ACTIVITY_MEMCPY_KIND_PTOP

}  // namespace energylens::cupti::layout

/* A stand-in libcupti for tests on machines without a GPU: loaded through ENERGYLENS_CUPTI_LIBRARY, it
 * implements the activity calls energylens' KernelTracer uses and, on every cuptiActivityFlushAll, delivers
 * one buffer holding records laid out by the CUDA toolkit's own cupti.h (so the test checks the tracer's
 * offsets against the real structs): a kernel (device 1, stream 7, name "fake_kernel"), a host-to-device
 * memcpy (device 0, stream 3), a memset (device 0, stream 3) and a record of a kind the tracer does not read
 * (a marker), which it must skip. Timestamps are CLOCK_MONOTONIC ns (the steady clock), the kernel ending
 * 1 ms before the flush and lasting 200 us. cuptiGetTimestamp reads the same clock.
 * Environment: FAKE_CUPTI_DROPPED (records reported dropped per buffer, default 0).
 * Build: cc -shared -fPIC -O2 -I<cuda>/include -o libfake_cupti.so fake_cupti.c */
#include <cupti.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static CUpti_BuffersCallbackRequestFunc request_fn;
static CUpti_BuffersCallbackCompleteFunc complete_fn;
static int enabled_kinds[64];

#if CUPTI_API_VERSION >= 130000
typedef CUpti_ActivityKernel10 KernelRecord;
#else
typedef CUpti_ActivityKernel9 KernelRecord;
#endif

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t record_size(const CUpti_Activity *r) {
  switch (r->kind) {
    case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: return sizeof(KernelRecord);
    case CUPTI_ACTIVITY_KIND_MEMCPY: return sizeof(CUpti_ActivityMemcpy6);
    case CUPTI_ACTIVITY_KIND_MEMSET: return sizeof(CUpti_ActivityMemset4);
    default: return sizeof(CUpti_ActivityMarker2);
  }
}

CUptiResult cuptiGetVersion(uint32_t *version) { *version = CUPTI_API_VERSION; return CUPTI_SUCCESS; }
CUptiResult cuptiGetResultString(CUptiResult result, const char **str) {
  *str = result == CUPTI_SUCCESS ? "CUPTI_SUCCESS" : "CUPTI_ERROR_FAKE";
  return CUPTI_SUCCESS;
}
CUptiResult cuptiGetTimestamp(uint64_t *timestamp) { *timestamp = now_ns(); return CUPTI_SUCCESS; }
CUptiResult cuptiActivityRegisterCallbacks(CUpti_BuffersCallbackRequestFunc request,
                                           CUpti_BuffersCallbackCompleteFunc complete) {
  request_fn = request;
  complete_fn = complete;
  return CUPTI_SUCCESS;
}
CUptiResult cuptiActivityEnable(CUpti_ActivityKind kind) { enabled_kinds[kind & 63] = 1; return CUPTI_SUCCESS; }
CUptiResult cuptiActivityDisable(CUpti_ActivityKind kind) { enabled_kinds[kind & 63] = 0; return CUPTI_SUCCESS; }
CUptiResult cuptiActivityGetNumDroppedRecords(CUcontext context, uint32_t stream, size_t *dropped) {
  (void)context; (void)stream;
  const char *env = getenv("FAKE_CUPTI_DROPPED");
  *dropped = env != NULL ? (size_t)atol(env) : 0;
  return CUPTI_SUCCESS;
}

CUptiResult cuptiActivityGetNextRecord(uint8_t *buffer, size_t valid, CUpti_Activity **record) {
  uint8_t *next = *record == NULL ? buffer : (uint8_t *)*record + record_size(*record);
  if (next >= buffer + valid) return CUPTI_ERROR_MAX_LIMIT_REACHED;
  *record = (CUpti_Activity *)next;
  return CUPTI_SUCCESS;
}

CUptiResult cuptiActivityFlushAll(uint32_t flag) {
  (void)flag;
  if (request_fn == NULL || complete_fn == NULL) return CUPTI_ERROR_INVALID_OPERATION;
  uint8_t *buffer = NULL;
  size_t size = 0, max_records = 0;
  request_fn(&buffer, &size, &max_records);
  if (buffer == NULL || size < 4096) return CUPTI_ERROR_OUT_OF_MEMORY;
  memset(buffer, 0, 4096);
  const uint64_t t = now_ns();
  size_t at = 0;
  if (enabled_kinds[CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL]) {
    KernelRecord *k = (KernelRecord *)(buffer + at);
    k->kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
    k->start = t - 1200000;
    k->end = t - 1000000;
    k->deviceId = 1;
    k->streamId = 7;
#if CUPTI_API_VERSION >= 130000
    k->name = "fake_kernel";
#endif
    at += sizeof(KernelRecord);
  }
  if (enabled_kinds[CUPTI_ACTIVITY_KIND_MEMCPY]) {
    CUpti_ActivityMemcpy6 *m = (CUpti_ActivityMemcpy6 *)(buffer + at);
    m->kind = CUPTI_ACTIVITY_KIND_MEMCPY;
    m->copyKind = CUPTI_ACTIVITY_MEMCPY_KIND_HTOD;
    m->start = t - 900000;
    m->end = t - 800000;
    m->deviceId = 0;
    m->streamId = 3;
    at += sizeof(CUpti_ActivityMemcpy6);
  }
  if (enabled_kinds[CUPTI_ACTIVITY_KIND_MEMSET]) {
    CUpti_ActivityMemset4 *s = (CUpti_ActivityMemset4 *)(buffer + at);
    s->kind = CUPTI_ACTIVITY_KIND_MEMSET;
    s->start = t - 700000;
    s->end = t - 600000;
    s->deviceId = 0;
    s->streamId = 3;
    at += sizeof(CUpti_ActivityMemset4);
  }
  CUpti_ActivityMarker2 *marker = (CUpti_ActivityMarker2 *)(buffer + at);
  marker->kind = CUPTI_ACTIVITY_KIND_MARKER;
  at += sizeof(CUpti_ActivityMarker2);
  complete_fn(NULL, 0, buffer, size, at);
  return CUPTI_SUCCESS;
}

/* LD_PRELOAD shim for tests: steps this process's wall clock (CLOCK_REALTIME, which std::chrono::system_clock,
 * Python's time.time() and the stand-in NVML's sample stamps read) by a chosen amount at a chosen moment, as an NTP
 * step or a virtual machine paused and resumed does; CLOCK_MONOTONIC (steady_clock) is left alone.
 * wall_step_set(at_mono_s, step_s): from CLOCK_MONOTONIC second at_mono_s on, CLOCK_REALTIME reads step_s more
 * (negative: set back). Call it through ctypes (ctypes.CDLL(path) of the preloaded copy).
 * Build: cc -shared -fPIC -O2 -o libwall_step.so wall_step.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <time.h>

static long long at_ns = -1;   /* CLOCK_MONOTONIC ns from which the step applies; -1: none */
static long long step_ns = 0;

void wall_step_set(double at_mono_s, double step_s) {
  __atomic_store_n(&step_ns, (long long)(step_s * 1e9), __ATOMIC_RELAXED);
  __atomic_store_n(&at_ns, (long long)(at_mono_s * 1e9), __ATOMIC_RELEASE);
}

int clock_gettime(clockid_t id, struct timespec* ts) {
  static int (*real)(clockid_t, struct timespec*);
  if (real == NULL) real = (int (*)(clockid_t, struct timespec*))dlsym(RTLD_NEXT, "clock_gettime");
  int r = real(id, ts);
  long long at = __atomic_load_n(&at_ns, __ATOMIC_ACQUIRE);
  if (r != 0 || id != CLOCK_REALTIME || at < 0) return r;
  struct timespec m;
  real(CLOCK_MONOTONIC, &m);
  if ((long long)m.tv_sec * 1000000000LL + m.tv_nsec < at) return r;
  long long ns = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec + __atomic_load_n(&step_ns, __ATOMIC_RELAXED);
  ts->tv_sec = (time_t)(ns / 1000000000LL);
  ts->tv_nsec = (long)(ns % 1000000000LL);
  return r;
}

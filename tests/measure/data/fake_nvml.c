/* A stand-in libnvidia-ml for tests on machines without a GPU: loaded through
 * ENERGYLENS_NVML_LIBRARY, it implements the NVML calls the sampler uses with a known power:
 * GPU g draws (100 + 100 g) W, plus 200 W during every odd half second since nvmlInit.
 * Clocks: the simulated GPU runs on CLOCK_MONOTONIC (steady_clock's), as a real GPU's power and counter do not
 *   follow the wall clock; only the buffer's sample stamps are wall-clock microseconds, each stamped once, when
 *   first handed out (drains come every ~0.1 s; a driver stamps at acquisition). Until 2026-12-07 everything ran
 *   on the wall clock: a wall-clock step (a VM paused and resumed, an NTP step) moved the simulated GPU's time
 *   with it, and a 1 s window's counter read 1004 J for 200 J after a 4 s step.
 * - nvmlDeviceGetSamples: a driver-like buffer of 20 ms samples (mean power of each 20 ms),
 *   wall-clock microsecond stamps, the last ~2.4 s, drained with lastSeenTimeStamp.
 * - NVML_FI_DEV_POWER_INSTANT: every 100 ms the power at that instant (+ k % 3 mW so it changes;
 *   FAKE_NVML_QUANTISED: without, so the reading holds for 0.5 s between steps, as a real one does).
 * - nvmlDeviceGetTotalEnergyConsumption: the exact integral (mJ) at each 100 ms update.
 * Environment: FAKE_NVML_STEADY (no square wave: each GPU draws its base power throughout),
 * FAKE_NVML_GPUS (2), FAKE_NVML_LOST_AFTER_S (GetSamples returns GPU_IS_LOST after),
 * FAKE_NVML_NO_SAMPLES (GetSamples is NOT_SUPPORTED), FAKE_NVML_NO_INSTANT (field NOT_SUPPORTED),
 * FAKE_NVML_ENERGY_SPIN_MS (each energy counter read spins this long, as a CPU-bound driver call),
 * FAKE_NVML_SKIP_EVERY (N: the buffer never holds sample k where k % N == 0, a sample the driver missed),
 * FAKE_NVML_STALL_AT_S / FAKE_NVML_STALL_S (the first read of GPU 1's field at or after STALL_AT_S seconds
 *   sleeps STALL_S first: the polling thread stalls, and GPU 0's next read comes that much later).
 * Test hooks (not NVML; read through ctypes, which shares this library's state with the sampler's dlopen):
 * fake_nvml_t0_wall() is nvmlInit's wall-clock second, fake_nvml_t0_mono() its CLOCK_MONOTONIC second (steady_clock
 * t_ns / 1e9 - fake_nvml_t0_mono() is the simulated GPU's time, whatever the wall clock did), and
 * fake_nvml_reads(which, out, cap) copies the seconds since then (monotonic) at which GPU 0's instant field
 * (which 0) or energy counter (which 1) was read, so that a test
 * knows where the power stepped and how far apart the sampler's reads came, whatever the machine's load.
 * Build: cc -shared -fPIC -O2 -o libfake_nvml.so fake_nvml.c */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

typedef int nvmlReturn_t;
typedef struct { int index; } *nvmlDevice_t;
typedef union { double d; unsigned int ui; unsigned long ul; unsigned long long ull; long long sll; int si; unsigned short us; } nvmlValue_t;
typedef struct { unsigned long long timeStamp; nvmlValue_t sampleValue; } nvmlSample_t;
typedef struct { unsigned int fieldId; unsigned int scopeId; long long timestamp; long long latencyUsec; int valueType; nvmlReturn_t nvmlReturn; nvmlValue_t value; } nvmlFieldValue_t;

static struct { int index; } devices[16];
static double t0_wall;   /* seconds since epoch at nvmlInit */
static double t0_mono;   /* CLOCK_MONOTONIC seconds at nvmlInit: the simulated GPU's time is mono_now() - t0_mono */
static int gpu_count = 2;
static double lost_after = -1.0;

static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
/* wall - monotonic seconds, from the tightest of three bracketing reads (a preempted read would shift a stamp) */
static double wall_minus_mono(void) {
  double best = 0.0, width = 1e9;
  for (int i = 0; i < 3; ++i) {
    double m1 = mono_now(), w = wall_now(), m2 = mono_now();
    if (m2 - m1 < width) { width = m2 - m1; best = w - 0.5 * (m1 + m2); }
  }
  return best;
}
/* the wall-clock stamp (us) of buffer sample k, given once, when it is first handed out */
#define STAMP_RING 1024
static long long stamp_k[STAMP_RING];
static unsigned long long stamp_us[STAMP_RING];
static pthread_mutex_t stamp_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long sample_stamp_us(long long k) {
  pthread_mutex_lock(&stamp_lock);
  int i = (int)(k % STAMP_RING);
  if (stamp_k[i] != k) {
    stamp_k[i] = k;
    stamp_us[i] = (unsigned long long)((t0_mono + 0.02 * (double)k + wall_minus_mono()) * 1e6);
  }
  unsigned long long us = stamp_us[i];
  pthread_mutex_unlock(&stamp_lock);
  return us;
}
#define READ_LOG_CAP 65536
static double read_log[2][READ_LOG_CAP]; /* GPU 0's reads, seconds since nvmlInit: instant field, counter */
static int read_count[2];
static void log_read(int which, int gpu, double t) {
  if (gpu != 0) return;
  int n = __atomic_load_n(&read_count[which], __ATOMIC_RELAXED);
  if (n >= READ_LOG_CAP) return;
  read_log[which][n] = t;
  __atomic_store_n(&read_count[which], n + 1, __ATOMIC_RELEASE);
}
double fake_nvml_t0_wall(void) { return t0_wall; }
double fake_nvml_t0_mono(void) { return t0_mono; }
int fake_nvml_reads(int which, double* out, int cap) {
  if (which < 0 || which > 1) return -1;
  int n = __atomic_load_n(&read_count[which], __ATOMIC_ACQUIRE);
  if (n > cap) n = cap;
  for (int i = 0; i < n; ++i) out[i] = read_log[which][i];
  return n;
}
static double base_w(int g) { return 100.0 + 100.0 * g; }
/* power at t seconds after init */
static int steady(void) { return getenv("FAKE_NVML_STEADY") != NULL; }
static double power_w(int g, double t) {
  return base_w(g) + (!steady() && ((long long)(t / 0.5)) % 2 == 1 ? 200.0 : 0.0);
}
/* exact integral of power over [0, t] */
static double energy_j(int g, double t) {
  long long half = (long long)(t / 0.5);
  if (steady()) return base_w(g) * t;
  double e = base_w(g) * t + 200.0 * 0.5 * (double)(half / 2);
  if (half % 2 == 1) e += 200.0 * (t - 0.5 * (double)half);
  return e;
}

nvmlReturn_t nvmlInit_v2(void) {
  const char* g = getenv("FAKE_NVML_GPUS");
  const char* lost = getenv("FAKE_NVML_LOST_AFTER_S");
  gpu_count = g ? atoi(g) : 2;
  if (gpu_count > 16) gpu_count = 16;
  lost_after = lost ? atof(lost) : -1.0;
  for (int i = 0; i < 16; ++i) devices[i].index = i;
  read_count[0] = read_count[1] = 0;
  for (int i = 0; i < STAMP_RING; ++i) stamp_k[i] = -1;
  t0_mono = mono_now();
  t0_wall = wall_now();
  return 0;
}
nvmlReturn_t nvmlShutdown(void) { return 0; }
const char* nvmlErrorString(nvmlReturn_t r) {
  switch (r) {
    case 3: return "Not Supported";
    case 6: return "Not Found";
    case 15: return "GPU is lost";
    default: return "fake NVML error";
  }
}
nvmlReturn_t nvmlSystemGetDriverVersion(char* v, unsigned int n) { snprintf(v, n, "999.99-fake"); return 0; }
nvmlReturn_t nvmlSystemGetNVMLVersion(char* v, unsigned int n) { snprintf(v, n, "99.999-fake"); return 0; }
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* c) { *c = (unsigned int)gpu_count; return 0; }
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t* d) {
  if ((int)i >= gpu_count) return 2;
  *d = (nvmlDevice_t)&devices[i];
  return 0;
}
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char* u, unsigned int n) {
  snprintf(u, n, "GPU-fa4e%04d-0000-0000-0000-000000000000", d->index);
  return 0;
}
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char* s, unsigned int n) { (void)d; snprintf(s, n, "Fake GPU"); return 0; }
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int* mw) {
  *mw = (unsigned int)(power_w(d->index, mono_now() - t0_mono) * 1000.0);
  return 0;
}
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long* mj) {
  const char* spin = getenv("FAKE_NVML_ENERGY_SPIN_MS"); /* a read that burns this much CPU */
  if (spin) { double until = mono_now() + atof(spin) * 1e-3; while (mono_now() < until) {} }
  double t = mono_now() - t0_mono;
  log_read(1, d->index, t);
  double t_upd = 0.1 * (double)(long long)(t / 0.1);
  *mj = (unsigned long long)(1.0e6 + energy_j(d->index, t_upd) * 1000.0);
  return 0;
}
static int stalled = 0;
nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t d, int count, nvmlFieldValue_t* values) {
  const char* stall_at = getenv("FAKE_NVML_STALL_AT_S");
  if (stall_at && d->index == 1 && !stalled && mono_now() - t0_mono >= atof(stall_at)) {
    stalled = 1;
    struct timespec ts = {0, 0};
    double s = getenv("FAKE_NVML_STALL_S") ? atof(getenv("FAKE_NVML_STALL_S")) : 0.4;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
  }
  double t = mono_now() - t0_mono;
  log_read(0, d->index, t);
  for (int i = 0; i < count; ++i) {
    nvmlFieldValue_t* v = &values[i];
    v->timestamp = (long long)(wall_now() * 1e6);
    if (v->fieldId != 186 || getenv("FAKE_NVML_NO_INSTANT")) { v->nvmlReturn = 3; continue; }
    long long k = (long long)(t / 0.1);
    v->valueType = 1;
    v->value.ui = (unsigned int)(power_w(d->index, 0.1 * (double)k) * 1000.0)
                  + (getenv("FAKE_NVML_QUANTISED") ? 0u : (unsigned int)(k % 3));
    v->nvmlReturn = 0;
  }
  return 0;
}
nvmlReturn_t nvmlDeviceGetSamples(nvmlDevice_t d, int type, unsigned long long last_seen, int* value_type,
                                  unsigned int* count, nvmlSample_t* samples) {
  if (type != 0 || getenv("FAKE_NVML_NO_SAMPLES")) return 3;
  double t = mono_now() - t0_mono;
  if (lost_after >= 0.0 && t > lost_after) return 15;
  /* 20 ms samples ending at k * 20 ms after init, the last 120 of them (2.4 s) */
  long long k_end = (long long)(t / 0.02);
  long long k_begin = k_end - 119;
  if (k_begin < 1) k_begin = 1;
  const char* skip_env = getenv("FAKE_NVML_SKIP_EVERY");
  long long skip = skip_env ? atoll(skip_env) : 0;
  unsigned int n = 0;
  for (long long k = k_begin; k <= k_end; ++k) {
    if (skip > 0 && k % skip == 0) continue;
    unsigned long long ts = sample_stamp_us(k);
    if (ts <= last_seen) continue; /* as a driver: its own stamps, so a wall clock set back hides new samples */
    if (samples != NULL) {
      if (n >= *count) return 7; /* insufficient size */
      double a = 0.02 * (double)(k - 1), b = 0.02 * (double)k;
      samples[n].timeStamp = ts;
      samples[n].sampleValue.ui = (unsigned int)((energy_j(d->index, b) - energy_j(d->index, a)) / 0.02 * 1000.0);
    }
    ++n;
  }
  *value_type = 1;
  if (samples == NULL) { *count = n; return 0; }
  if (n == 0) return 6; /* not found: nothing new */
  *count = n;
  return 0;
}

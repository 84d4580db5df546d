#!/usr/bin/env bash
# The whole device check for a lent H100/H200, in one call of the device tool (timeout_s 600; this script ends
# by DEADLINE_S = 540 s). Steps, most-needed first, each with its own time limit (a typical run, estimated for
# the 16-core device from this repo's CPU build and CPU stand-ins, in brackets):
#   preflight        45 s  [~15 s] nvidia-smi, Python headers, nvcc / cmake / g++, CuPy, torch + transformers
#   build           240 s  [~90 s] pip install --no-build-isolation --no-deps . with the CUDA part forced on (no
#                                  package index there: the image's scikit-build-core, pybind11, CMake, ninja)
#   capabilities     60 s  [~5 s]  energylens.capabilities() and `energylens doctor`: does the build see the GPU
#   GPU tests       100 s  [~40 s] tests/gpu (search exactness incl. layer-pattern models, model parity, NVML
#                                  sampler, CUPTI) and the gpu-marked docs examples (NVML, monitor, CUPTI)
#   search check    110 s  [~85 s] bench/gpu_search_check.py: candidates/s vs 1e10 (issue 11), CPU parity
#   sampler check   130 s  [~85 s] bench/gpu_check.py --quick: NVML sources, overhead, windows vs the energy
#                                  counter, attribution, CUPTI on the steady clock, mark() latency
#   model check      60 s  [~25 s] bench/gpu_model_check.py: CUDA evaluation parity, float32 throughput at 1e8
#   profiling check  90 s  [~80 s] bench/gpu_profiling_check.py (issue 15), where torch with CUDA and
#                                  transformers import
#   GPU-branch tests 100 s [~30 s] last (least needed): the tests that take another branch where a GPU is
#                                  present (capabilities, doctor, sampler, monitor, device choice, device errors)
# Typical total ~450 s. The limits sum to more than the deadline on purpose: a step never starts with under
# 20 s left and never runs past DEADLINE_S - 15, so a slow step shortens the later ones instead of the tool killing the call mid-write.
# A failed or timed-out step is recorded and the next one runs; a failed build skips what needs it, saying so.
# Last, a summary (bench/gpu_session_summary.py) says what passed, failed and was skipped and why, with the key
# figures: it is the end of the log (the tool's output_tail) and $OUT/summary.txt.
# Results land in $OUT (or ./gpu-results): gpu_session.log, summary.txt, gpu_check.json,
# gpu_check_trace.parquet, gpu_search_check.json, gpu_model_check.json, gpu_profiling_check.json (7 files; the
# tool brings back 8 at most). CuPy, torch and nvidia-ml-py are in the device image: carry nothing (a .whl
# folder, if present, is installed first).
# Without a GPU (here, to check the script): GPU_SESSION_SKIP_BUILD=1 bash bench/gpu_session.sh uses the
# installed energylens; every step then ends soon with its reason, and the summary says which.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-results}
mkdir -p "$OUT"
export OUT PYTHONUNBUFFERED=1
export ENERGYLENS_ENABLE_CUDA=ON
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH
PY=${PYTHON:-python3}
DEADLINE_S=${DEADLINE_S:-540}
WORK=$(mktemp -d)
STEPS="$WORK/steps.tsv"
: >"$STEPS"

record() {  # record NAME STATUS SECONDS LIMIT DETAIL: one row of the summary (with $ARTIFACT: the step's file)
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "${ARTIFACT:-}" >>"$STEPS"
}

step() {  # step SECONDS NAME COMMAND...: run with a time limit, record how it ended, never stop the script.
  # STOP_SIGNAL=INT for pytest: interrupted, it still writes its JUnit XML (energylens's SIGTERM handler turns a
  # TERM into one failed test, and pytest goes on to the next until the KILL, which writes nothing)
  local limit=$1 name=$2
  shift 2
  local left=$((DEADLINE_S - 15 - SECONDS))
  if [ "$left" -lt 20 ]; then
    echo "== $name: SKIPPED, ${left} s left of the ${DEADLINE_S} s budget =="
    record "$name" skipped 0 "$limit" "not started: ${left} s left of the ${DEADLINE_S} s session budget"
    return 99
  fi
  [ "$left" -lt "$limit" ] && limit=$left
  echo "== $name (limit ${limit} s; ${SECONDS} s into the session) =="
  local t0=$SECONDS
  if declare -F "$1" >/dev/null; then set -- bash -c "$1"; fi  # a function of this script (exported below)
  timeout --signal="${STOP_SIGNAL:-TERM}" --kill-after=10 "$limit" "$@"
  local rc=$?
  local took=$((SECONDS - t0))
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    echo "== $name: TIMED OUT after ${took} s (exit $rc) =="
    record "$name" timeout "$took" "$limit" "stopped at its ${limit} s limit"
  elif [ $rc -eq 0 ]; then
    echo "== $name: exit 0 after ${took} s =="
    record "$name" ok "$took" "$limit" ""
  else
    echo "== $name: FAILED, exit $rc after ${took} s =="
    record "$name" failed "$took" "$limit" "exit $rc"
  fi
  return $rc
}

budget_for() {  # budget_for LIMIT MAX: the seconds a check may plan for inside a step of LIMIT s (as step clamps
  local limit=$1 left=$((DEADLINE_S - 15 - SECONDS))  # it to the deadline), 15 s short of it, at most MAX
  [ "$left" -lt "$limit" ] && limit=$left
  local b=$((limit - 15))
  [ "$b" -gt "$2" ] && b=$2
  [ "$b" -lt 5 ] && b=5
  echo "$b"
}

skip() {  # skip NAME WHY
  echo "== $1: SKIPPED, $2 =="
  record "$1" skipped 0 0 "$2"
}

preflight() {
  if [ -d .whl ]; then timeout 30 $PY -m pip install -q --no-index --no-deps .whl/*.whl; fi  # first: checked below
  if command -v nvidia-smi >/dev/null; then
    timeout 20 nvidia-smi || echo "nvidia-smi failed or hung (exit $?)"
  else
    echo "nvidia-smi: not found (no NVIDIA driver on this machine?)"
  fi
  $PY -c "import sys, sysconfig, os; p = sysconfig.get_paths()['include']; print(sys.version); print(p, 'Python.h:', os.path.exists(os.path.join(p, 'Python.h')))"
  { nvcc --version | tail -2; } || echo "nvcc: not found (the build below will stop)"
  cmake --version | head -1
  g++ --version | head -1
  $PY -m pip list 2>/dev/null | grep -iE "^(scikit-build-core|pybind11|cmake|ninja|numpy|pandas|pyarrow|cupy|nvidia-ml-py|torch|transformers|pytest|hypothesis) "
  timeout 30 $PY -c "import cupy; print('cupy', cupy.__version__, 'devices:', cupy.cuda.runtime.getDeviceCount())" \
    || echo "cupy: not usable (gpu_check.py falls back to torch; gpu_model_check.py needs CuPy)"
  if timeout 30 $PY -c "import torch, transformers, sys; print('torch', torch.__version__, 'cuda:', torch.cuda.is_available(), 'transformers', transformers.__version__); sys.exit(0 if torch.cuda.is_available() else 1)"; then
    touch "$WORK/torch_ok"
  fi
  return 0
}

build() {
  if [ -n "${GPU_SESSION_SKIP_BUILD:-}" ]; then
    echo "GPU_SESSION_SKIP_BUILD set: using the installed energylens"
    return 0
  fi
  if $PY -m pip install --no-build-isolation --no-deps -v . >"$WORK/build.log" 2>&1; then
    grep -E "energylens: CUDA part|CUPTI|Successfully installed" "$WORK/build.log"
    return 0
  fi
  echo "BUILD FAILED; the end of its log:"
  tail -80 "$WORK/build.log"
  return 1
}

capabilities() {  # exit 0: the build sees a CUDA device; 3: it does not (the caps printed say why)
  $PY -c "import energylens, sys; c = energylens.capabilities(); print(c); sys.exit(0 if c.cuda_built and c.cuda_devices > 0 else 3)"
  local rc=$?
  timeout 60 $PY -m energylens doctor
  return $rc
}

summary() {
  timeout 30 $PY bench/gpu_session_summary.py --steps "$STEPS" -o "$OUT/summary.txt" \
    || { echo "the summary script failed (exit $?); the step table:"; cat "$STEPS"; }
}

export -f preflight build capabilities
export WORK PY

main() {
  echo "== energylens GPU session: $(date -u +%FT%TZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?'), deadline ${DEADLINE_S} s =="
  step 45 "preflight" preflight
  if ! step 240 "build" build; then
    skip "capabilities" "the build did not finish (above)"
  elif ! step 60 "capabilities" capabilities; then
    echo "the build cannot use a GPU here (capabilities above): the checks below run and say what they lack"
  fi
  local built
  built=$(awk -F'\t' '$1 == "build" {print $2 ($5 != "" ? ": " $5 : "")}' "$STEPS")
  if [ "$built" = "ok" ]; then
    STOP_SIGNAL=INT ARTIFACT="$WORK/gpu_tests.xml" step 100 "GPU tests" $PY -m pytest -q -p no:cacheprovider -o addopts="" -rsfE \
      --junitxml="$WORK/gpu_tests.xml" tests/gpu tests/test_docs_examples.py -m gpu
    ARTIFACT="$OUT/gpu_search_check.json" step 110 "search check" $PY bench/gpu_search_check.py \
      --budget-s "$(budget_for 110 95)" --out "$OUT/gpu_search_check.json"
    ARTIFACT="$OUT/gpu_check.json" step 130 "sampler check" $PY bench/gpu_check.py --quick \
      --budget-s "$(budget_for 130 100)" -o "$OUT/gpu_check.json"
    ARTIFACT="$OUT/gpu_model_check.json" step 60 "model check" $PY bench/gpu_model_check.py \
      -o "$OUT/gpu_model_check.json"
    if [ -e "$WORK/torch_ok" ]; then
      ARTIFACT="$OUT/gpu_profiling_check.json" step 90 "profiling check" $PY bench/gpu_profiling_check.py \
        -o "$OUT/gpu_profiling_check.json"
    else
      skip "profiling check" "torch with CUDA and transformers did not both import in the preflight (above)"
    fi
    STOP_SIGNAL=INT ARTIFACT="$WORK/branch_tests.xml" step 100 "GPU-branch tests" $PY -m pytest -q -p no:cacheprovider \
      -o addopts="" -m "not slow" -rsfE --junitxml="$WORK/branch_tests.xml" tests/test_capabilities.py \
      tests/search/test_search_device_choice.py tests/measure/test_sampler.py tests/measure/test_monitor.py \
      tests/cli/test_monitor_live.py tests/cli/test_doctor_rows.py tests/model/test_closed_form.py \
      "tests/search/test_search_api.py::test_device_path_without_a_gpu_says_why"
  else
    for name in "GPU tests" "search check" "sampler check" "model check" "profiling check" "GPU-branch tests"; do
      skip "$name" "needs the build, which did not pass (${built:-not recorded})"
    done
  fi
  summary
}

main 2>&1 | tee "$OUT/gpu_session.log"
rm -rf "$WORK"

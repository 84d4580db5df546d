#!/usr/bin/env bash
# The whole device check for a lent H100/H200, in one call of the device tool (which stops a command at
# 600 s; each step below has its own time limit (typical runs far shorter) and all of them end by
# DEADLINE_S = 570 s, so one slow step shortens the later ones instead of the tool killing the call):
# preflight (Python headers, compilers), build and install energylens with the CUDA part forced on (no
# package index there: --no-build-isolation --no-deps against the image's packages; a build without CUDA
# stops here instead of skipping every check), the GPU tests, the sampler's hardware targets
# (bench/gpu_check.py), the search engine's device rate (bench/gpu_search_check.py, which sizes its space
# from a first pass and writes its JSON after every stage), the model's CUDA parity and throughput
# (bench/gpu_model_check.py) and, where torch with CUDA and transformers import, the profiling check
# (bench/gpu_profiling_check.py, JSON after each stage). A failed or timed-out step is reported and the
# next one runs. Call it with the device tool's timeout_s at 600.
# Results land in $OUT (or ./gpu-results). CuPy, torch and nvidia-ml-py are in the device image: carry
# nothing (a .whl folder, if present, is installed first).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-results}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
export ENERGYLENS_ENABLE_CUDA=ON
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH

# The device tool stops the whole call at 600 s: every step ends by DEADLINE_S (counted from the start, 15 s
# kept for timeout's SIGKILL grace and the log), whatever its own limit, so a slow build or step shortens the
# steps after it instead of the tool killing one mid-write. The steps run most-needed first.
DEADLINE_S=${DEADLINE_S:-570}

step() {  # step SECONDS NAME COMMAND...: run with a time limit, say how it ended, never stop the script
  local limit=$1 name=$2
  shift 2
  local left=$((DEADLINE_S - 15 - SECONDS))
  if [ "$left" -lt 20 ]; then
    echo "== $name: SKIPPED, ${left} s left of the ${DEADLINE_S} s budget =="
    return 0
  fi
  [ "$left" -lt "$limit" ] && limit=$left
  echo "== $name (limit ${limit} s; ${SECONDS} s into the session) =="
  local t0=$SECONDS
  timeout --kill-after=10 "$limit" "$@"
  local rc=$?
  local how=""
  { [ $rc -eq 124 ] || [ $rc -eq 137 ]; } && how=", TIMED OUT"
  echo "== $name: exit $rc after $((SECONDS - t0)) s$how =="
  return 0
}

{
  echo "== preflight =="
  nvidia-smi || true
  python3 -c "import sys, sysconfig, os; p = sysconfig.get_paths()['include']; print(sys.version); print(p, 'Python.h:', os.path.exists(os.path.join(p, 'Python.h')))"
  nvcc --version | tail -2 || echo "nvcc: not found (the build below will stop)"
  cmake --version | head -1; g++ --version | head -1
  if [ -d .whl ]; then python3 -m pip install -q --no-index --no-deps .whl/*.whl; fi
  echo "== build (CUDA forced on) =="
  time timeout 240 python3 -m pip install -q --no-build-isolation --no-deps . || { echo "BUILD FAILED"; exit 1; }
  python3 -c "import energylens, sys; c = energylens.capabilities(); print(c); sys.exit(0 if c.cuda_built and c.cuda_devices > 0 else 3)" \
    || { echo "the build cannot use the GPU (capabilities above): stopping"; exit 1; }
  energylens doctor
  step 90 "GPU tests" python3 -m pytest -q -p no:cacheprovider -o addopts="" tests/gpu tests/model/test_closed_form.py -rs
  step 150 "sampler hardware targets" python3 bench/gpu_check.py --quick -o "$OUT/gpu_check.json"
  step 100 "search device rate" python3 bench/gpu_search_check.py --out "$OUT/gpu_search_check.json"
  step 60 "model CUDA parity and throughput" python3 bench/gpu_model_check.py -o "$OUT/gpu_model_check.json"
  # Issue 15: transformers-backend prefill + decode vs the measured total (needs CUDA torch + transformers).
  if python3 -c "import torch, transformers" 2>/dev/null; then
    step 90 "profiling check" python3 bench/gpu_profiling_check.py -o "$OUT/gpu_profiling_check.json"
  else
    echo "gpu_profiling_check: skipped (torch with CUDA and transformers are not installed)"
  fi
} 2>&1 | tee "$OUT/gpu_session.log"

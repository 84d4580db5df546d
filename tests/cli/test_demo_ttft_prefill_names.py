"""The demo prints the energy model's eta_prefill (0.2286 at the default seed) in its parameter table, then its
search said TTFT is the roofline's prefill "with eta_prefill and prefill_batch_factor at their start values":
the same name, fitted a few lines above, now called unfitted. The TTFT is the latency model's, whose own
eta_prefill (0.725) is the unfitted one; the sentence now names that model and gives the values it used."""

from __future__ import annotations

import io
import re

from energylens.cli.demo import run_demo


def test_the_ttft_sentence_names_the_latency_models_own_prefill_values():
    out = io.StringIO()
    assert run_demo(compare=False, out=out, train_size=40) == 0
    text = out.getvalue()
    energy_eta = float(re.search(r"^eta_prefill +(\S+)", text, re.M).group(1))
    m = re.search(r"the latency model's eta_prefill ([\d.]+) and prefill_batch_factor ([\d.]+)", text)
    assert m, re.search(r"TTFT not fitted.*", text).group(0)
    latency_eta = float(m.group(1))
    assert abs(latency_eta - energy_eta) > 0.01  # two parameters, two values: the sentence tells them apart
    assert "not the energy model's" in text

"""Prediction and search calls from several threads on one model give what the same calls give serially,
bit for bit (a scheduler's request threads share one model)."""

from __future__ import annotations

import threading

import numpy as np

import energylens
from energylens.model import EnergyModel
from energylens.profiles.datasets import mlenergy_v2
from energylens.profiles.features import build_features


def test_threads_sharing_one_model_get_the_serial_results():
    data = mlenergy_v2()
    model = EnergyModel(bootstrap=20, seed=0).fit(data.sample(60, random_state=0))
    rows = data.iloc[::7]
    feats = {k: np.asarray(v, dtype=float) for k, v in build_features(rows).items()}
    candidates = rows[["model", "gpu", "tp", "pp", "batch_size", "input_tokens", "output_tokens"]].iloc[:8]
    calls = {
        "predict": lambda: model.predict(rows, check_range=False),
        "features": lambda: model.predict_features(feats),
        "interval": lambda: model.predict_interval(rows).to_numpy(),
        "latency": lambda: model.latency_model.predict(rows, check_range=False).to_numpy(),
        "search": lambda: energylens.search(candidates=candidates, energy_model=model, bootstrap=False,
                                            top=3).top["energy_j"].to_numpy(),
    }
    serial = {name: call() for name, call in calls.items()}
    names = list(calls)
    errors, mismatches = [], []

    def work(k: int) -> None:
        for i in range(12):
            name = names[(k + i) % len(names)]
            try:
                got = calls[name]()
            except Exception as exc:  # noqa: BLE001 - what the test looks for
                errors.append((name, exc))
                continue
            if not np.array_equal(np.asarray(got), np.asarray(serial[name]), equal_nan=True):
                mismatches.append(name)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors[:3]
    assert not mismatches, mismatches

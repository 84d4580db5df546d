"""The search across scale-up domains (docs/search.md, "Topology"): each GPU's domain from the GPU table
bounds TP (reason tp_node) and decides which PP boundaries and EP all-to-alls go over the scale-out NIC;
the node-size override; the native engine against the NumPy brute force on spaces with multi-domain
candidates; the CLI end to end."""

import json

import numpy as np
import pytest
from test_search_exact import _assert_same_memory, _assert_same_up_to_ties, _random_params

from energylens import _core
from energylens.cli.main import main
from energylens.model import reference
from energylens.profiles.features import build_features
from energylens.search import build_space
from energylens.search import search as run_search
from energylens.search.api import native_options, run_engine
from energylens.search.oracle import brute_force

GPUS = ["H100", "GB200", "H100 NVL", "L40S", "MI300X", "B300"]
MODELS = ["Qwen/Qwen3-30B-A3B", "llama-3.1-70b", "llama-3.1-8b"]


def _evaluate(space, model, options=None):
    opts = {**native_options(), **(options or {})}
    idx = np.arange(space.size, dtype=np.uint64)
    return _core.search_evaluate(*space.native_args(), model.theta, model.latency_model.theta, opts, idx)


def test_nvl_bridge_pairs_run_tp_across_their_pcie_server(model):
    """H100 NVL (NVLink bridge pairs, domain 2) in an 8-card server: TP4 and TP8 are deployments (their
    all-reduce leaves the pair, at min(link, scale-out)); TP16 is not. The block path (search_run) prices them
    as the per-candidate path and the brute force do."""
    space = build_space("llama-3.1-70b", "H100 NVL", input_tokens=512, output_tokens=256, tp=[2, 4, 8, 16],
                        max_num_seqs=[8, 64])
    c = _evaluate(space, model)
    names = dict(zip(space.decode(c.index)["tp"].astype(int), (_core.search_reason_names()[r] if r >= 0 else "ok"
                                                             for r in c.reason), strict=False))
    assert names[4] != "tp_node" and names[8] != "tp_node" and names[16] == "tp_node"
    row = space.point_profiles(space.points(np.array([2])).reshape(-1))  # tp 4
    f = build_features(row)
    assert f["link_bytes_per_s"][0] == min(f["scale_out_bytes_per_s"][0], 300e9)
    theta, phi = model.theta, model.latency_model.theta
    out = run_engine(space, theta, phi, {**native_options(top=20), "threads": 1})
    ref = brute_force(space, theta, phi, top_k=20)
    np.testing.assert_allclose(out.top.objective, ref["top"]["objective"], rtol=1e-10)
    _assert_same_memory(out, ref)
    assert set(space.decode(out.top.index)["tp"].astype(int)) >= {4, 8}


def test_gb200_domain_allows_tp16_where_h100_rejects_it(model):
    space = build_space("llama-3.1-70b", ["H100", "GB200"], input_tokens=512, output_tokens=256, tp=[8, 16],
                        max_num_seqs=[8])
    c = _evaluate(space, model)
    names = [(_core.search_reason_names()[r] if r >= 0 else "ok") for r in c.reason]
    got = dict(zip(map(tuple, space.decode(c.index)[["gpu", "tp"]].astype(str).to_numpy()), names, strict=True))
    assert got[("H100-SXM5-80GB", "16")] == "tp_node"
    assert got[("GB200", "16")] == "ok" and got[("GB200", "8")] == "ok" and got[("H100-SXM5-80GB", "8")] == "ok"
    res = run_search("llama-3.1-70b", ["H100", "GB200"], input_tokens=512, output_tokens=256, tp=[8, 16],
                     max_num_seqs=[8], energy_model=model, bootstrap=False)
    assert res.rejected["tp_node"] == 1
    assert ((res.top["gpu"] == "GB200") & (res.top["tp"] == 16)).any()


def test_node_size_override(model):
    space = build_space("llama-3.1-70b", ["H100", "GB200"], input_tokens=512, output_tokens=256, tp=[8, 16],
                        max_num_seqs=[8])
    for node, rejected in ((16, 0), (8, 2), (4, 4)):
        c = _evaluate(space, model, {"node_size": node})
        assert int(np.sum(c.reason == 1)) == rejected, node  # tp_node
    res = run_search("llama-3.1-70b", "H100", input_tokens=512, output_tokens=256, tp=[16], max_num_seqs=[8],
                     node_size=16, energy_model=model, bootstrap=False)
    assert res.rejected["tp_node"] == 0 and res.settings["node_size"] == 16 and res.top["domains"].tolist() == [1]
    with pytest.raises(ValueError, match="node_size must be a whole number"):
        run_search("llama-3.1-70b", "H100", input_tokens=512, output_tokens=256, node_size=0, energy_model=model)


def _ep16(model, gpu, node_size=None):
    """The 16-GPU TP1 DP16 EP16 deployment of Qwen3-30B-A3B on `gpu`: its search result row and the
    all-to-all time per decode step of its features (reference template, the model's latency parameters)."""
    res = run_search("Qwen/Qwen3-30B-A3B", gpu, input_tokens=1024, output_tokens=512, tp=[1], dp=[16], ep=[16],
                     max_num_seqs=[64], node_size=node_size, energy_model=model, bootstrap=False)
    row = res.top.iloc[0]
    frame = row[["model", "gpu", "tp", "pp", "dp", "ep", "input_tokens", "output_tokens"]].to_frame().T
    frame = frame.assign(batch_size=16 * 64.0, params_b=30.5)
    if node_size:
        frame["scale_up_domain_gpus"] = node_size
    f = build_features(frame)
    eta_c, eta_m, s, eta_pf, tau_l, alpha, tau_s, th_pp = model.latency_model.theta[:8]
    t = reference._core(f, eta_c, eta_m, s, eta_pf, tau_l * 1e-6, alpha * 1e-6, tau_s * 1e-6, th_pp)
    return row, t["t_a2a"][0], f


def test_ep_group_across_nodes_costs_more_than_inside_one_domain(model):
    h100, t_h100, f_h100 = _ep16(model, "H100")
    h100_one, t_h100_one, _ = _ep16(model, "H100", node_size=16)  # the same GPUs in one 16-GPU domain
    gb200, t_gb200, f_gb200 = _ep16(model, "GB200")
    assert h100["domains"] == 2 and h100_one["domains"] == 1 and gb200["domains"] == 1
    assert f_h100["a2a_bytes_per_s"][0] == pytest.approx(1 / (0.5 / 450e9 + 0.5 / 50e9))  # half at 50 GB/s
    np.testing.assert_array_equal(f_gb200["a2a_bytes_per_s"], f_gb200["link_bytes_per_s"])
    assert t_h100 > t_h100_one and t_h100 > t_gb200
    # crossing, not the link, makes the gap: GB200's NVLink is 2x H100's (inside one domain the all-to-alls
    # differ by that), while half the bytes over 50 GB/s scale-out cost 4x more than that on top
    assert t_h100 - t_h100_one > 4 * (t_h100_one - t_gb200) > 0
    assert h100["energy_j"] > h100_one["energy_j"] and h100["tpot_s"] > h100_one["tpot_s"]


def _random_space(rng, max_size):
    while True:
        kw = dict(
            gpus=list(rng.choice(GPUS, rng.integers(1, 4), replace=False)),
            tp=sorted(rng.choice([1, 2, 4, 8, 16], rng.integers(1, 4), replace=False).tolist()),
            pp=sorted(rng.choice([1, 2, 3, 4, 8], rng.integers(1, 4), replace=False).tolist()),
            dp=sorted(rng.choice([1, 2, 4, 8, 16], rng.integers(1, 4), replace=False).tolist()),
            ep=[1] + sorted(rng.choice([2, 4, 8, 16, 32], rng.integers(1, 3), replace=False).tolist()),
            max_num_seqs=sorted(rng.choice([1, 8, 32, 128, 512], rng.integers(1, 4), replace=False).tolist()),
            input_tokens=rng.integers(16, 4096, rng.integers(1, 3)).tolist(),
        )
        kw["output_tokens"] = rng.integers(8, 1024, len(kw["input_tokens"])).tolist()
        try:
            space = build_space(list(rng.choice(MODELS, rng.integers(1, 3), replace=False)), **kw)
        except ValueError:
            continue
        if space.size <= max_size:
            return space


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("threads", [1, 2])
def test_multi_domain_spaces_match_brute_force(model, seed, threads):
    rng = np.random.default_rng(500 + seed)
    for _ in range(20):  # until a space prices a candidate (seed 0's first rejects all: an empty top-k compared)
        space = _random_space(rng, 20_000)
        theta, phi = _random_params(model, rng)
        opts = {"top": int(rng.integers(1, 25))}
        if rng.random() < 0.5:
            opts["tpot_limit_s"] = float(rng.uniform(0.02, 0.3))
        if seed % 3 == 2:
            opts["node_size"] = int(rng.choice([4, 16, 32]))
        space.node_size = opts.get("node_size", 0)
        options = {**native_options(**opts), "threads": threads}
        out = run_engine(space, theta, phi, options)
        ref = brute_force(space, theta, phi, **{("top_k" if k == "top" else k): v for k, v in opts.items()})
        assert dict(zip(ref["rejected"], map(int, out.rejected), strict=True)) == ref["rejected"]
        assert out.feasible == ref["feasible"]
        _assert_same_up_to_ties(space, theta, phi, options, out.top.index, ref["top"]["index"], err_msg="top")
        np.testing.assert_allclose(out.top.objective, ref["top"]["objective"], rtol=1e-10)
        _assert_same_memory(out, ref)
        for name, front in (("front_tpot", out.front_tpot), ("front_ttft", out.front_ttft)):
            _assert_same_up_to_ties(space, theta, phi, options, front.index, ref[name]["index"],
                                    name.replace("front_", "") + "_s", err_msg=name)
        if out.feasible > 0:
            break
    # the space has candidates that leave a domain, and some of them are priced (not all rejected)
    assert out.feasible > 0 and len(out.top.index) == min(opts["top"], out.feasible)
    dec = space.decode(np.arange(space.size))
    domain = opts.get("node_size") or dec["gpu"].map(lambda g: {"GB200": 72, "H100-NVL-94GB": 2}.get(g, 8))
    crossing = dec["tp"] * dec["pp"] * dec["dp"] > domain
    assert crossing.any()


def test_cli_shows_multi_domain_candidates_and_reasons(capsys):
    args = ["search", "--model", "deepseek-ai/DeepSeek-V3", "--gpus", "H200,GB200", "--precision", "fp8", "--tp",
            "8,16", "--dp", "1,2,4", "--ep", "1,16,32", "--input-tokens", "1024", "--output-tokens", "512", "--top", "60"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "rejected: tp_node 81," in out  # H200 at TP16: 3 dp x 3 ep x 9 batches (GB200 runs it)
    header = next(line for line in out.splitlines() if "J/request" in line)
    assert "GPUs  domains" in header
    assert main([*args, "--json"]) == 0
    top = json.loads(capsys.readouterr().out)["top"]
    spans = {(r["gpu"], r["tp"] * r["dp"], r["domains"]) for r in top}
    assert ("H200-SXM-141GB", 16, 2) in spans and ("H200-SXM-141GB", 32, 4) in spans  # multi-node, priced
    assert ("GB200", 32, 1) in spans or ("GB200", 64, 1) in spans  # one NVL72 domain


def test_cli_node_size_override(capsys):
    args = ["search", "--model", "meta-llama/Llama-3.1-70B-Instruct", "--gpus", "H100", "--tp", "8,16",
            "--max-num-seqs", "8", "--input-tokens", "512", "--output-tokens", "256"]
    assert main(args) == 0
    assert "rejected: tp_node 1" in capsys.readouterr().out
    assert main([*args, "--node-size", "16", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["rejected"]["tp_node"] == 0 and doc["settings"]["node_size"] == 16
    assert {r["tp"] for r in doc["top"]} == {8, 16}

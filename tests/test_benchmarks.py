"""The benchmark scripts run on a real (tiny) trained model and write their reports.

No timing is asserted: only what does not depend on the machine (file sizes, parameter counts, the
report's structure). The numbers themselves live in docs/results/.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _table(md: str):
    return [[c.strip() for c in line.strip("|").split("|")] for line in md.splitlines()
            if line.startswith("| ") and not line.startswith("|---")]


def test_export_footprint_shrinks_with_depth(tiny_recipe, tmp_path):
    exp = tiny_recipe["exp"]
    _run("export_footprint.py", "--data", str(tiny_recipe["data"] / "test"),
         "--asr_train_config", str(exp / "config.yaml"), "--asr_model_file", str(exp / "valid.loss.best.pth"),
         "--depths", "4,2", "--max_utts", "2", "--repeats", "1", "--out_dir", str(tmp_path))
    md = (tmp_path / "export_footprint.md").read_text()
    assert (tmp_path / "export_footprint.png").stat().st_size > 0
    assert re.search(r"- date: .*; commit \w+", md) and "- command (from " in md
    header, full, half = _table(md)
    assert header[0] == "depth" and [full[0], half[0]] == ["4", "2"]
    assert float(full[2]) == 1.0 and 0.3 < float(half[2]) < 0.9      # model.pth size ratio
    assert int(half[3].replace(",", "")) < int(full[3].replace(",", ""))  # parameters


def test_export_footprint_rejects_a_depth_out_of_range(tiny_recipe, tmp_path):
    exp = tiny_recipe["exp"]
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "export_footprint.py"),
                           "--data", str(tiny_recipe["data"] / "test"), "--asr_train_config", str(exp / "config.yaml"),
                           "--asr_model_file", str(exp / "valid.loss.best.pth"), "--depths", "9",
                           "--out_dir", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "--depths must be in [1, 4], got 9" in done.stderr
    assert not (tmp_path / "export_footprint.md").exists()


def test_train_step_cost_reports_every_trained_model(tiny_recipe, tmp_path):
    out = tmp_path / "train_cost.md"
    _run("train_step_cost.py", "--exp_dir", str(tiny_recipe["work"] / "exp"), "--data",
         str(tiny_recipe["data"] / "train"), "--reference", "train_tiny", "--batch_seconds", "4",
         "--num_batches", "1", "--repeats", "1", "--out", str(out))
    rows = _table(out.read_text())
    assert rows[0][:3] == ["model", "GFLOP / update", "s / update fp32"] and rows[1][0] == "train_tiny"
    assert float(rows[1][1]) > 0 and float(rows[1][2]) > 0       # FLOPs counted, update timed
    cost = rows[rows.index(next(r for r in rows if r[0] == "model" and "updates" in r)) + 1]
    assert cost[0] == "train_tiny" and int(cost[1]) > 0          # updates read from the training log
    assert cost[5] == "1.00"                                     # the reference against itself


def test_train_step_cost_times_configs_in_both_precisions(tiny_recipe, tmp_path):
    from tiny_recipe import TINY_CONFIG

    out = tmp_path / "step.md"
    token_list = tiny_recipe["data"] / "token_list" / "char" / "tokens.txt"
    _run("train_step_cost.py", "--configs", str(TINY_CONFIG), "--token_list", str(token_list),
         "--data", str(tiny_recipe["data"] / "train"), "--batch_seconds", "4", "--num_batches", "1",
         "--repeats", "1", "--precisions", "fp32", "bf16", "--out", str(out))
    rows = _table(out.read_text())
    assert rows[0] == ["model", "GFLOP / update", "s / update fp32", "s / update bf16", "bf16 speed-up",
                       "GFLOP/s fp32 (% of peak)", "GFLOP/s bf16 (% of peak)"]
    assert rows[1][0] == TINY_CONFIG.stem and rows[1][4].endswith("x")
    assert "peak: a 1024x1024 matrix product" in out.read_text()


def test_profile_train_step_splits_a_real_update(tiny_recipe, tmp_path):
    from tiny_recipe import TINY_CONFIG, train_argv

    out = tmp_path / "profile.md"
    _run("profile_train_step.py", "--updates", "2", "--warmup", "1", "--out", str(out), "--",
         *[a for a in train_argv(tiny_recipe["work"], TINY_CONFIG, tmp_path / "unused") if a != "--output_dir"
           and a != str(tmp_path / "unused")])
    text = out.read_text()
    espnet_split, by_operation = text.split("## By operation")
    rows = {r[0]: float(r[1].split()[0].strip("*")) for r in _table(espnet_split) if r[0] != "part"}
    assert {"data loading (iter_time)", "forward (forward_time)", "backward (backward_time)"} <= set(rows)
    wall = rows.pop("**wall time of an update**")
    assert wall > 0 and sum(rows.values()) == pytest.approx(wall, abs=0.002)  # the parts add up
    rows = {r[0]: float(r[1].split()[0].strip("*")) for r in _table(by_operation.split("## Top")[0])
            if r[0] != "category"}
    assert "front-end convolutions (2-D)" in rows and "optimizer (Adam) and gradient clipping" in rows
    wall = rows.pop("**wall time of a profiled update**")
    assert sum(rows.values()) == pytest.approx(wall, rel=0.05)


def test_time_to_accuracy_plots_each_run_and_scores_its_averaged_model(tiny_recipe, tmp_path):
    out, plot = tmp_path / "t2a.md", tmp_path / "t2a.png"
    _run("time_to_accuracy.py", "--run", f"tiny={tiny_recipe['exp']}", "--run", f"tiny alone={tiny_recipe['exp']}@30",
         "--data", str(tiny_recipe["data"] / "dev"), "--depths", "4", "2", "--out", str(out), "--plot", str(plot))
    rows = _table(out.read_text())
    assert rows[0][0] == "run" and [r[0] for r in rows[1:]] == ["tiny", "tiny alone"]
    assert rows[1][3] == "logged" and rows[2][3] == "alone, estimated"
    assert float(rows[2][2]) == pytest.approx(2 * 30 / 60, abs=0.05)  # 2 epochs at 30 s each
    assert len(rows[1][5].split(" / ")) == 2 and plot.stat().st_size > 0


def test_time_to_accuracy_refuses_an_unfinished_run(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "time_to_accuracy.py"), "--run",
                           f"x={tmp_path}", "--data", str(tmp_path), "--out", str(tmp_path / "o.md"),
                           "--plot", str(tmp_path / "o.png")], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "train.log does not exist (is the training finished?)" in done.stderr


def test_paired_bootstrap_of_the_accuracy_study_resolves_a_real_gap_and_not_noise():
    sys.path.insert(0, str(REPO / "benchmarks"))
    from collect_accuracy import paired_bootstrap, verdict

    import numpy as np

    rng = np.random.default_rng(0)
    words = rng.integers(5, 15, size=300).astype(float)
    # seeds of one model share which utterances are hard; each seed gains or loses an error here and there
    hard = rng.binomial(words.astype(int), 0.05).astype(float)

    def seeds():
        return [np.maximum(hard + rng.choice([-1] + [0] * 28 + [1], size=300), 0) for _ in range(3)]

    base, same = seeds(), seeds()
    worse = [b + rng.binomial(words.astype(int), 0.03) for b in base]  # 3 points more errors
    point, lo, hi = paired_bootstrap(same, base, words, draws=500)
    assert lo < 0 < hi and verdict(lo, hi) == "holds"
    point, lo, hi = paired_bootstrap(worse, base, words, draws=500)
    assert 2.0 < point < 4.0 and lo > 0.5 and verdict(lo, hi) == "fails"
    assert verdict(lo, hi, better=True) == "fails" and verdict(-1.0, -0.2, better=True) == "holds"


def test_data_driven_sizes_meet_individual_models_interpolated_at_their_parameter_count():
    from collect_accuracy import matched_bootstrap, matched_weights, wer_interval

    import numpy as np

    words = np.full(4, 10.0)
    by_depth = {3: [np.array([4.0, 4, 4, 4])], 6: [np.array([2.0, 2, 2, 2]), np.array([0.0, 0, 0, 0])]}
    params = {3: 1_000, 6: 2_000, 12: 4_000}  # no 12-layer model decoded yet

    def individual(d):
        return by_depth.get(d)
    weights, how = matched_weights(1_250, params, individual)
    assert how == "0.75 x 3 layers + 0.25 x 6 layers" and weights == {3: 0.75, 6: 0.25}
    _, how = matched_weights(3_000, params, individual)
    assert how.startswith("nearest: 6 layers")  # nothing decoded above it
    assert matched_weights(2_000, params, individual) == ({6: 1.0}, "6 layers (2,000, equal)")
    # Two seeds of a supernet keeping different parameter counts at one size: each is matched at its own.
    # Individual: 3 layers 40%, 6 layers 10% (its two seeds' mean); seed A at 1,250 meets 32.5%, seed B at
    # 2,000 meets 10%; the supernet's seeds score 30% and 10%: a - b = 20 - 21.25.
    a = [np.full(4, 3.0), np.full(4, 1.0)]
    point, lo, hi = matched_bootstrap(a, [{3: 0.75, 6: 0.25}, {6: 1.0}], individual, words, draws=200)
    assert point == pytest.approx(-1.25) and lo <= point <= hi
    lo, hi = wer_interval(by_depth[6], words, draws=300)
    assert 0.0 <= lo <= 10.0 <= hi <= 20.0  # seeds at 0% and 20%: the interval spans them


def test_ffn_forms_times_both_forms_in_decoding_and_training(tmp_path):
    out = tmp_path / "ffn.md"
    _run("ffn_forms.py", "--channels", "8", "--hidden", "16", "--frames", "10", "20", "--batches", "2x8",
         "--repeats", "1", "--out", str(out))
    rows = _table(out.read_text())
    decode = [r for r in rows if r[0] in ("10", "20")]
    train = [r for r in rows if r[0] == "2x8"]
    assert len(decode) == 2 and len(train) == 2 and {r[1] for r in train} == {"fp32", "bf16 autocast"}
    assert all(float(r[3]) > 0 and float(r[6]) > 0 for r in decode)


def test_startup_time_compares_both_ways_of_registering(tmp_path):
    out = tmp_path / "startup.md"
    _run("startup_time.py", "--modules", "espnet_layerprune.bin.train_ngram", "--repeats", "1", "--out", str(out))
    header, row = _table(out.read_text())
    assert header[2:] == ["loads espnet2.tasks.asr", "as is, s", "eager, s", "ratio"]
    assert row[0] == "`espnet_layerprune.bin.train_ngram`" and row[2] == "no"
    assert float(row[3]) > 0 and float(row[4]) > 0 and float(row[5]) > 0  # timed both ways (no timing claim here)


def test_startup_time_refuses_no_repeats(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "startup_time.py"), "--repeats", "0",
                           "--out", str(tmp_path / "s.md")], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "--repeats must be >= 1, got 0" in done.stderr


def test_accuracy_claims_separate_deep_supervision_from_weight_sharing():
    sys.path.insert(0, str(REPO / "benchmarks"))
    from collect_accuracy import claims_to_test, compared_with_supernet

    import numpy as np

    per_model = {("baseline", 12): 3, ("baseline", 6): 50, ("individual6", 6): 5, ("individual6_ictc", 6): 4,
                 ("individual6_ictc", 3): 9, ("individual3", 3): 7, ("supernet", 12): 3, ("supernet", 6): 6,
                 ("supernet", 3): 10, ("simple_top_k", 12): 3, ("simple_top_k", 6): 30}

    def errors(model, depth):
        return [np.full(4, per_model[model, depth])] if (model, depth) in per_model else []

    rows = ["baseline", "individual3", "individual6", "individual6_ictc", "supernet", "simple_top_k"]
    label = {"supernet": "supernet", "individual6_ictc": "individual 6 layers + interCTC"}
    found = {(c[0], c[1], c[2], c[3]): (c[4][0][0], c[5][0][0]) for c in claims_to_test(errors, rows, [12, 6, 3], label)}
    assert found[("paper 2: full supernet slightly better", "supernet", "individual 12", 12)] == (3, 3)
    assert found[("paper 1: pruned = individual", "supernet", "individual 6", 6)] == (6, 5)
    assert found[("deep supervision alone", "individual 6 layers + interCTC", "individual 6", 6)] == (4, 5)
    assert found[("interCTC without stochastic depth, pruned", "individual 6 layers + interCTC", "individual 3", 3)] == (9, 7)
    # Weight sharing is measured against the same depth trained alone with interCTC, where one exists.
    assert found[("shared = trained alone with interCTC", "supernet", "individual 6 layers + interCTC", 6)] == (6, 4)
    assert not [k for k in found if k[0] == "shared = trained alone with interCTC" and k[3] != 6]
    assert found[("plain model pruned", "baseline", "individual 6", 6)] == (50, 5)
    # A data-driven supernet enters the depth comparisons at full depth only (its cuts were never trained).
    assert found[("paper 2: full supernet slightly better", "simple_top_k", "individual 12", 12)] == (3, 3)
    assert not [k for k in found if k[1] == "simple_top_k" and k[3] != 12]
    # Stochastic depth's own share: the supernet's config without it (the full-depth interCTC model) is
    # compared with the supernet like its variants; an interCTC model of another depth is not.
    rows += ["individual12_ictc", "supernet_distill"]
    assert compared_with_supernet(rows, 12) == ["individual12_ictc", "supernet_distill"]

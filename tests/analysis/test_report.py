"""The report of decodes: decode directories found and scored, the learning curve read from train.log."""

import json

import pytest
import yaml

from espnet_layerprune.analysis.report import curve_columns, find_decodes, learning_curve, score, write_report

TRAIN_LOG = """\
[host] 2026-12-01 10:00:00,000 (trainer:310) INFO: 1/2epoch started
[host] 2026-12-01 10:05:00,000 (trainer:338) INFO: 1epoch results: [train] iter_time=0.1, loss=50.0 \
[valid] loss=40.0, cer_ctc=0.5, wer_ctc=0.9, cer_interctc_layer1=0.7, wer_interctc_layer1=1.0, time=1.0
[host] 2026-12-01 10:11:00,000 (trainer:338) INFO: 2epoch results: [train] loss=30.0 \
[valid] loss=20.0, cer_ctc=0.25, wer_ctc=0.5, cer_interctc_layer1=0.4, wer_interctc_layer1=nan, time=1.0
"""


def _decode(root, depth, hyps, seconds=2.0, jobs=1):
    """A decode as this package's run.sh (one directory) or asr.sh (logdir/output.N jobs) writes it."""
    info = {"request": {"prune_depth": depth}, "kept_layers": list(range(1, depth + 1)),
            "kept_units": list(range(1, depth + 1)), "num_layers": 2, "source": "default rule",
            "encoder_params_kept": 100 * depth, "encoder_params_total": 200, "decode_seconds": seconds}
    keys = sorted(hyps)
    for job in range(jobs):
        out = root / "logdir" / f"output.{job + 1}" if jobs > 1 else root
        (out / "1best_recog").mkdir(parents=True)
        (out / "pruning.yaml").write_text(yaml.safe_dump(info))
        (out / "1best_recog" / "text").write_text("".join(f"{k} {hyps[k]}\n" for k in keys[job::jobs]))


@pytest.fixture
def exp(tmp_path):
    data = tmp_path / "data" / "test"
    data.mkdir(parents=True)
    (data / "text").write_text("u1 the cat\nu2 a dog\n")
    (data / "utt2dur").write_text("u1 1.5\nu2 2.5\n")
    exp = tmp_path / "exp" / "asr_tiny"
    _decode(exp / "decode" / "test" / "depth2", 2, {"u1": "the cat", "u2": "a dog"})
    _decode(exp / "decode_prune_depth1" / "test", 1, {"u1": "the hat", "u2": ""}, jobs=2)
    (exp / "train.log").write_text(TRAIN_LOG)
    return exp, data


def test_decodes_are_found_in_both_layouts_and_scored_with_jiwer(exp):
    exp, data = exp
    decodes = {d.request: d for d in find_decodes(exp)}
    assert set(decodes) == {"depth 1", "depth 2"}
    assert decodes["depth 1"].root == exp / "decode_prune_depth1" / "test"  # two jobs, one decode
    refs = {"u1": "the cat", "u2": "a dog"}
    for d in decodes.values():
        score(d, refs)
    assert (decodes["depth 2"].wer, decodes["depth 1"].wer) == (0.0, 75.0)  # 1 sub + 2 del of 4 words
    assert json.loads((decodes["depth 1"].root / "score.json").read_text())["ref_words"] == 4


def test_a_missing_hypothesis_is_an_error_not_a_better_score(exp):
    exp, data = exp
    (d,) = [d for d in find_decodes(exp) if d.request == "depth 2"]
    with pytest.raises(ValueError, match="1 utterances have no hypothesis"):
        score(d, {"u1": "the cat", "u2": "a dog", "u3": "more"})


def test_learning_curve_reads_the_validation_stats_per_epoch(exp):
    exp, _ = exp
    rows = learning_curve(exp / "train.log")
    assert [(r["epoch"], r["seconds"]) for r in rows] == [(1, 300.0), (2, 660.0)]
    assert rows[1]["wer_ctc"] == 0.5 and "wer_interctc_layer1" not in rows[1]  # nan is left out
    assert curve_columns(rows) == ["wer_ctc", "wer_interctc_layer1"]


def test_the_report_has_a_row_per_decode_the_rtf_and_the_curve(exp):
    exp, data = exp
    out = exp / "RESULTS.md"
    text = write_report(exp, data, out, title="tiny")
    assert out.read_text() == text and text.startswith("# RESULTS: tiny")
    rows = [line for line in text.splitlines() if line.startswith("| depth")]
    assert [r.split("|")[1].strip() for r in rows] == ["depth 2", "depth 1"]
    assert "| 0.5000 |" in rows[0]  # 2 s of decoding for 4 s of audio
    assert "## Learning curve" in text and (exp / "results_by_depth.png").stat().st_size > 0
    assert (exp / "learning_curve.png").is_file()

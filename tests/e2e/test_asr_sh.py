"""ESPnet's own, unchanged ``asr.sh`` trains our supernet and decodes it at two depths.

``egs2/synth_en/asr1/local/asr_sh.sh`` runs the template's ``asr.sh`` (fetched from the
espnet sdist by ``tools/get_espnet_template.sh`` into ``.cache/``) on the tiny synth_en
corpus of the ``tiny_recipe`` fixture: stages 2-13 with ``encoder: prunable_transformer``,
then stages 12-13 again for the second depth. Everything Python goes through
``--python "python -m espnet_layerprune.launch"``; scoring is sclite's.
"""

import hashlib
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from tiny_recipe import RECIPE, REPO, TINY_CONFIG, TINY_DEPTHS

pytestmark = pytest.mark.slow

GET_TEMPLATE = REPO / "tools" / "get_espnet_template.sh"


def _sclite_available() -> bool:
    return bool(shutil.which("sclite")) or os.access("/usr/lib/sctk/bin/sclite", os.X_OK)


@pytest.fixture(scope="module")
def template():
    """Path of the cached template's asr.sh (downloaded with pip on first use)."""
    proc = subprocess.run(["bash", str(GET_TEMPLATE)], capture_output=True, text=True)
    if proc.returncode != 0:
        if "pip download" in proc.stderr:
            pytest.skip(f"cannot download the espnet sdist from the package index: {proc.stderr[-500:]}")
        raise AssertionError(proc.stderr)
    return Path(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def asr_sh_run(template, tiny_recipe, tmp_path_factory):
    """One asr.sh run (stages 2-13 at depth 4, then 12-13 at depth 2) on the tiny corpus."""
    if not _sclite_available():
        pytest.skip("sclite not found (Debian package sctk; run tools/install_system_deps.sh as root)")
    run_dir = tmp_path_factory.mktemp("asr_sh") / "run"
    cmd = [
        "bash", str(RECIPE / "local" / "asr_sh.sh"), "--asr_sh", str(template),
        # The fixture's corpus: stage 1 finds it finished (same parameters) and skips it.
        "--corpus_dir", str(tiny_recipe["work"]), "--run_dir", str(run_dir),
        "--train_hours", "0.02", "--dev_utts", "12", "--test_utts", "12", "--nj", "1",
        "--token_type", "char", "--train_config", str(TINY_CONFIG),
        "--prune_depths", " ".join(map(str, TINY_DEPTHS)),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    log = (run_dir / "asr_sh.log").read_text() if (run_dir / "asr_sh.log").exists() else ""
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}\n{log[-3000:]}"
    found = re.search(r"asr\.sh's RESULTS\.md \(one row per depth or size\): (\S+)", proc.stdout)
    assert found, proc.stdout
    results = Path(found.group(1))
    exp = results.parent
    return {"stdout": proc.stdout, "log": log, "run_dir": run_dir, "exp": exp, "results": results,
            "decode": {d: exp / f"decode_ctc_prune_depth{d}_asr_model_valid.loss.best" / "test" for d in TINY_DEPTHS}}


def test_template_asr_sh_is_the_unchanged_sdist_file(template, asr_sh_run):
    run_asr_sh = asr_sh_run["run_dir"] / "asr.sh"
    assert run_asr_sh.is_symlink() and run_asr_sh.resolve() == template.resolve()
    sdist = template.parents[4] / "downloads" / f"{template.parents[3].name}.tar.gz"
    if not sdist.exists():
        pytest.skip(f"no cached sdist at {sdist} (ESPNET_SDIST was used); cannot compare bytes")
    with tarfile.open(sdist) as tar:
        original = tar.extractfile(f"{template.parents[3].name}/egs2/TEMPLATE/asr1/asr.sh").read()
    assert hashlib.sha256(original).digest() == hashlib.sha256(template.read_bytes()).digest()


def test_asr_sh_ran_stages_2_to_13_then_12_13_for_the_second_depth(asr_sh_run):
    log = asr_sh_run["log"]
    for stage in (3, 4, 5, 10, 11, 12, 13):
        assert re.search(rf"Stage {stage}: ", log), f"asr.sh stage {stage} missing"
    assert "Skipped stages:  6 7 8 9 14 15" in log  # no LM, no packing
    assert log.count("Stage 12: Decoding") == 2 and log.count("Stage 13: Scoring") == 2
    assert log.count("Stage 11: ASR Training") == 1


def test_training_went_through_our_entry_point(asr_sh_run):
    exp = asr_sh_run["exp"]
    train_log = (exp / "train.log").read_text()
    assert "-m espnet_layerprune.launch -m espnet2.bin.asr_train" in train_log.splitlines()[0]
    assert "PrunableTransformerEncoder" in train_log
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert config["encoder"] == "prunable_transformer"
    assert config["normalize"] == "global_mvn" and config["normalize_conf"]["stats_file"].endswith("feats_stats.npz")
    assert (exp / "valid.loss.best.pth").exists()


def test_each_depth_decoded_with_its_pruned_layers(asr_sh_run):
    test_keys = {line.split()[0] for line in (asr_sh_run["run_dir"] / "data" / "test" / "text").read_text().splitlines()}
    for depth, out in asr_sh_run["decode"].items():
        logs = "".join(p.read_text() for p in sorted((out / "logdir").glob("asr_inference.*.log")))
        kept = list(range(1, depth + 1))
        assert f"keeping {depth}/4 encoder layers {kept}" in logs
        for info in (out / "logdir").glob("output.*/pruning.yaml"):
            assert yaml.safe_load(info.read_text())["kept_layers"] == kept
        assert {line.split(maxsplit=1)[0] for line in (out / "text").read_text().splitlines()} == test_keys
        assert "Sum/Avg" in (out / "score_cer" / "result.txt").read_text()


def test_results_md_has_one_row_per_depth_and_the_depths_differ(asr_sh_run):
    results = asr_sh_run["results"].read_text()
    assert "Generated by scripts/utils/show_asr_result.sh" in results
    rows = {}
    for depth in TINY_DEPTHS:
        tag = f"|decode_ctc_prune_depth{depth}_asr_model_valid.loss.best/test|"
        cer_rows = [line for line in results.split("### CER")[1].splitlines() if line.startswith(tag)]
        assert len(cer_rows) == 1, results
        rows[depth] = cer_rows[0]
        assert f"depth {depth}: keeping {depth}/4" in asr_sh_run["stdout"]
    # Same test set, different encoders: the CTC scores of the hypotheses differ.
    scores = {d: (out / "score").read_text() for d, out in asr_sh_run["decode"].items()}
    assert scores[TINY_DEPTHS[0]] != scores[TINY_DEPTHS[1]]



def test_report_reads_asr_sh_decode_directories(asr_sh_run):
    """bin.report, run on asr.sh's own decode dirs: one row per depth, kept layers, parameters."""
    table = (asr_sh_run["exp"] / "RESULTS_by_depth.md").read_text()
    rows = [line.split("|") for line in table.splitlines() if line.startswith("| depth ")]
    assert sorted(int(r[1].split()[1]) for r in rows) == sorted(TINY_DEPTHS)
    for r in rows:
        depth = int(r[1].split()[1])
        assert r[2].strip() == ",".join(str(i) for i in range(1, depth + 1))
        assert 0 <= float(r[4]) and "M (" in r[6]
    for depth in TINY_DEPTHS:
        assert (asr_sh_run["decode"][depth] / "score.json").is_file()

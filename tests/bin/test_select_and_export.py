"""Layer selection writes a plan that decoding uses; export gives a stock ESPnet model that decodes the same.

The tests use the tiny supernet trained by ``tiny_recipe`` (copied, so that
plans written here never reach other tests); export of small random models of
each encoder kind is specified in tests/test_export.py.
"""

import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from model_dirs import load_exported_model
import yaml

import espnet_layerprune  # noqa: F401
from espnet_layerprune.bin import analyze, asr_inference, export, select_layers
from espnet_layerprune.core.plan import PrunePlan

PY = sys.executable

# Runs ESPnet's own decoder with espnet_layerprune impossible to import, and
# proves at exit that it was never imported.
STOCK_DECODER = textwrap.dedent(
    """
    import runpy, sys
    class Hide:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "espnet_layerprune":
                raise ImportError(name + " is hidden for this run")
    sys.meta_path.insert(0, Hide())
    sys.argv = ["asr_inference", *sys.argv[1:]]
    try:
        runpy.run_module("espnet2.bin.asr_inference", run_name="__main__", alter_sys=True)
    finally:
        assert not [m for m in sys.modules if m.startswith("espnet_layerprune")]
        print("STOCK-ONLY: espnet_layerprune was not imported", file=sys.stderr)
    """
)
DECODE_OPTS = ["--beam_size", "1", "--ctc_weight", "1.0", "--lm_weight", "0.0", "--nbest", "1"]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1"}


# ====================================================================== tiny supernet (slow)
@pytest.fixture(scope="module")
def tiny(tiny_recipe, tmp_path_factory):
    """A private copy of the tiny model, a 3-utterance test list, and a greedy plan."""
    root = tmp_path_factory.mktemp("select_export")
    model_dir = root / "asr"
    model_dir.mkdir()
    shutil.copy(tiny_recipe["exp"] / "config.yaml", model_dir / "config.yaml")
    shutil.copy(tiny_recipe["exp"] / "valid.loss.best.pth", model_dir / "model.pth")  # follows the link
    lines = (tiny_recipe["data"] / "test" / "wav.scp").read_text().splitlines()[:3]
    (root / "wav.scp").write_text("\n".join(lines) + "\n")
    paths = {"root": root, "config": model_dir / "config.yaml", "model": model_dir / "model.pth",
             "dev": tiny_recipe["data"] / "dev", "scp": root / "wav.scp"}
    plan_path = select_layers.main([
        "--asr_train_config", str(paths["config"]), "--asr_model_file", str(paths["model"]),
        "--data", str(paths["dev"]), "--strategy", "greedy", "--max_utts", "6",
    ])
    paths["plan"] = plan_path
    return paths


def _decode_ours(tiny, out, caplog, depth=2):
    with caplog.at_level(logging.INFO):
        asr_inference.main([
            "--asr_train_config", str(tiny["config"]), "--asr_model_file", str(tiny["model"]),
            "--data_path_and_name_and_type", f"{tiny['scp']},speech,sound",
            "--output_dir", str(out), "--prune_depth", str(depth), *DECODE_OPTS,
        ])
    return caplog.text


@pytest.mark.slow
def test_greedy_selection_writes_a_plan_next_to_the_model(tiny):
    assert tiny["plan"] == tiny["model"].parent / "prune_plan.yaml"
    plan = PrunePlan.load(tiny["plan"])
    assert plan.num_layers == 4 and plan.strategy == "greedy"
    assert sorted(plan.depths) == [1, 2, 3, 4]
    for d, entry in plan.depths.items():
        assert len(entry["layers"]) == d and entry["layers"] == sorted(entry["layers"])
        assert 0 <= entry["dev_cer"] and 0 <= entry["dev_wer"]
        if d < 4:  # greedy: one layer removed per step
            assert set(entry["layers"]) < set(plan.depths[d + 1]["layers"])


@pytest.mark.slow
def test_existing_plan_is_kept_without_overwrite(tiny):
    before = tiny["plan"].read_text()
    with pytest.raises(SystemExit, match="exists; pass --overwrite true"):
        select_layers.main([
            "--asr_train_config", str(tiny["config"]), "--asr_model_file", str(tiny["model"]),
            "--data", str(tiny["dev"]), "--strategy", "top",
        ])
    assert tiny["plan"].read_text() == before


@pytest.mark.slow
def test_decoding_at_a_depth_uses_the_plan_and_says_so(tiny, caplog):
    out = tiny["root"] / "decode_ours"
    log = _decode_ours(tiny, out, caplog)
    assert "using prune plan" in log and str(tiny["plan"]) in log
    plan_layers = PrunePlan.load(tiny["plan"]).depths[2]["layers"]
    assert yaml.safe_load((out / "pruning.yaml").read_text())["kept_layers"] == plan_layers


@pytest.mark.slow
def test_export_decodes_with_stock_espnet_alone_and_equals_our_decoding(tiny, caplog):
    out = tiny["root"] / "exported_d2"
    result = export.main([
        "--asr_train_config", str(tiny["config"]), "--asr_model_file", str(tiny["model"]),
        "--prune_depth", "2", "--output_dir", str(out),
    ])
    plan_layers = PrunePlan.load(tiny["plan"]).depths[2]["layers"]
    assert list(result.kept_layers) == plan_layers
    conf = yaml.safe_load((out / "config.yaml").read_text())
    assert conf["encoder"] == "transformer" and conf["encoder_conf"]["num_blocks"] == 2
    assert not {"stochastic_depth_rate", "stochastic_depth_schedule", "unit_granularity",
                "prune_layers"} & set(conf["encoder_conf"])
    assert conf["encoder_conf"]["interctc_layer_idx"] == [1]
    stats = conf["normalize_conf"]["stats_file"]
    assert Path(stats).resolve() == (out / "feats_stats.npz").resolve()

    # The file shrinks by the bytes of the two removed blocks (plus a little pickle overhead).
    state = torch.load(tiny["model"], map_location="cpu")
    removed = [l - 1 for l in range(1, 5) if l not in plan_layers]
    removed_bytes = sum(v.numel() * v.element_size() for k, v in state.items()
                        if any(k.startswith(f"encoder.encoders.{i}.") for i in removed))
    saved = result.source_bytes - result.model_bytes
    assert removed_bytes <= saved <= 1.15 * removed_bytes

    # Same encoder output, bit for bit, on real speech.
    import soundfile
    from espnet_layerprune.inference.speech2text import Speech2Text

    wav = tiny["scp"].read_text().split()[1]
    speech = torch.tensor(soundfile.read(wav, dtype="float32")[0])[None]
    lengths = torch.tensor([speech.size(1)])
    ours = Speech2Text(asr_train_config=tiny["config"], asr_model_file=tiny["model"], prune_depth=2,
                       beam_size=1, ctc_weight=1.0, lm_weight=0.0).asr_model
    with torch.no_grad():
        a, b = ours.encode(speech, lengths)[0], load_exported_model(out).eval().encode(speech, lengths)[0]
    assert torch.equal(a[0] if isinstance(a, tuple) else a, b[0] if isinstance(b, tuple) else b)

    stock_out = tiny["root"] / "decode_stock"
    proc = subprocess.run(
        [PY, "-c", STOCK_DECODER, "--asr_train_config", str(out / "config.yaml"),
         "--asr_model_file", str(out / "model.pth"),
         "--data_path_and_name_and_type", f"{tiny['scp']},speech,sound",
         "--output_dir", str(stock_out), *DECODE_OPTS],
        capture_output=True, text=True, env=_env(), cwd=tiny["root"],
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "STOCK-ONLY: espnet_layerprune was not imported" in proc.stderr

    ours_out = tiny["root"] / "decode_ours_for_export"
    _decode_ours(tiny, ours_out, caplog)
    stock_text = (stock_out / "1best_recog" / "text").read_text()
    assert stock_text == (ours_out / "1best_recog" / "text").read_text()
    assert len(stock_text.splitlines()) == 3


@pytest.mark.slow
def test_exported_dir_packs_and_unpacks_with_espnet(tiny):
    work = tiny["root"] / "packing"
    work.mkdir()
    run = dict(capture_output=True, text=True, env=_env(), cwd=work)
    proc = subprocess.run(
        [PY, "-m", "espnet_layerprune.bin.export", "--asr_train_config", str(tiny["config"]),
         "--asr_model_file", str(tiny["model"]), "--prune_depth", "3", "--output_dir", "d3"], **run)
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = yaml.safe_load((work / "d3" / "export_info.yaml").read_text())
    proc = subprocess.run([PY, *info["pack_command"].split()[1:]], **run)
    assert proc.returncode == 0, proc.stderr[-3000:]
    check = textwrap.dedent(
        """
        import yaml
        from espnet2.main_funcs.pack_funcs import unpack
        from espnet2.tasks.asr import ASRTask
        files = unpack("d3.zip", "unpacked")
        conf = yaml.safe_load(open(files["asr_train_config"]))
        assert conf["normalize_conf"]["stats_file"].endswith("unpacked/d3/feats_stats.npz"), conf
        model, _ = ASRTask.build_model_from_file(files["asr_train_config"], files["asr_model_file"])
        assert len(model.encoder.encoders) == 3
        print("UNPACKED-OK")
        """
    )
    proc = subprocess.run([PY, "-c", check], **run)
    assert "UNPACKED-OK" in proc.stdout, proc.stderr[-3000:]


@pytest.mark.slow
def test_analysis_writes_tables_and_plots(tiny):
    out = tiny["root"] / "analysis"
    analyze.main([
        "--asr_train_config", str(tiny["config"]), "--asr_model_file", str(tiny["model"]),
        "--data", str(tiny["dev"]), "--output_dir", str(out), "--max_utts", "4",
        "--strategies", "top,evenly_spaced,greedy,svcca",
    ])
    matrix = np.load(out / "svcca.npy")
    assert matrix.shape == (4, 4) and np.allclose(np.diag(matrix), 1.0)
    for name in ("svcca.png", "layer_importance.png", "depth_by_strategy.png"):
        assert (out / name).stat().st_size > 5000
    rows = (out / "layer_importance.csv").read_text().splitlines()
    assert rows[0].startswith("removed_layer,dev_cer,dev_wer") and len(rows) == 5
    table = (out / "depth_by_strategy.md").read_text()
    assert all(s in table for s in ("top", "evenly_spaced", "greedy", "svcca"))
    with pytest.raises(SystemExit, match="--overwrite true"):
        analyze.main(["--asr_train_config", str(tiny["config"]), "--asr_model_file", str(tiny["model"]),
                      "--data", str(tiny["dev"]), "--output_dir", str(out)])


# ---------------------------------------------------------------------- bad input (slow)
def _model_copy_with_plan(tiny, tmp_path, plan):
    shutil.copy(tiny["config"], tmp_path / "config.yaml")
    shutil.copy(tiny["model"], tmp_path / "model.pth")
    plan.save(tmp_path / "prune_plan.yaml")
    return tmp_path / "config.yaml", tmp_path / "model.pth"


@pytest.mark.slow
@pytest.mark.parametrize(
    "plan,message",
    [
        (PrunePlan(num_layers=12, depths={2: {"layers": [1, 12]}}),
         "made for a 12-layer encoder but this model has 4"),
        (PrunePlan(num_layers=4, depths={3: {"layers": [1, 2, 4]}}),
         r"--prune_depth 2 is not in the prune plan .* \(it has depths \[3\]\)"),
    ],
)
def test_a_plan_that_does_not_fit_is_refused(tiny, tmp_path, plan, message):
    config, model = _model_copy_with_plan(tiny, tmp_path, plan)
    with pytest.raises(SystemExit, match=message):
        asr_inference.main([
            "--asr_train_config", str(config), "--asr_model_file", str(model),
            "--data_path_and_name_and_type", f"{tiny['scp']},speech,sound",
            "--output_dir", str(tmp_path / "dec"), "--prune_depth", "2", *DECODE_OPTS,
        ])
    with pytest.raises(SystemExit, match=message):
        export.main(["--asr_train_config", str(config), "--asr_model_file", str(model),
                     "--prune_depth", "2", "--output_dir", str(tmp_path / "exp")])


@pytest.mark.slow
def test_empty_dev_set_is_refused(tiny, tmp_path):
    (tmp_path / "wav.scp").write_text("")
    (tmp_path / "text").write_text("")
    with pytest.raises(SystemExit, match="dev set .* is empty"):
        select_layers.main([
            "--asr_train_config", str(tiny["config"]), "--asr_model_file", str(tiny["model"]),
            "--data", str(tmp_path), "--strategy", "greedy", "--output_dir", str(tmp_path / "o"),
        ])
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_export_refuses_a_depth_larger_than_the_model_and_a_used_output_dir(tiny, tmp_path):
    args = ["--asr_train_config", str(tiny["config"]), "--asr_model_file", str(tiny["model"])]
    with pytest.raises(SystemExit, match=r"--prune_depth must be in \[1, 4\], got 5"):
        export.main([*args, "--prune_depth", "5", "--output_dir", str(tmp_path / "a")])
    assert not (tmp_path / "a").exists()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match="exists and is not empty; pass --overwrite true"):
        export.main([*args, "--prune_depth", "2", "--output_dir", str(tmp_path / "b")])
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["notes.txt"]
    with pytest.raises(SystemExit, match="holds the model being exported"):
        export.main([*args, "--prune_depth", "2", "--output_dir", str(tiny["model"].parent),
                     "--overwrite", "true"])

"""Data-driven supernets end to end through the recipe: ESPnet training, then decoding at sizes and depths.

Each method trains a tiny 4-block transformer (4 units) for 2 epochs through run.sh (real audio,
ESPnet's trainer), crosses from stage 1 to stage 2, and decodes at two sizes and one depth with greedy
CTC (``--word_lm false``: the lexicon search is the tiny recipe's test; depth 4 is size 4 here).
"""

import pytest
import yaml

from tiny_recipe import TINY_CONFIG, run_recipe

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("method", ["simple_top_k", "iterative_zero_out"])
def test_method_trains_and_decodes_at_two_sizes(tiny_recipe, tmp_path, method):
    conf = yaml.safe_load(TINY_CONFIG.read_text())
    for key in ("interctc_layer_idx", "stochastic_depth_rate", "stochastic_depth_schedule"):
        conf["encoder_conf"].pop(key)
    conf["model"] = "layerprune"
    conf["model_conf"] = {"ctc_weight": 1.0, "supernet": {"method": method, "sizes": [2, 3, 4], "stage1_steps": 3}}
    config = tmp_path / f"train_{method}.yaml"
    config.write_text(yaml.safe_dump(conf))
    # Reuse the session corpus, token list and feature statistics (same front end); new experiment dir.
    work = tiny_recipe["work"]
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "asr_stats_char").symlink_to(work / "exp" / "asr_stats_char")
    proc = run_recipe(work, "--stage", "4", "--exp_dir", str(tmp_path / "exp"), "--prune_sizes", "4 2",
                      "--prune_depths", "2", "--word_lm", "false", config=config)
    assert "stage 7 done" in proc.stdout
    exp = tmp_path / "exp" / f"asr_train_{method}_char"
    log = (exp / "train.log").read_text()
    assert "stage=2.0" in log or "stage=2" in log  # the schedule reached stage 2 (frozen masks)
    table = (exp / "size_table.md").read_text()
    assert "| 2 |" in table and "| 4 |" in table
    decode = exp / "decode_decode_ctc_valid.loss.best" / "test"
    kept = {}
    for name in ("size4", "size2", "depth2"):
        info = yaml.safe_load((decode / name / "pruning.yaml").read_text())
        assert (decode / name / "1best_recog" / "text").exists()
        kept[name] = info["kept_units"]
    assert len(kept["size2"]) == 2 and len(kept["size4"]) == 4
    assert set(kept["size2"]) <= set(kept["size4"])  # nested masks
    assert "supernet" in (decode / "size2" / "pruning.yaml").read_text()  # learned masks, not a default

"""Running the synth_en recipe at a tiny size, for end-to-end tests (importable helper)."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "egs2" / "synth_en" / "asr1"
TINY_CONFIG = Path(__file__).parent / "e2e" / "train_tiny.yaml"
TINY_DEPTHS = (4, 2)
def run_recipe(work: Path, *args: str, config: Path = TINY_CONFIG) -> subprocess.CompletedProcess:
    """Run the synth_en recipe into ``work`` at a tiny size; raise with its log on failure."""
    cmd = [
        "bash", str(RECIPE / "run.sh"),
        "--corpus_dir", str(work), "--exp_dir", str(work / "exp"),
        "--train_hours", "0.02", "--dev_utts", "12", "--test_utts", "12", "--nj", "1",
        "--token_type", "char", "--train_config", str(config),
        "--prune_depths", " ".join(map(str, TINY_DEPTHS)), "--inference_model", "valid.loss.best.pth",
        *args,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise AssertionError(f"run.sh failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def train_argv(work: Path, config: Path, out: Path, data: Path = None) -> list:
    """The training entry point's arguments, as run.sh's stage 4 gives them, for the corpus and
    statistics of a tiny run in ``work`` (``data`` overrides the data dirs)."""
    stats, data = work / "exp" / "asr_stats_char", data or work / "data"
    return [
        "--use_preprocessor", "true", "--token_type", "char",
        "--token_list", str(work / "data" / "token_list" / "char" / "tokens.txt"),
        "--config", str(config), "--output_dir", str(out),
        "--normalize_conf", f"stats_file={stats / 'train' / 'feats_stats.npz'}",
        "--train_shape_file", str(stats / "train" / "speech_shape"),
        "--train_shape_file", str(stats / "train" / "text_shape.char"),
        "--valid_shape_file", str(stats / "valid" / "speech_shape"),
        "--valid_shape_file", str(stats / "valid" / "text_shape.char"),
        "--train_data_path_and_name_and_type", f"{data / 'train' / 'wav.scp'},speech,sound",
        "--train_data_path_and_name_and_type", f"{data / 'train' / 'text'},text,text",
        "--valid_data_path_and_name_and_type", f"{data / 'dev' / 'wav.scp'},speech,sound",
        "--valid_data_path_and_name_and_type", f"{data / 'dev' / 'text'},text,text",
    ]

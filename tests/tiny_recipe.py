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

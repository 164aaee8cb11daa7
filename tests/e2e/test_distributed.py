"""Multi-process training on CPU through ESPnet's own distributed path.

ESPnet's ``--multiprocessing_distributed true`` spawns one worker per GPU and is
turned off when ``--ngpu`` is 0 or 1 (``resolve_distributed_mode``). Its other
path, an external launcher, works without GPUs: ``torchrun --nproc_per_node 2``
starts two processes, each running ``espnet_layerprune.bin.asr_train`` with
``--ngpu 0 --multiprocessing_distributed false --dist_backend gloo``; ESPnet then
reads ``RANK``/``WORLD_SIZE``/``MASTER_*`` from the environment, wraps the model in
``DistributedDataParallel`` (``find_unused_parameters`` = ``unused_parameters``) and
gives each rank half of every batch.

The workers here are this file run as a script: it records, for every training
forward pass of every rank, the batch size, the unit scales the encoder drew
(``encoder.unit_scales``, a skipped unit recorded as 0), a checksum of the encoder weights and, for
``model: layerprune``, the subnet passes of the update; then the test compares
the ranks.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

THIS = Path(__file__).resolve()


# ---------------------------------------------------------------- worker (torchrun)
def _worker(record_dir: str, train_args: list) -> None:  # pragma: no cover - subprocess
    """One rank: ESPnet training with recording hooks, then a JSON of what it saw."""
    import torch

    import espnet_layerprune  # noqa: F401
    from espnet_layerprune.bin import asr_train
    from espnet_layerprune.encoders.prunable import PrunableEncoderMixin

    rank = int(os.environ["RANK"])
    forwards, updates, supernets = [], [], []
    draw = PrunableEncoderMixin.unit_scales
    forward = PrunableEncoderMixin.forward

    def recording_forward(self, xs_pad, ilens, *args, **kwargs):
        if self.training:
            weights = torch.cat([p.detach().flatten() for p in self.parameters()])
            forwards.append({"batch": int(xs_pad.size(0)), "weights": float(weights.double().sum())})
        return forward(self, xs_pad, ilens, *args, **kwargs)

    def recording_draw(self, *args, **kwargs):
        scales = draw(self, *args, **kwargs)
        if self.training and forwards:  # skipped units are None: recorded as 0
            forwards[-1]["scales"] = [0.0 if s is None else round(float(s), 6) for s in scales]
        return scales

    PrunableEncoderMixin.forward = recording_forward
    PrunableEncoderMixin.unit_scales = recording_draw
    try:
        from espnet_layerprune.supernet import Supernet
    except ImportError:
        Supernet = None
    if Supernet is not None:
        passes = Supernet.train_passes

        def recording_passes(self, step):
            out = passes(self, step)
            if self not in supernets:
                supernets.append(self)
            updates.append({"step": step, "passes": [
                [p.name, p.size, list(p.units or []),
                 None if p.gates is None else [round(float(g), 5) for g in p.gates]]
                for p in out
            ]})
            return out

        Supernet.train_passes = recording_passes

    if os.environ.get("LAYERPRUNE_TEST_STOCK_MAIN"):  # without our entry point's checks
        from espnet2.tasks.asr import ASRTask

        ASRTask.main(cmd=train_args)
    else:
        asr_train.main(train_args)
    record = {"rank": rank, "world_size": int(os.environ["WORLD_SIZE"]), "forwards": forwards,
              "updates": updates}
    if supernets:
        s = supernets[-1]
        record["supernet"] = {
            "frozen": s.is_frozen,
            "frozen_scores": s.frozen_scores.tolist(),
            "masks": {size: list(s.size_units(size, quiet=True)) for size in s.sizes},
        }
    Path(record_dir, f"rank{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":  # pragma: no cover - run by torchrun
    _worker(sys.argv[1], sys.argv[2:])
    sys.exit(0)


# ---------------------------------------------------------------- helpers
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_distributed(work: Path, config: Path, out: Path, *extra: str, nproc: int = 2, env=None):
    """torchrun with ``nproc`` CPU workers around ESPnet training; returns the records."""
    from tiny_recipe import train_argv  # here: this file also runs as torchrun's script

    record_dir = out.parent / f"{out.name}.records"
    record_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
        "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
        str(THIS), str(record_dir),
        "--ngpu", "0", "--multiprocessing_distributed", "false", "--dist_backend", "gloo",
        *train_argv(work, config, out), *extra,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    records = [json.loads(p.read_text()) for p in sorted(record_dir.glob("rank*.json"))]
    return proc, records


def _tiny_config(tmp: Path, **changes) -> Path:
    from tiny_recipe import TINY_CONFIG

    conf = yaml.safe_load(TINY_CONFIG.read_text())
    for key, value in changes.items():
        if value is None:
            conf.pop(key, None)
        else:
            conf[key] = value
    path = tmp / "train.yaml"
    path.write_text(yaml.safe_dump(conf, sort_keys=False))
    return path


def _decode(exp: Path, wav_scp: Path, **prune):
    import soundfile

    from espnet_layerprune.inference.speech2text import Speech2Text

    s2t = Speech2Text(asr_train_config=exp / "config.yaml", asr_model_file=exp / "valid.loss.best.pth",
                      beam_size=1, ctc_weight=1.0, lm_weight=0.0, **prune)
    speech, rate = soundfile.read(wav_scp.read_text().split()[1])
    assert rate == 16000
    results = s2t(speech)
    if isinstance(results, tuple):  # (n-best, intermediate CTC outputs) when the encoder has them
        results = results[0]
    text = results[0][0]
    assert isinstance(text, str)
    return s2t, text


# ---------------------------------------------------------------- ESPnet's own switch
def test_espnet_spawns_workers_only_for_gpus():
    """``--multiprocessing_distributed true`` with ``--ngpu 0`` silently trains one process."""
    import argparse

    from espnet2.train.distributed_utils import resolve_distributed_mode

    args = argparse.Namespace(multiprocessing_distributed=True, ngpu=0, dist_world_size=None,
                              dist_launcher=None, dist_rank=None, local_rank=None)
    resolve_distributed_mode(args)
    assert args.distributed is False and args.multiprocessing_distributed is False


# ---------------------------------------------------------------- stochastic depth
@pytest.fixture(scope="module")
def sd_run(tiny_recipe, tmp_path_factory):
    """Two CPU ranks train the tiny supernet (stochastic depth 0.3, linear) for 2 epochs."""
    out = tmp_path_factory.mktemp("dist_sd") / "exp"
    proc, records = train_distributed(tiny_recipe["work"], _tiny_config(out.parent), out)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return {"proc": proc, "records": records, "exp": out, "data": tiny_recipe["data"]}


def test_two_ranks_train_to_the_end_through_ddp(sd_run):
    r0, r1 = sd_run["records"]
    assert (r0["rank"], r1["rank"], r0["world_size"]) == (0, 1, 2)
    assert "The training was finished at 2 epochs" in sd_run["proc"].stderr
    assert len(r0["forwards"]) == len(r1["forwards"]) > 0
    # Each rank gets a share of every batch: together they see each training utterance once per epoch.
    n_train = len((sd_run["data"] / "train" / "text").read_text().splitlines())
    seen = sum(f["batch"] for r in (r0, r1) for f in r["forwards"])
    assert seen == 2 * n_train
    # DDP averages the gradients: both replicas hold the same weights at every step.
    assert [f["weights"] for f in r0["forwards"]] == [f["weights"] for f in r1["forwards"]]


def test_ranks_draw_their_own_skipped_layers(sd_run):
    """The draw uses each process's global CPU RNG. ESPnet reseeds it identically on every
    rank at each epoch, but dropout before the draw consumes random numbers in proportion to
    the (rank-specific) batch size, so the ranks' skip decisions are effectively independent."""
    r0, r1 = sd_run["records"]
    pairs = list(zip((f["scales"] for f in r0["forwards"]), (f["scales"] for f in r1["forwards"])))
    agree = sum(a == b for a, b in pairs)
    print(f"ranks agree on the skipped layers in {agree}/{len(pairs)} steps")
    assert agree < len(pairs)
    # The case DDP must handle: a layer skipped on one rank runs on the other in the same step.
    assert any((x == 0.0) != (y == 0.0) for a, b in pairs for x, y in zip(a, b))


def test_distributed_model_decodes(sd_run):
    s2t, _ = _decode(sd_run["exp"], sd_run["data"] / "test" / "wav.scp", prune_depth=2)
    assert s2t.pruning.kept_layers == (1, 2)


def test_without_unused_parameters_ddp_stops_at_the_first_skipped_layer(tiny_recipe, tmp_path):
    """Why our configs say ``unused_parameters: true`` (DDP's ``find_unused_parameters``):
    ESPnet's own entry point, without our check, fails in the second update."""
    proc, _ = train_distributed(tiny_recipe["work"], _tiny_config(tmp_path), tmp_path / "exp",
                                "--unused_parameters", "false", env={"LAYERPRUNE_TEST_STOCK_MAIN": "1"})
    assert proc.returncode != 0
    assert "Expected to have finished reduction in the prior iteration" in proc.stderr


def test_our_entry_point_asks_for_unused_parameters_before_starting(tiny_recipe, tmp_path, monkeypatch):
    from espnet_layerprune.bin import asr_train

    monkeypatch.setenv("WORLD_SIZE", "2")  # as torchrun sets it
    argv = ["--config", str(_tiny_config(tmp_path)), "--output_dir", str(tmp_path / "exp"),
            "--token_list", str(tiny_recipe["data"] / "token_list" / "char" / "tokens.txt"),
            "--unused_parameters", "false", "--multiprocessing_distributed", "false"]
    with pytest.raises(SystemExit) as exc:
        asr_train.main(argv)
    assert "set unused_parameters: true" in str(exc.value.code)
    assert not (tmp_path / "exp").exists()


# ---------------------------------------------------------------- data-driven supernet
def _layerprune_available() -> bool:
    import espnet_layerprune  # noqa: F401
    from espnet2.tasks.asr import model_choices

    return "layerprune" in model_choices.classes


@pytest.fixture(scope="module")
def layerprune_run(tiny_recipe, tmp_path_factory):
    if not _layerprune_available():
        pytest.skip("espnet_layerprune.models.layerprune (model: layerprune) is not available in this checkout")
    from tiny_recipe import TINY_CONFIG

    encoder_conf = yaml.safe_load(TINY_CONFIG.read_text())["encoder_conf"]
    for key in ("interctc_layer_idx", "stochastic_depth_rate", "stochastic_depth_schedule"):
        encoder_conf.pop(key)
    encoder_conf["unit_granularity"] = "sublayer"  # 8 units
    out = tmp_path_factory.mktemp("dist_layerprune") / "exp"
    config = _tiny_config(
        out.parent, encoder_conf=encoder_conf, model="layerprune",
        model_conf={"ctc_weight": 1.0, "supernet": {
            "method": "simple_top_k", "sizes": [2, 4, 6, 8], "stage1_steps": 3, "anneal_step": 2,
            "stage2_stochastic_depth": 0.3, "seed": 0, "accum_grad": 1}})
    proc, records = train_distributed(tiny_recipe["work"], config, out)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return {"proc": proc, "records": records, "exp": out, "data": tiny_recipe["data"]}


def test_layerprune_ranks_train_the_same_subnets_and_masks(layerprune_run):
    r0, r1 = layerprune_run["records"]
    updates = r0["updates"]
    assert [u["step"] for u in updates] == list(range(len(updates))) and len(updates) > 3
    assert {p[0] for u in updates for p in u["passes"]} >= {"supernet", "subnet", "size2"}  # both stages
    # Stage 1's gated subnet (gates from the shared scores) and stage 2's medium subnet
    # (a generator seeded with (seed, update)) are the same on both ranks...
    assert r0["updates"] == r1["updates"]
    # ...and so are the frozen scores, the nested masks and the weights at every step.
    assert r0["supernet"]["frozen"] and r0["supernet"] == r1["supernet"]
    assert [f["weights"] for f in r0["forwards"]] == [f["weights"] for f in r1["forwards"]]


def test_layerprune_distributed_model_decodes_with_its_masks(layerprune_run):
    r0 = layerprune_run["records"][0]
    s2t, _ = _decode(layerprune_run["exp"], layerprune_run["data"] / "test" / "wav.scp", prune_size=4)
    assert list(s2t.pruning.kept_units) == r0["supernet"]["masks"]["4"]

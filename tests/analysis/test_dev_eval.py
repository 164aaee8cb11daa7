"""Dev-set evaluation: the encoder input cached once, any kept-layer set scored from it."""

import numpy as np
import pytest
import soundfile
import torch
from model_dirs import random_model_dir

from espnet_layerprune.analysis.dev_eval import DevEvaluator, DevScore
from espnet_layerprune.core.data import Utterance, load_utterances
from espnet_layerprune.models.features import encoder_input


def _data_dir(tmp_path, n=3):
    rng = np.random.default_rng(0)
    data = tmp_path / "dev"
    data.mkdir()
    with open(data / "wav.scp", "w") as wav, open(data / "text", "w") as text:
        for i in range(n):
            soundfile.write(data / f"u{i}.wav", (0.1 * rng.standard_normal(6000 + 1500 * i)).astype(np.float32), 16000)
            wav.write(f"u{i} {data / f'u{i}.wav'}\n")
            text.write(f"u{i} a b ab\n")
    return data


@pytest.fixture
def evaluator(tmp_path):
    config, model = random_model_dir(tmp_path, encoder_conf={"interctc_layer_idx": "all"})
    return DevEvaluator.from_files(config, model, _data_dir(tmp_path), batch_size=2)


def test_from_files_reads_the_model_and_the_dev_dir_and_caches_each_batch_once(evaluator):
    assert evaluator.num_layers == 3 and not evaluator.model.training
    assert len(evaluator._batches) == 2  # 3 utterances, 2 per batch, longest first
    assert evaluator._batches[0]["keys"] == ["u2", "u1"]
    score = evaluator.evaluate([1, 3])
    assert isinstance(score, DevScore) and score.utterances == 3 and score.get("wer") == score.wer
    assert evaluator.evaluate((1, 3)) is score and evaluator.evaluations == 1  # scored once
    assert evaluator.blocks_run == 2 * 2  # two kept blocks, two batches
    with pytest.raises(ValueError, match="metric must be 'cer' or 'wer'"):
        score.get("ser")


def test_layer_outputs_are_what_each_kept_layer_passes_on_for_every_valid_frame(evaluator):
    acts = evaluator.layer_outputs([1, 3])
    frames = sum(int(b["embedded"].lengths.sum()) for b in evaluator._batches)
    assert len(acts) == 3 and all(a.shape == (frames, 16) for a in acts)
    # the last state through the final LayerNorm is the encoder output of the kept layers
    batch = evaluator._batches[0]
    valid = batch["embedded"].masks.squeeze(1)
    with torch.no_grad():
        out = evaluator.encoder.run_units(batch["embedded"], units=[1, 3])[0]
        out = out[0] if isinstance(out, tuple) else out
        top = evaluator._finish(torch.as_tensor(acts[-1][: int(valid.sum())], dtype=torch.float32), 3)
    torch.testing.assert_close(top, out[valid].float(), rtol=1e-4, atol=1e-4)


def test_the_cached_input_is_the_one_feature_pipelines(tmp_path):
    config, path = random_model_dir(tmp_path)
    utts = [Utterance("u", (0.1 * np.random.default_rng(1).standard_normal(8000)).astype(np.float32), "a")]
    ev = DevEvaluator.from_files(config, path, _data_dir(tmp_path, 1))
    speech = torch.as_tensor(load_utterances(tmp_path / "dev")[0].speech)[None]
    expected = encoder_input(ev.model, speech, torch.tensor([speech.size(1)]))
    assert torch.equal(ev._batches[0]["embedded"].xs, expected.xs)
    with pytest.raises(ValueError, match="--batch_size must be >= 1"):
        DevEvaluator(ev.model, utts, batch_size=0)

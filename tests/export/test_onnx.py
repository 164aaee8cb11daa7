"""--format onnx: one graph from waveform to CTC log-posteriors through the kept layers only."""

import numpy as np
import onnx
import pytest
import torch
import yaml
from model_dirs import random_model_dir

from espnet_layerprune.bin import export
from espnet_layerprune.inference.speech2text import Speech2Text, best_text
from espnet_layerprune.models.pruning import head_for
from espnet_layerprune.export.onnx_runtime import OnnxSpeech2Text



def _speech(seconds, seed):
    return (0.1 * np.random.default_rng(seed).standard_normal(int(16000 * seconds))).astype(np.float32)


def _pytorch_log_probs(s2t, speech):
    model = s2t.asr_model
    x = torch.from_numpy(speech)[None]
    with torch.no_grad():
        enc, _ = model.encode(x, torch.tensor([x.size(1)]))
        enc = enc[0] if isinstance(enc, tuple) else enc
        return head_for(model, len(s2t.pruning.kept_units)).log_softmax(enc)[0].numpy()


@pytest.mark.parametrize("encoder,conf", [
    ("prunable_transformer", {"interctc_layer_idx": "all", "interctc_use_conditioning": True}),
    ("prunable_conformer", {"macaron_style": True, "cnn_module_kernel": 5, "interctc_layer_idx": [1]}),
])
def test_onnx_matches_pytorch_at_a_pruned_depth_for_any_length(tmp_path, encoder, conf):
    config, model = random_model_dir(tmp_path, encoder, conf, {"interctc_weight": 0.5})
    out = tmp_path / "onnx"
    export.main(["--asr_train_config", str(config), "--asr_model_file", str(model), "--format", "onnx",
                 "--prune_layers", "1,3", "--output_dir", str(out)])
    meta = yaml.safe_load((out / "onnx.yaml").read_text())
    assert meta["kept_layers"] == [1, 3] and meta["max_log_prob_difference"] < 1e-3
    assert (out / "tokens.txt").read_text().split() == ["<blank>", "<unk>", "a", "b", "<space>", "<sos/eos>"]
    ort = OnnxSpeech2Text(out, threads=1)
    s2t = Speech2Text(str(config), str(model), prune_layers=[1, 3], ctc_greedy=True, beam_size=1, ctc_weight=1.0)
    for seconds, seed in ((0.7, 1), (2.3, 2)):  # shorter and longer than the export's example
        speech = _speech(seconds, seed)
        expected = _pytorch_log_probs(s2t, speech)
        got = ort.log_probs(speech)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-3)
        assert ort(speech) == best_text(s2t(speech))


def test_only_the_kept_layers_are_in_the_graph(tmp_path):
    config, model = random_model_dir(tmp_path, encoder_conf={"num_blocks": 6})
    state = torch.load(model)
    per_layer = sum(v.numel() for k, v in state.items() if k.startswith("encoder.encoders.0."))
    sizes = {}
    for depth in (2, 6):
        out = tmp_path / f"d{depth}"
        export.main(["--asr_train_config", str(config), "--asr_model_file", str(model), "--format", "onnx",
                     "--prune_depth", str(depth), "--output_dir", str(out)])
        graph = onnx.load(str(out / "model.onnx")).graph
        sizes[depth] = sum(int(np.prod(t.dims)) for t in graph.initializer)
    # the weights of four more layers, and nothing of the dropped layers in the small graph
    assert sizes[6] - sizes[2] == pytest.approx(4 * per_layer, rel=0.05)


def test_an_existing_directory_is_not_overwritten_unasked(tmp_path):
    config, model = random_model_dir(tmp_path)
    out = tmp_path / "onnx"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit, match="--overwrite"):
        export.main(["--asr_train_config", str(config), "--asr_model_file", str(model), "--format", "onnx",
                     "--prune_depth", "2", "--output_dir", str(out)])
    assert (out / "keep.txt").read_text() == "mine" and not (out / "model.onnx").exists()

"""--format onnx: one graph from padded waveforms and lengths to CTC log-posteriors through the kept layers."""

import numpy as np
import onnx
import pytest
import torch
import yaml
from espnet2.layers.utterance_mvn import utterance_mvn as espnet_utterance_mvn
from model_dirs import random_model_dir

from espnet_layerprune.bin import export
from espnet_layerprune.core.ctc import error_rates
from espnet_layerprune.core.data import load_utterances
from espnet_layerprune.core.errors import ConfigError, InputError
from espnet_layerprune.export.onnx_frontend import utterance_mvn
from espnet_layerprune.export.onnx_graph import pytorch_log_probs
from espnet_layerprune.export.onnx_quantize import weight_matmuls
from espnet_layerprune.export.onnx_runtime import OnnxSpeech2Text
from espnet_layerprune.inference.speech2text import Speech2Text, best_text
from synth_corpus.speakers import SpeakerConfig
from synth_corpus.synth import Augmentation, render

ENCODERS = {
    # conv1d position-wise layers (unmasked in ESPnet) and self-conditioned intermediate CTC
    "transformer": ("prunable_transformer", {"interctc_layer_idx": "all", "interctc_use_conditioning": True,
                                             "positionwise_layer_type": "conv1d", "positionwise_conv_kernel_size": 3}),
    # rel_pos_type latest (a positional table of 2 * max_len - 1 rows), a convolution module
    "conformer": ("prunable_conformer", {"macaron_style": True, "cnn_module_kernel": 5, "interctc_layer_idx": [1],
                                         "rel_pos_type": "latest", "pos_enc_layer_type": "rel_pos",
                                         "selfattention_layer_type": "rel_selfattn"}),
}
SENTENCES = ("yes", "the cat sat on the mat", "seven green birds flew over the old stone bridge before dawn")


def _export(config, model, out, *options):
    export.main(["--asr_train_config", str(config), "--asr_model_file", str(model), "--format", "onnx",
                 "--output_dir", str(out), *options])
    return out


@pytest.fixture(scope="module")
def speech():
    """Real synthesized speech (eSpeak NG) of 0.6 s, 1.5 s and 3.5 s."""
    speaker = SpeakerConfig("en-us", "m3", 170, 50, 80)
    return [render(text, speaker, Augmentation(lead_s=0.1, trail_s=0.1, snr_db=None)) for text in SENTENCES]


@pytest.fixture(scope="module", params=sorted(ENCODERS))
def exported(request, tmp_path_factory):
    """A tiny random model (utterance MVN with variances) exported at each of its 3 depths."""
    tmp = tmp_path_factory.mktemp(request.param)
    encoder, conf = ENCODERS[request.param]
    config, model = random_model_dir(tmp, encoder, conf, {"interctc_weight": 0.5})
    train = yaml.safe_load(config.read_text())
    train.update(normalize="utterance_mvn", normalize_conf={"norm_means": True, "norm_vars": True})
    config.write_text(yaml.safe_dump(train))
    dirs = {depth: _export(config, model, tmp / f"depth{depth}", "--prune_depth", str(depth)) for depth in (1, 2, 3)}
    return config, model, dirs


def test_onnx_matches_pytorch_at_every_depth_on_speech_of_several_lengths(exported, speech):
    config, model, dirs = exported
    for depth, out in dirs.items():
        meta = yaml.safe_load((out / "onnx.yaml").read_text())
        assert meta["kept_layers"] == list(range(1, depth + 1)) and meta["max_log_prob_difference"] < 1e-3
        ort = OnnxSpeech2Text(out, threads=1)
        s2t = Speech2Text(str(config), str(model), prune_depth=depth, ctc_greedy=True, beam_size=1, ctc_weight=1.0)
        for s in speech:
            expected = pytorch_log_probs(s2t.asr_model, s2t.pruning.kept_units, s)
            got = ort.log_probs(s)
            assert got.shape == expected.shape
            np.testing.assert_allclose(got, expected, atol=1e-3)
            nbest = s2t(s)
            nbest = nbest[0] if isinstance(nbest, tuple) else nbest
            assert ort.token_ids(s) == list(nbest[0][2])  # the same greedy tokens
            assert ort(s) == " ".join(best_text(nbest).split())


def test_a_padded_batch_decodes_as_each_utterance_alone(exported, speech):
    ort = OnnxSpeech2Text(exported[2][3], threads=1)
    batch = ort.batch_log_probs(speech[::-1])[::-1]  # the longest first: the others padded
    for alone, padded in zip((ort.log_probs(s) for s in speech), batch):
        assert alone.shape == padded.shape
        np.testing.assert_allclose(padded, alone, atol=1e-4)
    assert ort.decode_batch(speech) == [ort(s) for s in speech]


@pytest.mark.parametrize("norm_means", [True, False])
@pytest.mark.parametrize("norm_vars", [True, False])
def test_utterance_mvn_is_espnets_on_a_padded_batch(norm_means, norm_vars):
    x = torch.randn(3, 50, 8, generator=torch.Generator().manual_seed(0)) * 3 + 5
    lengths = torch.tensor([50, 31, 7])
    x[1, 31:], x[2, 7:] = 0, 0  # zero padding, as the front end leaves it
    x[2, :, 0] = 4.0  # a constant channel: std 0, floored at eps
    expected, _ = espnet_utterance_mvn(x.clone(), lengths, norm_means=norm_means, norm_vars=norm_vars, eps=1e-5)
    torch.testing.assert_close(utterance_mvn(x, lengths, norm_means, norm_vars, eps=1e-5), expected)


def test_inputs_longer_than_the_positional_table_are_refused_by_name(tmp_path):
    config, model = random_model_dir(tmp_path, *ENCODERS["conformer"])
    out = _export(config, model, tmp_path / "onnx", "--prune_depth", "2")
    meta = yaml.safe_load((out / "onnx.yaml").read_text())
    # ESPnet's table covers 5000 frames (rel_pos latest: 9999 rows): 20006 STFT frames (hop 128,
    # centred) before conv2d subsampling, ((20006 - 1) // 2 - 1) // 2 = 5000
    limit = meta["max_samples"]
    assert limit == 20005 * 128 + 127 and meta["max_seconds"] == round(limit / 16000, 2)
    ort = OnnxSpeech2Text(out, threads=1)
    frames = ort.session.run(None, {"speech": np.zeros((1, limit), np.float32),
                                    "speech_lengths": np.array([limit])})[1]
    assert frames[0] == 5000  # the limit is the table's length, not twice it
    with pytest.raises(InputError, match=f"max_samples={limit}"):
        ort.log_probs(np.zeros(limit + 1, np.float32))
    with pytest.raises(InputError, match="min_samples"):
        ort.log_probs(np.zeros(10, np.float32))


def test_only_the_kept_layers_are_in_the_graph(tmp_path):
    config, model = random_model_dir(tmp_path, encoder_conf={"num_blocks": 6})
    state = torch.load(model)
    per_layer = sum(v.numel() for k, v in state.items() if k.startswith("encoder.encoders.0."))
    sizes = {}
    for depth in (2, 6):
        out = _export(config, model, tmp_path / f"d{depth}", "--prune_depth", str(depth))
        graph = onnx.load(str(out / "model.onnx")).graph
        sizes[depth] = sum(int(np.prod(t.dims)) for t in graph.initializer)
    # the weights of four more layers, and nothing of the dropped layers in the small graph
    assert sizes[6] - sizes[2] == pytest.approx(4 * per_layer, rel=0.05)


def test_int8_decodes_a_trained_model_as_fp32_does(tiny_recipe, tmp_path):
    exp = tiny_recipe["exp"]
    out = _export(exp / "config.yaml", exp / "valid.loss.best.pth", tmp_path / "onnx", "--prune_depth", "4",
                  "--quantize", "int8")
    int8_graph = onnx.load(str(out / "model.int8.onnx")).graph
    assert weight_matmuls(out / "model.onnx") and not weight_matmuls(out / "model.int8.onnx")  # all quantized
    assert any(t.data_type == onnx.TensorProto.INT8 for t in int8_graph.initializer)
    assert any("before_slicing" in n.name for n in int8_graph.node)  # the input layer's patches cut in 8 bits
    utts = load_utterances(tiny_recipe["data"] / "test")
    fp32, int8 = OnnxSpeech2Text(out, threads=1), OnnxSpeech2Text(out, threads=1, precision="int8")
    refs = [u.text for u in utts]
    hyp32, hyp8 = fp32.decode_batch([u.speech for u in utts]), [int8(u.speech) for u in utts]
    _, cer_between = error_rates(hyp32, hyp8)
    (_, cer32), (_, cer8) = error_rates(refs, hyp32), error_rates(refs, hyp8)
    assert cer_between < 0.05 and cer8 < cer32 + 0.02, (cer_between, cer32, cer8)


def test_quantize_needs_onnx_and_int8_needs_its_model(tmp_path):
    config, model = random_model_dir(tmp_path)
    with pytest.raises(SystemExit, match="--quantize int8 needs --format onnx"):
        export.main(["--asr_train_config", str(config), "--asr_model_file", str(model), "--prune_depth", "2",
                     "--output_dir", str(tmp_path / "espnet"), "--quantize", "int8"])
    out = _export(config, model, tmp_path / "onnx", "--prune_depth", "2")
    with pytest.raises(ConfigError, match="--quantize int8"):
        OnnxSpeech2Text(out, precision="int8")


def test_an_existing_directory_is_not_overwritten_unasked(tmp_path):
    config, model = random_model_dir(tmp_path)
    out = tmp_path / "onnx"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit, match="--overwrite"):
        _export(config, model, out, "--prune_depth", "2")
    assert (out / "keep.txt").read_text() == "mine" and not (out / "model.onnx").exists()


def test_the_matmul_forms_of_convolutions_compute_the_convolutions():
    from espnet2.legacy.nets.pytorch_backend.transformer.multi_layer_conv import MultiLayeredConv1d

    from espnet_layerprune.export.onnx_layers import MatMulConv2d, PaddingSafeConvFF

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(6, 5, 3, 2)
    x = torch.randn(2, 6, 17, 9)
    torch.testing.assert_close(MatMulConv2d(conv)(x), conv(x), atol=1e-5, rtol=1e-5)
    ff = MultiLayeredConv1d(6, 10, 3, 0.0)
    x, mask = torch.randn(2, 11, 6), torch.ones(2, 1, 11, dtype=torch.bool)
    safe = PaddingSafeConvFF(ff, [mask])
    torch.testing.assert_close(safe(x), ff(x), atol=1e-5, rtol=1e-5)  # unpadded: ESPnet's module
    mask[1, :, 7:] = False  # padded: the first 7 frames as if the utterance ended there
    torch.testing.assert_close(safe(x)[1, :7], ff(x[1:, :7])[0], atol=1e-5, rtol=1e-5)

"""End to end: corpus -> tokens -> stats -> ESPnet training -> decoding at two depths -> RESULTS.

Everything runs for real (eSpeak NG audio, espnet2 trainer, espnet2 decoding) through
this package's entry points, at a tiny size.
"""

import json

import pytest
import torch
import yaml

import espnet_layerprune  # noqa: F401
from espnet_layerprune.inference.speech2text import Speech2Text

from tiny_recipe import TINY_DEPTHS

pytestmark = pytest.mark.slow


def test_every_stage_reports_progress(tiny_recipe):
    for stage in range(1, 8):
        assert f"stage {stage} done in" in tiny_recipe["log"]
    assert "1epoch: train loss" in tiny_recipe["log"]


def test_training_used_the_prunable_encoder_and_intermediate_ctc(tiny_recipe):
    config = yaml.safe_load((tiny_recipe["exp"] / "config.yaml").read_text())
    assert config["encoder"] == "prunable_transformer"
    log = (tiny_recipe["exp"] / "train.log").read_text()
    assert "loss_interctc_layer1" in log and "PrunableTransformerEncoder" in log
    assert (tiny_recipe["exp"] / "valid.loss.best.pth").exists()


def test_decodes_exist_for_each_depth_with_the_kept_layers(tiny_recipe):
    test_keys = {line.split()[0] for line in (tiny_recipe["data"] / "test" / "text").read_text().splitlines()}
    for depth in TINY_DEPTHS:
        out = tiny_recipe["decode"] / f"depth{depth}"
        hyp_keys = {line.split(maxsplit=1)[0] for line in (out / "1best_recog" / "text").read_text().splitlines()}
        assert hyp_keys == test_keys
        info = yaml.safe_load((out / "pruning.yaml").read_text())
        assert info["kept_layers"] == list(range(1, depth + 1))
        assert info["decode_seconds"] > 0
        score = json.loads((out / "score.json").read_text())
        assert 0 <= score["cer"] and score["utterances"] == len(test_keys)
    log = (tiny_recipe["decode"] / "depth2" / "decode.log").read_text()
    assert "keeping 2/4 encoder layers [1, 2]" in log


def test_results_table_and_plot(tiny_recipe):
    results = (tiny_recipe["exp"] / "RESULTS.md").read_text()
    sections = results.split("\n## ")
    for decoding in ("decode_decode_ctc_valid.loss.best", "decode_decode_ctc_lexicon_valid.loss.best"):
        section = next(s for s in sections if s.startswith(decoding))  # greedy, then lexicon + 3-gram
        rows = [line for line in section.splitlines() if line.startswith("| depth ")]
        assert [r.split("|")[1].strip() for r in rows] == [f"depth {d}" for d in TINY_DEPTHS]
    assert (tiny_recipe["exp"] / "results_by_depth.png").stat().st_size > 5000
    # the learning curve: one row per epoch, validation WER and CER of the final layer
    assert "## Learning curve" in results and "| 1 |" in results
    assert (tiny_recipe["exp"] / "learning_curve.png").stat().st_size > 5000


def test_depths_give_different_models_in_python_api(tiny_recipe):
    """The same checkpoint decoded at two depths: different encoders, fewer parameters."""
    import soundfile

    exp = tiny_recipe["exp"]
    wav = (tiny_recipe["data"] / "test" / "wav.scp").read_text().split()[1]
    speech, _ = soundfile.read(wav)
    outs = {}
    for depth in TINY_DEPTHS:
        s2t = Speech2Text(asr_train_config=exp / "config.yaml", asr_model_file=exp / "valid.loss.best.pth",
                          prune_depth=depth, beam_size=1, ctc_weight=1.0, lm_weight=0.0)
        enc, _ = s2t.asr_model.encode(torch.tensor(speech, dtype=torch.float32)[None], torch.tensor([len(speech)]))
        outs[depth] = (enc[0] if isinstance(enc, tuple) else enc, s2t.pruning.encoder_params_kept)
        assert isinstance(s2t(speech), (list, tuple))
    (full, p_full), (half, p_half) = outs[4], outs[2]
    assert full.shape == half.shape and not torch.allclose(full, half)
    assert p_half < p_full


def test_rerun_skips_finished_decodes(tiny_recipe):
    from tiny_recipe import run_recipe

    proc = run_recipe(tiny_recipe["work"], "--stage", "5", "--stop_stage", "5")
    assert "already decoded" in proc.stdout


def test_greedy_ctc_decoding_is_the_best_path(tiny_recipe):
    import itertools

    import soundfile

    exp = tiny_recipe["exp"]
    wav = (tiny_recipe["data"] / "test" / "wav.scp").read_text().split()[1]
    speech, _ = soundfile.read(wav)
    s2t = Speech2Text(asr_train_config=exp / "config.yaml", asr_model_file=exp / "valid.loss.best.pth",
                      prune_depth=2, ctc_greedy=True, beam_size=1, ctc_weight=1.0, lm_weight=0.0)
    results = s2t(speech)
    nbest = results[0] if isinstance(results, tuple) else results  # (nbest, intermediate CTC) with interctc
    text, token, token_int, _ = nbest[0]
    x = torch.tensor(speech, dtype=torch.float32)[None]
    enc, _ = s2t.asr_model.encode(x, torch.tensor([x.shape[1]]))
    enc = enc[0] if isinstance(enc, tuple) else enc
    best_path = s2t.asr_model.ctc.argmax(enc)[0].tolist()
    expected = [i for i, _ in itertools.groupby(best_path) if i != s2t.asr_model.blank_id]
    assert token_int == expected
    assert token == s2t.converter.ids2tokens(expected)


def test_lexicon_decoding_writes_only_words_of_the_training_text(tiny_recipe):
    def words(path):
        return {w for line in path.read_text().splitlines() for w in line.split()[1:]}

    assert (tiny_recipe["data"] / "lm" / "word3gram.json").is_file()
    train_words = words(tiny_recipe["data"] / "train" / "text")
    for depth in TINY_DEPTHS:
        out = tiny_recipe["exp"] / "decode_decode_ctc_lexicon_valid.loss.best" / "test" / f"depth{depth}"
        assert words(out / "1best_recog" / "text") <= train_words
        assert "lexicon-constrained CTC beam search" in (out / "decode.log").read_text()


def test_onnx_export_decodes_real_audio_like_pytorch(tiny_recipe, tmp_path):
    import numpy as np

    from espnet_layerprune.bin import export
    from espnet_layerprune.inference.speech2text import best_text
    from espnet_layerprune.models.pruning import head_for
    from espnet_layerprune.core.data import load_utterances
    from espnet_layerprune.export.onnx_runtime import OnnxSpeech2Text

    exp, depth = tiny_recipe["exp"], TINY_DEPTHS[-1]
    config, model = exp / "config.yaml", exp / "valid.loss.best.pth"
    export.main(["--asr_train_config", str(config), "--asr_model_file", str(model), "--format", "onnx",
                 "--prune_depth", str(depth), "--output_dir", str(tmp_path / "onnx")])
    ort = OnnxSpeech2Text(tmp_path / "onnx", threads=1)
    s2t = Speech2Text(asr_train_config=config, asr_model_file=model, prune_depth=depth, ctc_greedy=True,
                      beam_size=1, ctc_weight=1.0)
    for utt in load_utterances(tiny_recipe["data"] / "test", max_utts=5):
        x = torch.from_numpy(utt.speech)[None]
        with torch.no_grad():
            enc, _ = s2t.asr_model.encode(x, torch.tensor([x.size(1)]))
            enc = enc[0] if isinstance(enc, tuple) else enc
            expected = head_for(s2t.asr_model, depth).log_softmax(enc)[0].numpy()
        np.testing.assert_allclose(ort.log_probs(utt.speech), expected, atol=1e-3)
        assert ort(utt.speech) == best_text(s2t(utt.speech))


def test_early_exit_on_real_audio_decodes_what_its_exit_depth_decodes(tiny_recipe):
    from espnet_layerprune.core.data import load_utterances

    exp = tiny_recipe["exp"]
    s2t = Speech2Text(asr_train_config=exp / "config.yaml", asr_model_file=exp / "valid.loss.best.pth",
                      prune_depth="auto", exit_threshold=0.5, exit_patience=1, ctc_greedy=True, beam_size=1,
                      ctc_weight=1.0)
    for utt in load_utterances(tiny_recipe["data"] / "test", max_utts=5):
        text = s2t(utt.speech)[0][0]
        assert text == s2t.decode_all_depths(utt.speech)[s2t.last_exit["layer"]]

"""Speech2Text from Python: from_pretrained, and one CTC head rule for every path."""

import logging

import numpy as np
import pytest
import torch
from model_dirs import random_model_dir

from espnet_layerprune.bin.asr_inference import Speech2Text
from espnet_layerprune.ctc import best_path, head_for
from espnet_layerprune.data import Utterance
from espnet_layerprune.dev_eval import DevEvaluator


def _speech(seconds=1.0, seed=0):
    return (0.1 * np.random.default_rng(seed).standard_normal(int(16000 * seconds))).astype(np.float32)


def test_from_pretrained_returns_ours_with_every_pruning_option(tmp_path):
    config, model = random_model_dir(tmp_path)
    s2t = Speech2Text.from_pretrained(asr_train_config=str(config), asr_model_file=str(model),
                                      prune_depth=2, ctc_greedy=True, beam_size=1, ctc_weight=1.0)
    assert isinstance(s2t, Speech2Text) and s2t.pruning.kept_layers == (1, 2)
    plain = Speech2Text.from_pretrained(asr_train_config=str(config), asr_model_file=str(model))
    assert isinstance(plain, Speech2Text) and plain.pruning.kept_layers == (1, 2, 3)


def test_greedy_decoding_says_so_in_the_log(tmp_path, caplog):
    config, model = random_model_dir(tmp_path)
    with caplog.at_level(logging.INFO):
        s2t = Speech2Text(str(config), str(model), ctc_greedy=True, beam_size=1, ctc_weight=1.0)
        s2t(_speech())
    assert "greedy CTC (best path)" in caplog.text


def _per_size_model(tmp_path):
    supernet = {"method": "simple_top_k", "sizes": [4, 8, 12], "stage1_steps": 3, "anneal_step": 4}
    config, path = random_model_dir(
        tmp_path, "prunable_conformer", {"macaron_style": True, "cnn_module_kernel": 5},
        {"per_size_ctc": True, "supernet": supernet}, model="layerprune",
    )
    from espnet2.tasks.asr import ASRTask

    model, _ = ASRTask.build_model_from_file(config, path, "cpu")
    with torch.no_grad():
        model.supernet.scores.copy_(torch.tensor([0.0] * 4 + [-1.0] * 4 + [1.0] * 4))
        for p in model.size_ctc.parameters():  # heads start as copies of the shared one
            p.add_(torch.randn_like(p))
    torch.save(model.state_dict(), path)
    return config, path


@pytest.mark.parametrize("request_", [{"prune_depth": 2}, {"prune_size": 8}])
def test_per_size_heads_follow_one_rule_in_decoding_and_evaluation(tmp_path, request_):
    """Version 0.1 decoded --prune_depth N with the largest net's head while selection and
    export used the head of N * U units."""
    config, path = _per_size_model(tmp_path)
    s2t = Speech2Text(str(config), str(path), beam_size=2, ctc_weight=1.0, **request_)
    model = s2t.asr_model
    shared = {k: v.clone() for k, v in model.ctc.state_dict().items()}
    assert len(s2t.pruning.kept_units) == 8
    head = head_for(model, 8)
    assert head is model.size_ctc[1] and s2t.ctc_head is head
    # the beam search scores with the size's head; the model's shared head is untouched
    assert s2t.beam_search.scorers["ctc"].ctc is head
    assert all(torch.equal(v, model.ctc.state_dict()[k]) for k, v in shared.items())
    # greedy decoding and the dev-set evaluator agree on the hypothesis
    greedy = Speech2Text(str(config), str(path), ctc_greedy=True, beam_size=1, ctc_weight=1.0, **request_)
    speech = _speech(1.2, seed=3)
    text = greedy(speech)[0][0]
    ev = DevEvaluator(greedy.asr_model, [Utterance("u", speech, text or "a")], token_type="char")
    assert ev.to_text(_best(ev, greedy.pruning.kept_layers)) == text


def _best(ev, layers):
    (batch,) = ev._batches
    enc, olens, _ = ev._run(batch, tuple(layers))
    return best_path(ev._head(len(layers)).log_softmax(enc), olens)[0]

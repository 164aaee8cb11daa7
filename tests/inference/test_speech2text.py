"""Speech2Text from Python: from_pretrained, and one CTC head rule for every path."""

import logging

import numpy as np
import pytest
import torch
from model_dirs import per_size_supernet_dir, random_model_dir

from espnet_layerprune.inference.speech2text import Speech2Text
from espnet_layerprune.core.ctc import best_path
from espnet_layerprune.models.pruning import head_for
from espnet_layerprune.core.data import Utterance
from espnet_layerprune.analysis.dev_eval import DevEvaluator


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


@pytest.mark.parametrize("request_", [{"prune_depth": 2}, {"prune_size": 8}])
def test_per_size_heads_follow_one_rule_in_decoding_and_evaluation(tmp_path, request_):
    """Version 0.1 decoded --prune_depth N with the largest net's head while selection and
    export used the head of N * U units."""
    config, path, _ = per_size_supernet_dir(tmp_path)
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


@pytest.mark.parametrize("model", ["espnet", "layerprune"])
def test_hybrid_ctc_attention_decodes_at_a_pruned_depth(tmp_path, model):
    """An attention decoder reads the pruned encoder's output: joint CTC/attention beam search
    runs on the kept layers, and a different depth gives a different encoder output."""
    supernet = {"supernet": {"method": "stochastic_depth"}} if model == "layerprune" else {}
    config, path = random_model_dir(tmp_path, encoder_conf={"interctc_layer_idx": "all"},
                                    model_conf={"interctc_weight": 0.3, **supernet}, model=model,
                                    decoder="transformer")
    outputs = {}
    for depth in (3, 1):
        s2t = Speech2Text(str(config), str(path), prune_depth=depth, beam_size=2, ctc_weight=0.3,
                          lm_weight=0.0, maxlenratio=0.5)
        assert s2t.asr_model.decoder is not None and s2t.pruning.kept_layers == tuple(range(1, depth + 1))
        results = s2t(_speech())
        if isinstance(results, tuple):  # with intermediate CTC ESPnet also returns its hypotheses
            results = results[0]
        assert len(results) >= 1 and isinstance(results[0][0], str)
        speech = torch.tensor(_speech())[None]
        with torch.no_grad():
            enc = s2t.asr_model.encode(speech, torch.tensor([speech.size(1)]))[0]
            outputs[depth] = enc[0] if isinstance(enc, tuple) else enc
    assert not torch.allclose(outputs[3], outputs[1])


def _top(results):
    """The best hypothesis (text, tokens, ids, hyp); with intermediate CTC, ESPnet returns
    (n-best, intermediate n-best)."""
    return (results[0] if isinstance(results, tuple) else results)[0]


def test_per_call_depth_leaves_the_object_unchanged_and_matches_a_fixed_depth_object(tmp_path):
    config, model = random_model_dir(tmp_path, encoder_conf={"interctc_layer_idx": "all"},
                                     model_conf={"interctc_weight": 0.5})
    opts = dict(ctc_greedy=True, beam_size=1, ctc_weight=1.0)
    flexible = Speech2Text(str(config), str(model), **opts)
    speech = _speech(seed=3)
    for depth in (1, 2):
        fixed = Speech2Text(str(config), str(model), prune_depth=depth, **opts)
        assert _top(flexible(speech, prune_depth=depth))[2] == _top(fixed(speech))[2]  # token ids
    assert _top(flexible(speech, prune_layers=[1, 3]))[2] == \
        _top(Speech2Text(str(config), str(model), prune_layers=[1, 3], **opts)(speech))[2]
    assert flexible.asr_model.encoder.kept_units == (1, 2, 3)  # the object's own depth is untouched
    with pytest.raises(ValueError, match="--prune_depth"):
        flexible(speech, prune_depth=4)


def test_threads_decode_at_their_own_depths(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    config, model = random_model_dir(tmp_path, encoder_conf={"interctc_layer_idx": "all"},
                                     model_conf={"interctc_weight": 0.5})
    s2t = Speech2Text(str(config), str(model), ctc_greedy=True, beam_size=1, ctc_weight=1.0)
    speech = _speech(seed=4)
    expected = {d: _top(s2t(speech, prune_depth=d))[2] for d in (1, 2, 3)}
    with ThreadPoolExecutor(3) as pool:
        got = list(pool.map(lambda d: (d, _top(s2t(speech, prune_depth=d))[2]), [1, 2, 3] * 4))
    assert all(ids == expected[d] for d, ids in got)


@pytest.mark.parametrize("conditioning", [False, True])
def test_decode_all_depths_from_one_pass_equals_decoding_each_depth(tmp_path, conditioning):
    config, model = random_model_dir(
        tmp_path, encoder_conf={"interctc_layer_idx": "all", "interctc_use_conditioning": conditioning},
        model_conf={"interctc_weight": 0.5})
    s2t = Speech2Text(str(config), str(model), ctc_greedy=True, beam_size=1, ctc_weight=1.0)
    speech = _speech(seed=5)
    calls = []
    hook = s2t.asr_model.encoder.embed.register_forward_pre_hook(lambda *a: calls.append(1))
    texts = s2t.decode_all_depths(speech)
    assert len(calls) == 1  # the front end ran once
    hook.remove()
    assert sorted(texts) == [1, 2, 3]
    for depth, text in texts.items():
        assert text == _top(s2t(speech, prune_depth=depth))[0]


def test_decoding_computes_intermediate_ctc_only_when_asked(tmp_path):
    """A lean call (the default) returns ESPnet's plain n-best list and never runs the
    intermediate layers' CTC; ``return_interctc=True`` gives the stock (n-best, intermediate) pair
    with the same final text."""
    config, path = random_model_dir(tmp_path, encoder_conf={"interctc_layer_idx": "all"},
                                    model_conf={"interctc_weight": 0.3})
    opts = dict(ctc_greedy=True, beam_size=1, ctc_weight=1.0)
    lean = Speech2Text(str(config), str(path), **opts)
    stock = Speech2Text(str(config), str(path), return_interctc=True, **opts)
    calls = []
    for s2t in (lean, stock):
        s2t.asr_model.encoder.after_norm.register_forward_hook(lambda m, i, o: calls.append(o.shape))
    speech = _speech(1.3, seed=5)
    calls.clear()
    lean_results = lean(speech)
    lean_norms = len(calls)
    calls.clear()
    full_results = stock(speech)
    assert isinstance(lean_results, list) and isinstance(full_results, tuple)
    nbest, intermediate = full_results
    assert sorted(intermediate) == [1, 2]  # layers 1 and 2 of 3, decoded by ESPnet's loop
    assert lean_results[0][0] == nbest[0][0]
    assert lean_norms == 1 and len(calls) == 3  # the final LayerNorm only, against one per CTC layer

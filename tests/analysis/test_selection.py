"""Layer-selection strategies, on a synthetic dev evaluator and on a small random ESPnet model."""

import numpy as np
import pytest
import torch
import yaml

from espnet_layerprune.core.data import Utterance
from model_dirs import espnet_default_config
from espnet_layerprune.analysis.dev_eval import DevEvaluator, DevScore
from espnet_layerprune.core.plan import PrunePlan
from espnet_layerprune.analysis.selection import (
    evenly_spaced_layers,
    parse_depths,
    select_layers,
    top_layers,
)


class FakeEvaluator:
    """Dev error = sum of the importance of the removed layers; counts every scoring."""

    def __init__(self, importance, change=None, model=None):
        self.importance = importance
        self.num_layers = len(importance)
        self.change = change or [1.0] * self.num_layers  # how much each layer alters its input
        self.model = model
        self.evaluations = 0
        self.steps = []

    def evaluate(self, layers):
        self.evaluations += 1
        removed = set(range(1, self.num_layers + 1)) - set(layers)
        err = 10.0 + sum(self.importance[l - 1] for l in removed)
        return DevScore(cer=err, wer=2 * err, utterances=10)

    def evaluate_removals(self, layers):
        self.steps.append(len(layers))
        return {l: self.evaluate([x for x in layers if x != l]) for l in layers}

    def evaluate_prefixes(self):
        return {d: self.evaluate(range(1, d + 1)) for d in range(1, self.num_layers + 1)}

    def layer_outputs(self, layers):
        rng = np.random.default_rng(0)
        h = rng.standard_normal((800, 8))
        outs = [h]
        for l in layers:
            h = h + self.change[l - 1] * rng.standard_normal((800, 8))
            outs.append(h)
        return outs


# ---------------------------------------------------------------- fixed rules
def test_top_keeps_the_first_layers():
    assert top_layers(12, 3) == (1, 2, 3)
    sel = select_layers("top", FakeEvaluator([1] * 4), [4, 2])
    assert sel.layers == {4: (1, 2, 3, 4), 2: (1, 2)}


@pytest.mark.parametrize(
    "L,N,expected",
    [
        (12, 6, (2, 4, 6, 8, 10, 12)),  # LayerDrop's "every other layer"
        (12, 4, (3, 6, 9, 12)),
        (12, 5, (3, 5, 8, 10, 12)),
        (12, 12, tuple(range(1, 13))),
        (12, 1, (12,)),
        (4, 3, (2, 3, 4)),
        (4, 2, (2, 4)),
    ],
)
def test_evenly_spaced_keeps_ceil_i_L_over_N_always_the_last(L, N, expected):
    assert evenly_spaced_layers(L, N) == expected


def test_evenly_spaced_is_always_valid():
    for L in range(1, 25):
        for N in range(1, L + 1):
            kept = evenly_spaced_layers(L, N)
            assert len(kept) == N and kept[-1] == L and list(kept) == sorted(set(kept))


# ---------------------------------------------------------------- greedy
def test_greedy_removes_one_layer_per_step_least_important_first():
    importance = [5.0, 0.1, 3.0, 0.2, 4.0, 1.0]
    ev = FakeEvaluator(importance)
    sel = select_layers("greedy", ev)
    assert sorted(sel.layers) == [1, 2, 3, 4, 5, 6]
    for d in range(1, 6):
        removed = set(sel.layers[d + 1]) - set(sel.layers[d])
        assert len(removed) == 1 and set(sel.layers[d]) < set(sel.layers[d + 1])
    order = [(set(sel.layers[d + 1]) - set(sel.layers[d])).pop() for d in range(5, 0, -1)]
    assert order == [2, 4, 6, 3, 5]  # ascending importance
    assert sel.scores[4].cer == pytest.approx(10.0 + 0.1 + 0.2)


def test_greedy_cost_is_linear_in_the_candidates_of_each_step():
    ev = FakeEvaluator([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    select_layers("greedy", ev)
    assert ev.steps == [6, 5, 4, 3, 2]  # one step per depth, d candidates each
    assert ev.evaluations == 1 + 6 + 5 + 4 + 3 + 2  # full model + one scoring per candidate


def test_greedy_records_only_requested_depths_but_walks_down_to_the_smallest():
    ev = FakeEvaluator([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    sel = select_layers("greedy", ev, [5, 2])
    assert sorted(sel.layers) == [2, 5] and ev.steps == [6, 5, 4, 3]
    assert sel.layers[2] == (5, 6)


def test_greedy_ties_remove_the_higher_layer():
    sel = select_layers("greedy", FakeEvaluator([1.0] * 4), [3, 2, 1])
    assert sel.layers == {3: (1, 2, 3), 2: (1, 2), 1: (1,)}


# ---------------------------------------------------------------- svcca, scores
def test_svcca_removes_the_layer_that_changes_its_input_least():
    ev = FakeEvaluator([1.0] * 4, change=[1.0, 0.01, 1.0, 0.05])
    sel = select_layers("svcca", ev, [3, 2])
    assert sel.layers[3] == (1, 3, 4)
    assert sel.layers[2] == (1, 3)
    assert sel.scores[2].cer == pytest.approx(12.0)


def test_scores_without_learned_scores_is_a_clear_error():
    with pytest.raises(ValueError, match="needs a data-driven supernet.*ESPnetASRModel"):
        select_layers("scores", FakeEvaluator([1.0] * 4, model=type("ESPnetASRModel", (), {})()), [2])


def test_unknown_strategy_and_bad_depths_are_refused():
    with pytest.raises(ValueError, match="--strategy must be one of"):
        select_layers("random", FakeEvaluator([1.0] * 4))
    with pytest.raises(ValueError, match=r"--depths must be in \[1, 4\], got 5"):
        parse_depths("5,2", 4)
    with pytest.raises(ValueError, match="comma-separated integers"):
        parse_depths("two", 4)
    assert parse_depths(None, 3) == [3, 2, 1] and parse_depths("1,3,...", 4) == [3, 1]


# ---------------------------------------------------------------- plans
def test_plan_matches_the_model_depth_and_round_trips(tmp_path):
    sel = select_layers("greedy", FakeEvaluator([5.0, 0.1, 3.0, 0.2]), [3, 2])
    path = sel.to_plan().save(tmp_path / "prune_plan.yaml")
    plan = PrunePlan.load(path)
    assert plan.num_layers == 4 and plan.strategy == "greedy"
    assert plan.layers_for_depth(2, 4) == sel.layers[2]
    assert plan.depths[3]["dev_cer"] == pytest.approx(sel.scores[3].cer)
    assert "dev_wer" in plan.depths[2]
    with pytest.raises(ValueError, match="made for a 4-layer encoder but this model has 6"):
        plan.layers_for_depth(2, 6)
    with pytest.raises(ValueError, match="--prune_depth 1 is not in the prune plan"):
        plan.layers_for_depth(1, 4)


# ---------------------------------------------------------------- the real evaluator
def _random_model(tmp_path, model_extra=None, **encoder_conf):
    """An untrained 3-layer prunable transformer CTC model (random weights, fixed seed)."""
    from espnet2.tasks.asr import ASRTask

    import espnet_layerprune  # noqa: F401

    conf = {
        **espnet_default_config(),
        "token_list": ["<blank>", "<unk>", "a", "b", "c", "<space>", "<sos/eos>"],
        "token_type": "char",
        "frontend": "default",
        "frontend_conf": {"n_fft": 256, "hop_length": 128, "n_mels": 20},
        "normalize": None,
        "encoder": "prunable_transformer",
        "encoder_conf": {"output_size": 16, "attention_heads": 2, "linear_units": 24,
                         "num_blocks": 3, "input_layer": "conv2d", **encoder_conf},
        "decoder": None,
        "model_conf": {"ctc_weight": 1.0},
        **(model_extra or {}),
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(conf))
    torch.manual_seed(0)
    model, _ = ASRTask.build_model_from_file(path, None, "cpu")
    return model.eval()


def _utterances(n=4):
    rng = np.random.default_rng(0)
    return [Utterance(f"u{i}", (0.1 * rng.standard_normal(4000 + 900 * i)).astype(np.float32),
                      "a b c ab") for i in range(n)]


def _decode_with_encode(model, utt, layers):
    """Reference: ESPnet's model.encode with the encoder pruned, then best-path CTC."""
    speech = torch.as_tensor(utt.speech)[None]
    with torch.no_grad(), model.encoder.pruned(layers=layers):
        enc, _ = model.encode(speech, torch.tensor([speech.size(1)]))
    enc = enc[0] if isinstance(enc, tuple) else enc
    ids = torch.unique_consecutive(model.ctc.argmax(enc)[0]).tolist()
    return [i for i in ids if i != model.blank_id]


@pytest.mark.parametrize("encoder_conf", [{}, {"interctc_layer_idx": [1, 2], "interctc_use_conditioning": True}])
def test_cached_evaluator_scores_exactly_as_decoding_does(tmp_path, encoder_conf):
    model = _random_model(tmp_path, **encoder_conf)
    utts = _utterances()
    ev = DevEvaluator(model, utts, token_type="char")
    hyps = {}
    for layers in [(1, 2, 3), (1, 3), (2,)]:
        for u in utts:
            hyps[u.key] = ev.to_text(_decode_with_encode(model, u, layers))
        assert ev.evaluate(layers) == ev._score(hyps)
    fresh = DevEvaluator(model, utts, token_type="char")
    assert fresh.evaluate_prefixes() == {d: ev.evaluate(range(1, d + 1)) for d in (1, 2, 3)}
    fresh = DevEvaluator(model, utts, token_type="char")
    assert fresh.evaluate_removals((1, 2, 3)) == {
        1: ev.evaluate((2, 3)), 2: ev.evaluate((1, 3)), 3: ev.evaluate((1, 2))
    }


def test_evaluator_reuses_the_cache_and_scores_each_set_once(tmp_path):
    ev = DevEvaluator(_random_model(tmp_path), _utterances(), token_type="char", batch_size=2)
    ev.evaluate_removals((1, 2, 3))
    assert ev.evaluations == 3 and ev.blocks_run == 2 * (3 + 2 + 1)  # 2 batches; removing l restarts below l
    ev.evaluate((1, 2))
    assert ev.evaluations == 3  # already scored as "without layer 3"


def test_scores_strategy_on_a_data_driven_supernet(tmp_path):
    supernet = {"method": "simple_top_k", "sizes": [1, 2, 3], "stage1_steps": 2}
    model = _random_model(tmp_path, {"model": "layerprune",
                                     "model_conf": {"ctc_weight": 1.0, "supernet": supernet}})
    with torch.no_grad():
        model.supernet.scores.copy_(torch.tensor([0.1, 0.9, 0.5]))
    ev = DevEvaluator(model, _utterances(2), token_type="char")
    sel = select_layers("scores", ev, [2, 1])
    assert sel.layers == {2: (2, 3), 1: (2,)}
    assert sel.scores[2] == ev.evaluate((2, 3))


def test_empty_dev_set_is_a_clear_error():
    with pytest.raises(ValueError, match="dev set is empty"):
        DevEvaluator(None, [])

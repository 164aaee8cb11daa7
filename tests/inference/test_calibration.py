"""What a calibration table's costs measure: audio at the front end's rate, a length-balanced
sample, and the parameters of the decoding that runs."""

import numpy as np
import pytest
import yaml
from model_dirs import random_model_dir

from espnet_layerprune.core.data import Utterance
from espnet_layerprune.inference.calibration import decoding_parameter_count, length_balanced, sample_rate
from espnet_layerprune.inference.speech2text import Speech2Text


def _utts(lengths):
    return [Utterance(f"u{i}", np.zeros(n, dtype=np.float32), "a") for i, n in enumerate(lengths)]


def test_the_sample_spans_short_to_long_utterances_evenly_in_their_own_order():
    rng = np.random.default_rng(0)
    utts = _utts(rng.permutation(np.arange(1, 101) * 160))  # 10 ms .. 1 s, shuffled
    picked = length_balanced(utts, 5)
    assert sorted(len(u.speech) // 160 for u in picked) == [1, 26, 51, 75, 100]  # quantiles 0, .25, .5, .75, 1
    assert [u.key for u in picked] == [u.key for u in utts if u in picked]
    assert length_balanced(utts, 100) == utts and length_balanced(utts[:3], 20) == utts[:3]
    assert [len(u.speech) for u in length_balanced(_utts([300, 100, 200]), 1)] == [200]  # the median
    with pytest.raises(ValueError, match="at least one utterance"):
        length_balanced(utts, 0)


def test_the_sample_rate_is_read_from_the_models_front_end(tmp_path):
    from espnet2.tasks.asr import ASRTask

    for fs, name in ((8000, "narrow"), (None, "default")):
        config, _ = random_model_dir(tmp_path, name=name, encoder_conf={"num_blocks": 1})
        conf = yaml.safe_load(config.read_text())
        conf["frontend_conf"].update({"fs": fs} if fs else {})
        config.write_text(yaml.safe_dump(conf))
        model, args = ASRTask.build_model_from_file(config, None, "cpu")
        assert sample_rate(model) == (fs or 16000)  # ESPnet's default
        assert sample_rate(object(), args) == (fs or 16000)  # no front end: its config


def test_the_attention_decoder_counts_only_when_the_decoding_runs_it(tmp_path):
    config, model = random_model_dir(tmp_path, decoder="transformer")
    greedy = Speech2Text(str(config), str(model), ctc_greedy=True, beam_size=1, ctc_weight=1.0)
    hybrid = Speech2Text(str(config), str(model), beam_size=2, ctc_weight=0.3)
    ctc_only = Speech2Text(str(config), str(model), beam_size=2, ctc_weight=1.0)
    decoder = sum(p.numel() for p in greedy.asr_model.decoder.parameters())
    units = greedy.pruning.kept_units
    assert decoder > 0
    assert decoding_parameter_count(hybrid, units) - decoding_parameter_count(greedy, units) == decoder
    assert decoding_parameter_count(ctc_only, units) == decoding_parameter_count(greedy, units)
    assert decoding_parameter_count(greedy, units[:1]) < decoding_parameter_count(greedy, units)

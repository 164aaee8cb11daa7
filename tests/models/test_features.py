"""The one feature pipeline: what every path feeds the encoder is what ESPnet's encode() feeds it."""

import numpy as np
import pytest
import torch
import yaml
from model_dirs import random_model_dir

from espnet_layerprune.models.features import encoder_input, features


def _model(tmp_path, **extra):
    from espnet2.tasks.asr import ASRTask

    config, path = random_model_dir(tmp_path, encoder_conf={"interctc_layer_idx": [1]},
                                    model_conf={"interctc_weight": 0.3})
    conf = yaml.safe_load(config.read_text())
    conf.update(extra)
    config.write_text(yaml.safe_dump(conf))
    model, _ = ASRTask.build_model_from_file(config, path, "cpu")
    return model


def _speech(n=2):
    rng = np.random.default_rng(0)
    lengths = torch.tensor([16000, 12000][:n])
    speech = torch.zeros(n, 16000)
    for i, length in enumerate(lengths):
        speech[i, :length] = torch.from_numpy(0.1 * rng.standard_normal(int(length)).astype(np.float32))
    return speech, lengths


@pytest.mark.parametrize("normalize", [None, "utterance_mvn"])
def test_the_encoder_input_gives_espnets_own_encoder_output(tmp_path, normalize):
    model = _model(tmp_path, normalize=normalize).eval()
    speech, lengths = _speech()
    with torch.no_grad():
        (expected, inter), expected_lens = model.encode(speech, lengths)
        (out, ours_inter), out_lens, _ = model.encoder.run_units(encoder_input(model, speech, lengths))
    assert torch.equal(out, expected) and torch.equal(out_lens, expected_lens)
    assert [i for i, _ in ours_inter] == [i for i, _ in inter] == [1]


def test_specaugment_only_in_training(tmp_path):
    model = _model(tmp_path, specaug="specaug", specaug_conf={
        "apply_time_warp": False, "apply_freq_mask": True, "freq_mask_width_range": [4, 8],
        "num_freq_mask": 2, "apply_time_mask": False})
    speech, lengths = _speech(1)
    model.eval()
    plain, plain_lens = features(model, speech, lengths)
    again, _ = features(model, speech, lengths)
    assert torch.equal(plain, again)  # nothing random in eval
    model.train()
    torch.manual_seed(0)
    masked, masked_lens = features(model, speech, lengths)
    assert torch.equal(masked_lens, plain_lens) and not torch.equal(masked, plain)
    assert (masked == 0).sum() > (plain == 0).sum()  # frequency bands masked to zero

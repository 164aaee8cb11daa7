"""Pruning a built model (models/pruning.py): stock encoders upgraded in place, refusals, results."""

import pytest
import torch
from espnet2.asr.encoder.conformer_encoder import ConformerEncoder
from espnet2.asr.encoder.transformer_encoder import TransformerEncoder

from espnet_layerprune.models.pruning import as_prunable, prune_model
from espnet_layerprune.core.errors import ConfigError

SMALL = dict(input_size=20, output_size=16, attention_heads=2, linear_units=24, num_blocks=3)


class _Model(torch.nn.Module):
    """What prune_model needs of an ESPnet model: an ``encoder`` attribute."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder


@pytest.mark.parametrize("stock_class", [TransformerEncoder, ConformerEncoder])
def test_stock_encoders_become_prunable_with_the_same_weights_and_outputs(stock_class):
    torch.manual_seed(0)
    enc = stock_class(**SMALL).eval()
    xs, lens = torch.randn(1, 40, 20), torch.tensor([40])
    with torch.no_grad():
        before = enc(xs, lens)[0]
    weights = {k: v.clone() for k, v in enc.state_dict().items()}
    upgraded = as_prunable(enc)
    assert upgraded is enc and upgraded.num_layers == 3
    assert all(torch.equal(weights[k], v) for k, v in enc.state_dict().items())
    with torch.no_grad():
        assert torch.equal(enc(xs, lens)[0], before)


def test_prune_model_keeps_the_request_and_counts_parameters():
    torch.manual_seed(0)
    model = _Model(TransformerEncoder(**SMALL))
    result = prune_model(model, depth=2)
    assert result.kept_layers == (1, 2) and model.encoder.kept_units == (1, 2)
    assert 0 < result.encoder_params_kept < result.encoder_params_total
    assert prune_model(model, layers=[1, 3]).kept_layers == (1, 3)
    with pytest.raises(ValueError, match="--prune_depth"):
        prune_model(model, depth=4)


def test_a_conformer_trained_with_ctc_trim_is_refused():
    enc = ConformerEncoder(**SMALL, interctc_layer_idx=[1], ctc_trim=True)
    with pytest.raises(ConfigError, match="ctc_trim"):
        as_prunable(enc)


def test_an_encoder_that_cannot_be_pruned_is_named():
    with pytest.raises(TypeError, match="cannot prune a Linear encoder"):
        as_prunable(torch.nn.Linear(2, 2))

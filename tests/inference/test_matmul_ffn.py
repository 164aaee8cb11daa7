"""The convolutional feed-forward as matrix products: the same function as ESPnet's, decode-time only."""

import numpy as np
import pytest
import torch
from espnet2.legacy.nets.pytorch_backend.transformer.multi_layer_conv import Conv1dLinear, MultiLayeredConv1d
from model_dirs import random_model_dir

from espnet_layerprune.inference.matmul_ffn import (MatMulConv1dLinear, MatMulMultiLayeredConv1d,
                                                    use_matmul_ffn)
from espnet_layerprune.inference.speech2text import Speech2Text


def _twin(cls, kernel):
    torch.manual_seed(kernel)
    stock = cls(8, 20, kernel, 0.0).eval()
    fast = cls(8, 20, kernel, 0.0).eval()
    fast.load_state_dict(stock.state_dict())
    return stock, fast


@pytest.mark.parametrize("kernel", [1, 3, 5])
@pytest.mark.parametrize("cls", [MultiLayeredConv1d, Conv1dLinear])
def test_switched_modules_compute_espnets_function_with_the_same_parameters(cls, kernel):
    stock, fast = _twin(cls, kernel)
    assert use_matmul_ffn(fast) == 1
    assert isinstance(fast, (MatMulMultiLayeredConv1d, MatMulConv1dLinear)) and isinstance(fast, cls)
    assert list(fast.state_dict()) == list(stock.state_dict())
    x = torch.randn(3, 11, 8)  # a padded batch: the padded frames are read as ESPnet reads them
    torch.testing.assert_close(fast(x), stock(x), rtol=1e-5, atol=1e-5)
    if cls is MultiLayeredConv1d:
        mask = torch.arange(11)[None, None, :] < torch.tensor([11, 7, 2])[:, None, None]
        torch.testing.assert_close(fast(x, mask), stock(x, mask), rtol=1e-5, atol=1e-5)


def test_convolutions_it_cannot_express_are_left_to_espnet():
    stock, fast = _twin(MultiLayeredConv1d, 4)  # even kernel: ESPnet's output is one frame short
    assert use_matmul_ffn(fast) == 0 and type(fast) is MultiLayeredConv1d


def test_decoding_switches_by_default_and_gives_the_same_text(tmp_path):
    config, path = random_model_dir(tmp_path, encoder_conf={"positionwise_layer_type": "conv1d",
                                                            "positionwise_conv_kernel_size": 3})
    opts = dict(ctc_greedy=True, beam_size=1, ctc_weight=1.0)
    fast = Speech2Text(str(config), str(path), **opts)
    stock = Speech2Text(str(config), str(path), matmul_ffn=False, **opts)
    kinds = {type(layer.feed_forward) for s2t in (fast, stock) for layer in s2t.asr_model.encoder.encoders}
    assert kinds == {MatMulMultiLayeredConv1d, MultiLayeredConv1d}
    speech = (0.1 * np.random.default_rng(3).standard_normal(24000)).astype(np.float32)
    fast_out, stock_out = fast.asr_model.encode(*_batch(speech)), stock.asr_model.encode(*_batch(speech))
    torch.testing.assert_close(fast_out[0], stock_out[0], rtol=1e-4, atol=1e-5)
    assert fast(speech)[0][0] == stock(speech)[0][0]


def _batch(speech):
    x = torch.from_numpy(speech)[None]
    return x, torch.tensor([x.size(1)])

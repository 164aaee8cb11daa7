"""Small ``model: layerprune`` models built by ESPnet's ASRTask and trained a few real steps
(importable helper of the model and analysis tests)."""

import argparse

import torch

import espnet_layerprune  # noqa: F401  (registers model: layerprune)
from espnet2.tasks.asr import ASRTask

TOKENS = ["<blank>", "<unk>", "a", "b", "c", "<space>", "<sos/eos>"]
CONFORMER = dict(
    output_size=16, attention_heads=2, linear_units=16, num_blocks=3, input_layer="linear",
    macaron_style=True, cnn_module_kernel=3, dropout_rate=0.0, positional_dropout_rate=0.0,
)  # 12 units
TRANSFORMER = dict(
    output_size=16, attention_heads=2, linear_units=16, num_blocks=4, input_layer="linear",
    dropout_rate=0.0, positional_dropout_rate=0.0,
)  # 4 units (blocks)


def build(supernet, encoder="prunable_conformer", encoder_conf=None, decoder=None,
          **model_conf):
    args = argparse.Namespace(
        token_list=list(TOKENS), input_size=8, frontend=None, frontend_conf={},
        specaug=None, specaug_conf={}, normalize=None, normalize_conf={},
        preencoder=None, preencoder_conf={}, encoder=encoder,
        encoder_conf=dict(CONFORMER if encoder == "prunable_conformer" else TRANSFORMER,
                          **(encoder_conf or {})),
        postencoder=None, postencoder_conf={},
        decoder=decoder, decoder_conf=dict(attention_heads=2, linear_units=16, num_blocks=1),
        ctc_conf={}, model="layerprune", init=None,
        model_conf=dict(dict(ctc_weight=1.0), supernet=supernet, **model_conf),
    )
    torch.manual_seed(0)
    return ASRTask.build_model(args)


def batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(
        speech=torch.randn(2, 30, 8, generator=g),
        speech_lengths=torch.tensor([30, 24]),
        text=torch.randint(2, 5, (2, 5), generator=g),
        text_lengths=torch.tensor([5, 3]),
    )


def train(model, steps, opt=None, seed=0):
    model.train()
    opt = opt or torch.optim.Adam(model.parameters(), lr=0.01)
    history = []
    for i in range(steps):
        torch.manual_seed(seed + i)
        loss, stats, weight = model(**batch(i))
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append({k: (v.item() if v is not None else None) for k, v in stats.items()})
    return history, opt


SIMPLE = dict(method="simple_top_k", sizes=[3, 6, 9, 12], stage1_steps=3, anneal_step=3)

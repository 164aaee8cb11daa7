#!/usr/bin/env python3
"""Parameters and forward FLOPs per second of audio of the scale recipes' configs (no data, no GPU).

The basis of the cost estimates in docs/scale_recipes.md: builds each config's model with ESPnet's
ASRTask (with the recipe's BPE vocabulary size), encodes 10 s of noise (at the sampling rate of the
config's front end) under torch's FLOP counter,
and counts separately what intermediate CTC adds (the CTC projection on every intermediate layer)::

    python benchmarks/scale_flops.py egs2/librispeech_100/asr1/conf/train_supernet_conformer.yaml:5000 \\
        egs2/tedlium2/asr1/conf/train_supernet_conformer.yaml:500 \\
        egs2/librispeech/asr1/conf/train_supernet_conformer.yaml:5000
"""

import argparse
import sys

import torch
import yaml
from espnet2.tasks.asr import ASRTask
from torch.utils.flop_counter import FlopCounterMode

import espnet_layerprune  # noqa: F401  (registers the encoders and model: layerprune)
from espnet_layerprune.inference.calibration import sample_rate

SECONDS = 10


def build(config: str, vocab: int):
    conf = ASRTask.get_default_config()
    conf.update(yaml.safe_load(open(config)))
    conf = {k: None if v == "none" else v for k, v in conf.items()}  # as ESPnet's argparse types do
    tokens = ["<blank>", "<unk>", *[f"t{i}" for i in range(vocab - 3)], "<sos/eos>"]
    conf.update(token_list=tokens, input_size=None, normalize=None)
    return ASRTask.build_model(argparse.Namespace(**conf)).eval()


def measure(config: str, vocab: int) -> dict:
    model = build(config, vocab)
    samples = sample_rate(model, yaml.safe_load(open(config))) * SECONDS
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        enc = model.encode(torch.randn(1, samples), torch.tensor([samples]))[0]
        enc = enc[0] if isinstance(enc, tuple) else enc
        model.ctc.log_softmax(enc)
    head = FlopCounterMode(display=False)
    with torch.no_grad(), head:
        model.ctc.log_softmax(enc)
    inter = getattr(model.encoder, "interctc_layer_idx", None) or []
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "forward": counter.get_total_flops() / SECONDS,
        "interctc": head.get_total_flops() * len(inter) / SECONDS,
        "interctc_layers": len(inter),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="+", help="CONFIG.yaml:VOCAB_SIZE")
    args = parser.parse_args()
    print("| config | BPE | parameters | forward GFLOPs / s of audio | + intermediate CTC (layers) |")
    print("|---|---:|---:|---:|---:|")
    for item in args.configs:
        config, _, vocab = item.rpartition(":")
        if not config or not vocab.isdigit():
            sys.exit(f"error: expected CONFIG.yaml:VOCAB_SIZE, got {item}")
        m = measure(config, int(vocab))
        print(f"| {config} | {vocab} | {m['params'] / 1e6:.1f} M | {m['forward'] / 1e9:.2f} | "
              f"+{m['interctc'] / 1e9:.2f} ({m['interctc_layers']}) |", flush=True)


if __name__ == "__main__":
    main()

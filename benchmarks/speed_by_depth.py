#!/usr/bin/env python3
"""Decoding speed at every depth, measured side by side in one run (medians of interleaved repeats).

Writes ``docs/results/speed.md`` and ``docs/results/speed.png``:

1. RTF(depth k) / RTF(full) for greedy CTC (batch 1 and batched) and beam search (batch 1), next to
   the ideal ratio from encoder FLOPs (front end + k layers over front end + L layers);
2. overhead of ``prunable_transformer`` at full depth against ESPnet's stock ``transformer`` with the
   same weights, and of a pruned model at depth k against a stock encoder built with those k layers;
3. all L prefix depths in one pass (intermediate outputs through the shared CTC head) against L
   separate greedy decodes;
4. the whole ``Speech2Text`` greedy CTC call, one utterance at a time, lean (the default: only the
   final output is computed, the convolutional feed-forward as matrix products) against the stock
   behaviour (``return_interctc=True, matmul_ffn=False``: ESPnet's loop also greedy-decodes every
   intermediate CTC layer, and ``conv1d`` computes the feed-forward), and each lever alone, at every depth.

Audio comes from a Kaldi dir (``--data``), e.g. the synth_en test set; the model is a trained one
(speed does not depend on its accuracy, but beam search length does a little)::

    python benchmarks/speed_by_depth.py --data egs2/synth_en/asr1/data/test \\
        --asr_train_config egs2/synth_en/asr1/exp/asr_train_supernet_bpe256/config.yaml \\
        --asr_model_file egs2/synth_en/asr1/exp/asr_train_supernet_bpe256/valid.loss.ave.pth
"""

import argparse
import logging
import statistics
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import soundfile  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402
from espnet2.asr.encoder.transformer_encoder import TransformerEncoder  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import espnet_layerprune  # noqa: E402,F401
from espnet_layerprune.inference.matmul_ffn import MATMUL_CLASSES, use_matmul_ffn  # noqa: E402
from espnet_layerprune.inference.speech2text import Speech2Text  # noqa: E402
from espnet_layerprune.export.model_dir import renumber_kept_blocks  # noqa: E402
from espnet_layerprune.models.features import features  # noqa: E402
from provenance import REPO, header  # noqa: E402



def load_audio(data_dir: Path, max_utts: int):
    """``([(key, waveform)], seconds of audio)``, each file at its own rate."""
    utts, seconds = [], 0.0
    for line in (data_dir / "wav.scp").read_text().splitlines()[:max_utts]:
        key, path = line.split(maxsplit=1)
        wav, rate = soundfile.read(path.strip(), dtype="float32")
        utts.append((key, torch.from_numpy(wav)))
        seconds += len(wav) / rate
    return utts, seconds


def build_speech2text(args, beam_size: int, **options) -> Speech2Text:
    return Speech2Text(asr_train_config=args.asr_train_config, asr_model_file=args.asr_model_file,
                       beam_size=beam_size, ctc_weight=1.0, lm_weight=0.0, nbest=1, **options)


def encode_greedy(model, batch):
    """Encoder + greedy CTC for one batch (list of waveforms)."""
    lens = torch.tensor([len(w) for w in batch])
    speech = torch.nn.utils.rnn.pad_sequence(batch, batch_first=True)
    enc, _ = model.encode(speech, lens)
    enc = enc[0] if isinstance(enc, tuple) else enc
    return model.ctc.argmax(enc)


def time_it(fn, repeats: int):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def flops(model, wav) -> dict:
    """FLOPs of front end (frontend+normalize+embed) and of one encoder block, for one utterance."""
    enc = model.encoder
    counter = FlopCounterMode(display=False)
    with counter, enc.pruned(layers=[1]):
        encode_greedy(model, [wav])
    one = counter.get_total_flops()
    counter = FlopCounterMode(display=False)
    with counter, enc.pruned(layers=[1, 2]):
        encode_greedy(model, [wav])
    per_layer = counter.get_total_flops() - one
    return {"front": one - per_layer, "layer": per_layer}


def stock_encoder_like(enc, conf: dict, layers):
    """A stock ESPnet TransformerEncoder with the given 1-based layers' weights, its feed-forward
    computed as ``enc``'s is (so the comparison measures the prunable machinery only)."""
    stock = TransformerEncoder(**dict(conf, num_blocks=len(layers))).eval()
    stock.load_state_dict(renumber_kept_blocks(enc.state_dict(), layers, "encoders."), strict=True)
    if any(isinstance(m, tuple(MATMUL_CLASSES.values())) for m in enc.modules()):
        use_matmul_ffn(stock)
    return stock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="Kaldi dir with wav.scp")
    parser.add_argument("--asr_train_config", required=True)
    parser.add_argument("--asr_model_file", required=True)
    parser.add_argument("--depths", default=None, help="comma-separated depths (default: L, 3L/4, L/2, L/4)")
    parser.add_argument("--max_utts", type=int, default=40)
    parser.add_argument("--beam_utts", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 = least noisy)")
    parser.add_argument("--out_dir", type=Path, default=REPO / "docs" / "results")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)

    utts, audio_s = load_audio(args.data, args.max_utts)
    wavs = [w for _, w in utts]
    s2t = build_speech2text(args, beam_size=1)
    model = s2t.asr_model.eval()
    enc = model.encoder
    L = enc.num_layers
    depths = [int(d) for d in args.depths.split(",")] if args.depths else sorted({L, 3 * L // 4, L // 2, max(1, L // 4)}, reverse=True)
    conf = yaml.safe_load(open(args.asr_train_config))["encoder_conf"]
    stock_keys = set(TransformerEncoder.__init__.__code__.co_varnames)
    stock_conf = {k: v for k, v in conf.items() if k in stock_keys and k != "interctc_layer_idx"}
    stock_conf["input_size"] = model.frontend.output_size()

    f = flops(model, wavs[0])
    # Batches of similar lengths, as ESPnet's sorted batching makes them: unsorted batches of 1-thread
    # decoding spend most of their time on padding (what made batched decoding look slower than
    # batch 1 in the 2026-11-22 table).
    by_length = sorted(wavs, key=len)
    batches = [by_length[i:i + args.batch_size] for i in range(0, len(by_length), args.batch_size)]
    arms = {  # the whole call: stock, each lever alone, and both (the default)
        "call_stock": dict(return_interctc=True, matmul_ffn=False),
        "call_lean_conv1d": dict(matmul_ffn=False),
        "call_interctc_matmul": dict(return_interctc=True),
        "call_lean": {},
    }
    results = {d: {"greedy_b1": [], "greedy_batched": [], "beam_b1": [], **{a: [] for a in arms}}
               for d in depths}
    beam = build_speech2text(args, beam_size=4)
    calls = {arm: build_speech2text(args, beam_size=1, ctc_greedy=True, **opts) for arm, opts in arms.items()}
    numpy_wavs = [w.numpy() for w in wavs]
    with torch.inference_mode():
        for _ in range(args.repeats):  # interleave depths in every repeat: noise hits all alike
            for d in depths:
                with enc.pruned(layers=list(range(1, d + 1))):
                    results[d]["greedy_b1"] += time_it(lambda: [encode_greedy(model, [w]) for w in wavs], 1)
                    results[d]["greedy_batched"] += time_it(lambda: [encode_greedy(model, b) for b in batches], 1)
                beam.asr_model.encoder.keep_layers(list(range(1, d + 1)))
                results[d]["beam_b1"] += time_it(lambda: [beam(w) for w in wavs[: args.beam_utts]], 1)
                for name, s2t_d in calls.items():
                    results[d][name] += time_it(lambda: [s2t_d(w, prune_depth=d) for w in numpy_wavs], 1)
    beam_audio = audio_s * sum(len(w) for w in wavs[: args.beam_utts]) / sum(len(w) for w in wavs)

    # Overheads against ESPnet's stock encoder with the same weights (encoder only, batch 1).
    overhead = {}
    with torch.inference_mode():
        feats = []
        for w in wavs:
            feats.append(features(model, w[None], torch.tensor([len(w)])))
        for d in (L, depths[len(depths) // 2]):
            layers = list(range(1, d + 1))
            stock = stock_encoder_like(enc, stock_conf, layers)
            ours_t, stock_t = [], []
            for _ in range(args.repeats):
                with enc.pruned(layers=layers):
                    ours_t += time_it(lambda: [enc(x, xl) for x, xl in feats], 1)
                stock_t += time_it(lambda: [stock(x, xl) for x, xl in feats], 1)
            overhead[d] = statistics.median(ours_t) / statistics.median(stock_t)

        # All prefix depths in one pass vs L separate greedy decodes.
        def all_prefixes_one_pass():
            for x, xl in feats:
                (_, hs), _, _ = enc(x, xl, return_all_hs=True)
                for h in hs:
                    model.ctc.argmax(enc.after_norm(h))

        def separate_decodes():
            for d in range(1, L + 1):
                with enc.pruned(layers=list(range(1, d + 1))):
                    for x, xl in feats:
                        out = enc(x, xl)[0]
                        model.ctc.argmax(out[0] if isinstance(out, tuple) else out)

        one = statistics.median(time_it(all_prefixes_one_pass, args.repeats))
        many = statistics.median(time_it(separate_decodes, max(1, args.repeats // 2)))

    full = depths[0]
    rows = []
    for d in depths:
        ideal = (f["front"] + d * f["layer"]) / (f["front"] + full * f["layer"])
        med = {k: statistics.median(v) for k, v in results[d].items()}
        ref = {k: statistics.median(v) for k, v in results[full].items()}
        rows.append({
            "depth": d, "ideal": ideal,
            "rtf_b1": med["greedy_b1"] / audio_s, "ratio_b1": med["greedy_b1"] / ref["greedy_b1"],
            "rtf_batched": med["greedy_batched"] / audio_s, "ratio_batched": med["greedy_batched"] / ref["greedy_batched"],
            "rtf_beam": med["beam_b1"] / beam_audio, "ratio_beam": med["beam_b1"] / ref["beam_b1"],
            **{f"rtf_{arm}": med[arm] / audio_s for arm in arms},
            **{f"speedup_{arm}": statistics.median(s / t for s, t in zip(results[d]["call_stock"], results[d][arm]))
               for arm in arms},
        })
    write_report(args, rows, overhead, one, many, L, audio_s, f)


def write_report(args, rows, overhead, one, many, L, audio_s, f) -> None:
    args.out_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    depths = [r["depth"] for r in rows]
    ax.plot(depths, [r["ideal"] for r in rows], "k--", label="ideal (encoder FLOPs)")
    ax.plot(depths, [r["ratio_b1"] for r in rows], "o-", label="greedy, batch 1")
    ax.plot(depths, [r["ratio_batched"] for r in rows], "s-", label=f"greedy, batch {args.batch_size}")
    ax.plot(depths, [r["ratio_beam"] for r in rows], "^-", label="beam 4, batch 1")
    ax.set_xlabel("encoder depth")
    ax.set_ylabel("decode time / full-depth decode time")
    ax.set_title("Decoding time against depth (CPU)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out_dir / "speed.png", dpi=120)
    lines = [
        "# Decoding speed against depth",
        "",
        *header(f"{torch.get_num_threads()} torch thread(s), no GPU"),
        f"- model: {args.asr_model_file} ({L} layers)",
        f"- audio: {len(open(args.data / 'wav.scp').readlines()[: args.max_utts])} utterances, {audio_s:.0f} s; "
        f"medians of {args.repeats} interleaved repeats",
        f"- FLOPs per utterance (first one): front end {f['front'] / 1e9:.2f} G, one layer {f['layer'] / 1e9:.2f} G",
        "",
        "| depth | ideal ratio | greedy b=1 RTF | ratio | greedy batched RTF | ratio | beam 4 RTF | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['depth']} | {r['ideal']:.3f} | {r['rtf_b1']:.4f} | {r['ratio_b1']:.3f} | {r['rtf_batched']:.4f} | "
            f"{r['ratio_batched']:.3f} | {r['rtf_beam']:.4f} | {r['ratio_beam']:.3f} |"
        )
    lines += [
        "",
        "| comparison (encoder only, batch 1, same weights) | time ratio |",
        "|---|---:|",
    ]
    for d, ratio in overhead.items():
        what = "full depth vs stock `transformer`" if d == L else f"pruned to {d} vs stock `transformer` with those {d} layers"
        lines.append(f"| prunable_transformer {what} | {ratio:.3f} |")
    lines.append(f"| all {L} prefix depths in one pass vs {L} separate greedy decodes | {one / many:.3f} |")
    lines += [
        "",
        "## Lean decoding: the whole `Speech2Text` greedy CTC call",
        "",
        "One utterance per call (`ctc_greedy=True`, `prune_depth=d` per call), the same weights and audio, "
        "interleaved. *stock*: `return_interctc=True, matmul_ffn=False`, what every decode did before 2026-12-07 "
        "(ESPnet's loop also normalises, projects and greedy-decodes every intermediate CTC layer of the network, "
        "and `conv1d` computes the feed-forward); *lean*: the default, only the final output, the feed-forward as "
        "matrix products over windows (`inference/matmul_ffn.py`); the middle columns are each lever alone. "
        "Speed-up: median over repeats of stock time / that arm's time.",
        "",
        "| depth | stock RTF | lean RTF | speed-up, lean | final output only (conv1d) | matmul FFN only (with interCTC) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['depth']} | {r['rtf_call_stock']:.4f} | {r['rtf_call_lean']:.4f} | "
                     f"{r['speedup_call_lean']:.2f}x | {r['speedup_call_lean_conv1d']:.2f}x | "
                     f"{r['speedup_call_interctc_matmul']:.2f}x |")
    lines += ["", "![decode time against depth](speed.png)", ""]
    (args.out_dir / "speed.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Measuring every depth (and size) of a model on a dev set: the table ``--prune_budget``
chooses from (:mod:`.budget`), and the early-exit gate (:mod:`.exit_gate`).

``python -m espnet_layerprune.bin.calibrate`` runs both. The plans are resolved and decoded
exactly as decoding resolves them (prune plan, learned masks, first N), by the
:class:`~espnet_layerprune.inference.speech2text.Speech2Text` it is given.

Costs are stated per second of audio at the sampling rate of the model's front end
(:func:`sample_rate`), measured on a length-balanced sample of the dev set
(:func:`length_balanced`: attention is quadratic in length, so the first utterances of a
sorted or short-first list would understate it), and count the attention decoder only when
the decoding runs it (:func:`decoder_runs`).
"""

import logging
import statistics
import time
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
from torch.utils.flop_counter import FlopCounterMode

from espnet_layerprune.checks.audio import audio_expectations, sample_rate  # noqa: F401 (re-exported)
from espnet_layerprune.core.ctc import error_rates, word_errors
from espnet_layerprune.core.units import PruneRequest
from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.inference.early_exit import candidate_layers
from espnet_layerprune.inference.exit_gate import ExitGate, gate_dataset
from espnet_layerprune.inference.speech2text import best_text
from espnet_layerprune.models.pruning import head_for, resolve_for_model, running_parameter_count, trained_sizes

log = logging.getLogger(__name__)


def requests_of(model) -> List[Dict[str, int]]:
    """Every depth, and every trained size of a data-driven supernet."""
    out = [{"prune_depth": d} for d in range(1, model.encoder.num_layers + 1)]
    return out + [{"prune_size": k} for k in trained_sizes(model)]


def length_balanced(utts: Sequence, n: int) -> list:
    """``n`` utterances evenly spaced in length: sorted by length, the ``i/(n-1)`` quantiles
    for ``i = 0..n-1`` (shortest, ..., longest); all of them when there are ``n`` or fewer.
    Returned in their original order."""
    if n < 1:
        raise ValueError(f"need at least one utterance to sample, got n={n}")
    if len(utts) <= n:
        return list(utts)
    order = sorted(range(len(utts)), key=lambda i: len(utts[i].speech))
    picked = {order[round(i * (len(utts) - 1) / (n - 1))] for i in range(n)} if n > 1 else {order[len(order) // 2]}
    return [utts[i] for i in sorted(picked)]


def decoder_runs(s2t) -> bool:
    """Whether ``s2t``'s decoding runs the attention decoder: only ESPnet's beam search with a
    non-zero decoder weight (``ctc_weight < 1``) does; greedy CTC and the lexicon search never do."""
    if getattr(s2t, "decode", None) is not None or getattr(s2t.asr_model, "decoder", None) is None:
        return False
    return "decoder" in getattr(getattr(s2t, "beam_search", None), "scorers", {})


def decoding_parameter_count(s2t, units: Sequence[int]) -> int:
    """Parameters that run when ``s2t`` decodes with ``units`` kept: the encoder units, their CTC
    head, front end and normalisation, and the attention decoder only when it runs (:func:`decoder_runs`)."""
    model = s2t.asr_model
    count = running_parameter_count(model, units)
    if model.decoder is not None and not decoder_runs(s2t):
        count -= sum(p.numel() for p in model.decoder.parameters())
    return count


def cost_basis(s2t, timing_utts: Sequence, n_utts: int) -> Dict[str, Any]:
    """What the cost columns of a table measured on ``timing_utts`` mean (for ``calibration.yaml``)."""
    fs = sample_rate(s2t.asr_model, s2t.asr_train_args)
    seconds = sorted(len(u.speech) / fs for u in timing_utts)
    return {
        "sample_rate": fs,
        "timing_sample": f"{len(timing_utts)} of {n_utts} dev utterances, evenly spaced in length "
                         f"({seconds[0]:.2f}-{seconds[-1]:.2f} s, {sum(seconds):.1f} s of audio)",
        "params_counted": "encoder units that run, CTC head, front end, normalisation"
                          + (" and attention decoder" if decoder_runs(s2t) else
                             "; not the attention decoder (the calibrated decoding never runs it)"),
    }


def calibrate(s2t, utts, timing_utts, repeats: int) -> List[dict]:
    """One row per plan (:func:`requests_of`), resolved and decoded (greedy CTC) as decoding does:
    dev WER/CER on ``utts``; parameters that run (:func:`decoding_parameter_count`); FLOPs per
    second of audio and the real-time factor (median of ``repeats`` interleaved passes) on
    ``timing_utts`` (pass a :func:`length_balanced` sample), seconds at the front end's
    :func:`sample_rate`."""
    model = s2t.asr_model
    refs = [u.text for u in utts]
    rows = []
    for request in requests_of(model):
        kept = resolve_for_model(model, PruneRequest(depth=request.get("prune_depth"), size=request.get("prune_size")),
                                 s2t.plan)
        hyps = [best_text(s2t(u.speech, **request)) for u in utts]
        wer, cer = error_rates(refs, hyps)
        with FlopCounterMode(display=False) as counter:
            for u in timing_utts:
                s2t(u.speech, **request)
        rows.append({"request": request, "kept_layers": list(kept.layers), "kept_units": len(kept.units),
                     "dev_wer": round(100 * wer, 2), "dev_cer": round(100 * cer, 2),
                     "params": decoding_parameter_count(s2t, kept.units), "flops": counter.get_total_flops()})
        log.info("%s: dev WER %.2f%%, CER %.2f%%, %d params", request, 100 * wer, 100 * cer, rows[-1]["params"])
    audio = sum(len(u.speech) for u in timing_utts) / sample_rate(model, s2t.asr_train_args)
    log.info("timing %d plans on %d length-balanced utterances (%.1f s of audio), %d passes", len(rows),
             len(timing_utts), audio, repeats)
    times = {i: [] for i in range(len(rows))}
    for _ in range(repeats):  # interleaved: each pass times every plan, so drift hits all alike
        for i, row in enumerate(rows):
            start = time.perf_counter()
            for u in timing_utts:
                s2t(u.speech, **row["request"])
            times[i].append(time.perf_counter() - start)
    for i, row in enumerate(rows):
        row["flops"] = round(row["flops"] / audio)
        row["rtf"] = round(statistics.median(times[i]) / audio, 5)
    return rows


def gate_layers(s2t, exit_every: int = 1) -> Tuple[int, ...]:
    """The layers a learned gate of ``s2t``'s model reads with ``--exit_every exit_every`` (its features
    chain over exactly these), or a clear error for a model early exit cannot serve."""
    model, encoder = s2t.asr_model, s2t.asr_model.encoder
    if head_for(model, encoder.units_per_layer) is not head_for(model, encoder.num_units):
        raise ConfigError("no exit gate for a model with per-size CTC heads (per_size_ctc: true): "
                          "--prune_depth auto refuses it; pass --exit_gate false")
    return candidate_layers(encoder.num_layers, s2t.exit_depths, exit_every)


def fit_exit_gate(s2t, utts, l2: float = 1e-2, log_every: int = 50, exit_every: int = 1) -> ExitGate:
    """Fit the gate of ``s2t``'s model on ``utts`` (one encoder pass each), its features chained over
    the layers the decoder reads (:func:`gate_layers`).

    Args:
        s2t: A :class:`~espnet_layerprune.inference.speech2text.Speech2Text` of the model.
        utts: Dev utterances (``.speech``, ``.text``), see :func:`espnet_layerprune.core.data.load_utterances`.
        l2: Weight decay of the logistic regression.
        exit_every: The ``--exit_every`` the gate will decode with.
    """
    blank = s2t.asr_model.blank_id
    depths = gate_layers(s2t, exit_every)
    logps, errors = [], []
    for n, utt in enumerate(utts, 1):
        layers = s2t.depth_posteriors(utt.speech)
        logps.append([layers[d] for d in depths])
        errors.append([word_errors(utt.text, s2t.greedy_text(lp))[0] for lp in logps[-1]])
        if n % log_every == 0:
            log.info("exit gate: %d/%d utterances", n, len(utts))
    X, y = gate_dataset(logps, errors, blank, depths)
    gate = ExitGate.fit(X, y, l2, layers=tuple(depths))
    predicted = np.array([gate.probability(x) >= 0.5 for x in X])
    gate.info = {"utterances": len(utts), "samples": int(len(y)), "l2": l2,
                 "positive_fraction": round(float(y.mean()), 4),
                 "train_accuracy": round(float((predicted == (y > 0.5)).mean()), 4)}
    return gate

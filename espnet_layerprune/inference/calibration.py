"""Measuring every depth (and size) of a model on a dev set: the table ``--prune_budget``
chooses from (:mod:`.budget`), and the early-exit gate (:mod:`.exit_gate`).

``python -m espnet_layerprune.bin.calibrate`` runs both. The plans are resolved and decoded
exactly as decoding resolves them (prune plan, learned masks, first N), by the
:class:`~espnet_layerprune.inference.speech2text.Speech2Text` it is given.
"""

import logging
import statistics
import time
from typing import Dict, List

import numpy as np
from torch.utils.flop_counter import FlopCounterMode

from espnet_layerprune.core.ctc import error_rates, word_errors
from espnet_layerprune.core.units import PruneRequest
from espnet_layerprune.inference.exit_gate import ExitGate, gate_dataset
from espnet_layerprune.inference.speech2text import best_text
from espnet_layerprune.models.pruning import resolve_for_model, running_parameter_count, trained_sizes

log = logging.getLogger(__name__)


def requests_of(model) -> List[Dict[str, int]]:
    """Every depth, and every trained size of a data-driven supernet."""
    out = [{"prune_depth": d} for d in range(1, model.encoder.num_layers + 1)]
    return out + [{"prune_size": k} for k in trained_sizes(model)]


def calibrate(s2t, utts, timing_utts, repeats: int) -> List[dict]:
    """One row per plan (:func:`requests_of`), resolved and decoded (greedy CTC) as decoding does:
    dev WER/CER on ``utts``; parameters that run; FLOPs per second of audio and the real-time
    factor (median of ``repeats`` interleaved passes) on ``timing_utts``."""
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
                     "params": running_parameter_count(model, kept.units), "flops": counter.get_total_flops()})
        log.info("%s: dev WER %.2f%%, CER %.2f%%, %d params", request, 100 * wer, 100 * cer, rows[-1]["params"])
    audio = sum(len(u.speech) for u in timing_utts) / 16000
    log.info("timing %d plans on %d utterances (%.1f s of audio), %d passes", len(rows), len(timing_utts),
             audio, repeats)
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


def fit_exit_gate(s2t, utts, l2: float = 1e-2, log_every: int = 50) -> ExitGate:
    """Fit the gate of ``s2t``'s model on ``utts`` (one encoder pass each).

    Args:
        s2t: A :class:`~espnet_layerprune.inference.speech2text.Speech2Text` of the model.
        utts: Dev utterances (``.speech``, ``.text``), see :func:`espnet_layerprune.core.data.load_utterances`.
        l2: Weight decay of the logistic regression.
    """
    blank = s2t.asr_model.blank_id
    logps, errors = [], []
    for n, utt in enumerate(utts, 1):
        layers = s2t.depth_posteriors(utt.speech)
        depths = sorted(layers)
        logps.append([layers[d] for d in depths])
        errors.append([word_errors(utt.text, s2t.greedy_text(lp))[0] for lp in logps[-1]])
        if n % log_every == 0:
            log.info("exit gate: %d/%d utterances", n, len(utts))
    X, y = gate_dataset(logps, errors, blank, depths)
    gate = ExitGate.fit(X, y, l2)
    predicted = np.array([gate.probability(x) >= 0.5 for x in X])
    gate.info = {"utterances": len(utts), "samples": int(len(y)), "l2": l2,
                 "positive_fraction": round(float(y.mean()), 4),
                 "train_accuracy": round(float((predicted == (y > 0.5)).mean()), 4)}
    return gate

"""Dev-set error of any kept-layer set, with the encoder input computed once.

Which blocks run does not change the encoder's input: frontend, normalization,
pre-encoder and the subsampling front end (:meth:`~espnet_layerprune.encoders.
prunable.PrunableEncoderMixin.embed_input`). :class:`DevEvaluator` computes that
input once per utterance (batch); scoring a kept-layer set then runs only the
kept blocks (:meth:`~espnet_layerprune.encoders.prunable.PrunableEncoderMixin.
run_units`), the shared final LayerNorm and the CTC head that decoding uses for
that size (:func:`espnet_layerprune.models.pruning.head_for`), decodes greedily (best path)
and scores CER/WER with jiwer. The layers and arithmetic are exactly those of
decoding with ``--prune_layers``.

Examples:
    >>> ev = DevEvaluator.from_files("exp/asr/config.yaml",
    ...                              "exp/asr/valid.loss.best.pth", "data/dev",
    ...                              max_utts=100)
    >>> ev.evaluate([1, 2, 4]).wer        # one pass of three blocks
    >>> ev.evaluate_prefixes()[2].cer     # every depth 1..L in one pass
"""

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import jiwer
import numpy as np
import torch
import yaml

from espnet_layerprune.core.ctc import TokenText, best_path
from espnet_layerprune.core.data import Utterance, load_utterances
from espnet_layerprune.core.units import check_layers, units_of_layers
from espnet_layerprune.models.features import encoder_input
from espnet_layerprune.models.pruning import as_prunable, head_for

Layers = Tuple[int, ...]


@dataclass(frozen=True)
class DevScore:
    """Dev-set error of one kept-layer set, in percent."""

    cer: float
    wer: float
    utterances: int

    def get(self, metric: str) -> float:
        if metric not in ("cer", "wer"):
            raise ValueError(f"metric must be 'cer' or 'wer', got {metric!r}")
        return getattr(self, metric)


class DevEvaluator:
    """Greedy-CTC CER/WER of kept-layer sets on a cached dev subset.

    Args:
        model: ESPnet ASR model (its encoder is made prunable in place).
        utterances: The dev subset.
        token_type: ``char`` or ``bpe`` (the training config's ``token_type``).
        bpemodel: Sentencepiece model for ``bpe``.
        batch_size: Utterances per forward pass. ``1`` (default) gives exactly the
            frames of one-by-one decoding; larger batches are faster, and the
            padding may change a few frames near the ends.
        device: Torch device.

    Attributes:
        evaluations: Kept-layer sets scored so far (cached repeats not counted).
        blocks_run: Encoder blocks run so far, per batch of utterances.
    """

    def __init__(
        self,
        model,
        utterances: Sequence[Utterance],
        token_type: Optional[str] = "char",
        bpemodel: Optional[str] = None,
        batch_size: int = 1,
        device: str = "cpu",
    ):
        if not utterances:
            raise ValueError(
                "the dev set is empty: give at least one utterance (--data, --max_utts)"
            )
        if batch_size < 1:
            raise ValueError(f"--batch_size must be >= 1, got {batch_size}")
        self.model = model.to(device).eval()
        self.encoder = as_prunable(model.encoder)
        self.num_layers = self.encoder.num_layers
        self.device = device
        self.refs = {u.key: u.text for u in utterances}
        self.to_text = TokenText(model.token_list, token_type, bpemodel)
        self.evaluations = 0
        self.blocks_run = 0
        self._scores: Dict[Layers, DevScore] = {}
        start = time.perf_counter()
        # Longest first, so that batches hold similar lengths.
        ordered = sorted(utterances, key=lambda u: -len(u.speech))
        self._batches = [
            self._embed(ordered[i : i + batch_size])
            for i in range(0, len(ordered), batch_size)
        ]
        logging.info(
            "dev set: %d utterances, encoder input cached in %.1f s",
            len(utterances), time.perf_counter() - start,
        )

    @classmethod
    def from_files(
        cls,
        asr_train_config,
        asr_model_file,
        data_dir,
        max_utts: Optional[int] = None,
        batch_size: int = 1,
        device: str = "cpu",
    ) -> "DevEvaluator":
        """Load an ESPnet model and a Kaldi dev dir, and cache the encoder input."""
        from espnet2.tasks.asr import ASRTask

        utterances = load_utterances(data_dir, max_utts)
        model, _ = ASRTask.build_model_from_file(asr_train_config, asr_model_file, device)
        with open(asr_train_config) as f:
            conf = yaml.safe_load(f) or {}
        return cls(
            model, utterances, conf.get("token_type"), conf.get("bpemodel"),
            batch_size=batch_size, device=device,
        )

    # ------------------------------------------------------------ the cache
    @torch.no_grad()
    def _embed(self, utts: Sequence[Utterance]) -> dict:
        model = self.model
        lengths = torch.tensor([len(u.speech) for u in utts])
        speech = torch.zeros(len(utts), int(lengths.max()))
        for i, u in enumerate(utts):
            speech[i, : len(u.speech)] = torch.as_tensor(u.speech, dtype=torch.float32)
        embedded = encoder_input(model, speech.to(self.device), lengths.to(self.device))
        return {"keys": [u.key for u in utts], "embedded": embedded}

    def _run(self, batch: dict, layers: Layers, start=None, all_hs: bool = False):
        """Run ``layers`` from the cached embedding (or from hidden state ``start``)."""
        embedded = batch["embedded"]
        if start is not None:
            embedded = dataclasses.replace(embedded, xs=start)
        self.blocks_run += len(layers)
        out, olens, _ = self.encoder.run_units(
            embedded, units=units_of_layers(layers, self.encoder.units_per_layer),
            ctc=self.model.ctc, return_all_hs=all_hs,
        )
        if isinstance(out, tuple):
            return out[0], olens, out[1]
        return out, olens, []

    def _finish(self, hidden, layer: int):
        """What the encoder does after its last kept block (1-based ``layer``): what a CTC head
        reads from it (the final LayerNorm, see ``ctc_input``)."""
        return self.encoder.ctc_input(hidden, layer - 1)

    def _texts(self, enc, olens, head, batch, hyps: Dict[str, str]) -> None:
        if self.model.postencoder is not None:
            enc, olens = self.model.postencoder(enc, olens)
        for key, ids in zip(batch["keys"], best_path(head.log_softmax(enc), olens, self.model.blank_id)):
            hyps[key] = self.to_text(ids)

    def _score(self, hyps: Dict[str, str]) -> DevScore:
        keys = sorted(self.refs)
        refs = [self.refs[k] for k in keys]
        hyp = [hyps[k].strip() for k in keys]
        return DevScore(100 * jiwer.cer(refs, hyp), 100 * jiwer.wer(refs, hyp), len(keys))

    def _head(self, num_layers: int):
        return head_for(self.model, num_layers * self.encoder.units_per_layer)

    # ------------------------------------------------------------ public API
    def _check(self, layers) -> Layers:
        return check_layers(tuple(int(x) for x in layers), self.num_layers, option="kept layers")

    @torch.no_grad()
    def evaluate(self, layers: Sequence[int]) -> DevScore:
        """Dev CER/WER with only ``layers`` (1-based, increasing) kept."""
        layers = self._check(layers)
        if layers not in self._scores:
            hyps: Dict[str, str] = {}
            for batch in self._batches:
                enc, olens, _ = self._run(batch, layers)
                self._texts(enc, olens, self._head(len(layers)), batch, hyps)
            self._store(layers, hyps)
        return self._scores[layers]

    def _store(self, layers: Layers, hyps: Dict[str, str]) -> None:
        self.evaluations += 1
        self._scores[layers] = self._score(hyps)

    @torch.no_grad()
    def evaluate_removals(self, layers: Sequence[int]) -> Dict[int, DevScore]:
        """Dev error of ``layers`` minus each one of them: ``{removed: score}``.

        The hidden states of ``layers`` are computed once; the candidate without
        layer ``l`` restarts from the state just below ``l``, so a step of greedy
        pruning runs about half the blocks of scoring each candidate from scratch.
        (Models with self-conditioned CTC add to the hidden state between blocks,
        so there every candidate runs from the embedding.)
        """
        layers = self._check(layers)
        if len(layers) < 2:
            raise ValueError(f"cannot remove a layer from {list(layers)}: one must stay")
        todo = [l for l in layers if tuple(x for x in layers if x != l) not in self._scores]
        if todo and self.encoder.interctc_use_conditioning:
            for l in todo:
                self.evaluate(tuple(x for x in layers if x != l))
        elif todo:
            hyps: Dict[int, Dict[str, str]] = {l: {} for l in todo}
            for batch in self._batches:
                _, _, states = self._run(batch, layers, all_hs=True)
                for l in todo:
                    j = layers.index(l)
                    rest = layers[j + 1 :]
                    start = states[j - 1] if j > 0 else None
                    if rest:
                        enc, olens, _ = self._run(batch, rest, start=start)
                    else:  # the top layer removed: the state below it is the output
                        enc, olens = self._finish(states[j - 1], layers[j - 1]), batch["embedded"].lengths
                    self._texts(enc, olens, self._head(len(layers) - 1), batch, hyps[l])
            for l in todo:
                self._store(tuple(x for x in layers if x != l), hyps[l])
        return {l: self._scores[tuple(x for x in layers if x != l)] for l in layers}

    @torch.no_grad()
    def evaluate_prefixes(self) -> Dict[int, DevScore]:
        """Dev error of every early-exit depth ``1..L`` (first N layers), in one pass.

        Every layer's output goes through the shared final LayerNorm and CTC head,
        exactly what the pruned encoder does at that depth. (With self-conditioned
        CTC the depths differ in more than their top, so each runs separately.)
        """
        L = self.num_layers
        prefixes = [tuple(range(1, d + 1)) for d in range(1, L + 1)]
        todo = [p for p in prefixes if p not in self._scores]
        if todo and self.encoder.interctc_use_conditioning:
            for p in todo:
                self.evaluate(p)
        elif todo:
            hyps: Dict[Layers, Dict[str, str]] = {p: {} for p in todo}
            for batch in self._batches:
                _, olens, states = self._run(batch, prefixes[-1], all_hs=True)
                for p in todo:
                    out = self._finish(states[len(p) - 1], len(p))
                    self._texts(out, olens, self._head(len(p)), batch, hyps[p])
            for p in todo:
                self._store(p, hyps[p])
        return {len(p): self._scores[p] for p in prefixes}

    @torch.no_grad()
    def layer_outputs(self, layers: Optional[Sequence[int]] = None) -> List[np.ndarray]:
        """Activations for SVCCA: ``[input, output of each kept layer]``.

        Each array is ``(frames, D)``: the hidden states that the next kept layer
        sees (after self-conditioning, if the model uses it), for all valid frames
        of the dev subset, stacked. ``input`` is the embedded encoder input.
        """
        layers = self._check(layers or range(1, self.num_layers + 1))
        outs: List[List[np.ndarray]] = [[] for _ in range(len(layers) + 1)]
        for batch in self._batches:
            _, _, states = self._run(batch, layers, all_hs=True)
            embedded = batch["embedded"]
            valid = embedded.masks.squeeze(1)
            for i, h in enumerate([embedded.xs, *states]):
                outs[i].append(h[valid].double().cpu().numpy())
        return [np.concatenate(o) for o in outs]

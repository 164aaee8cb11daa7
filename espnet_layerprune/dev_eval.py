"""Dev-set error of any kept-layer set, with the encoder input computed once.

Which blocks run does not change the encoder's input: frontend, normalization,
pre-encoder and the subsampling embedding. :class:`DevEvaluator` computes that
input once per utterance (batch) and caches it; scoring a kept-layer set then
runs only the kept blocks, the shared final LayerNorm and the CTC head, decodes
greedily (best path) and scores CER/WER with jiwer. The encoder's own forward
loop runs the blocks (it is only told to start from the cache), so the layers
and arithmetic are exactly those of decoding with ``--prune_layers``.

Examples:
    >>> ev = DevEvaluator.from_files("exp/asr/config.yaml",
    ...                              "exp/asr/valid.loss.best.pth", "data/dev",
    ...                              max_utts=100)
    >>> ev.evaluate([1, 2, 4]).wer        # one pass of three blocks
    >>> ev.evaluate_prefixes()[2].cer     # every depth 1..L in one pass
"""

import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import jiwer
import numpy as np
import torch
import yaml

from espnet_layerprune.apply import as_prunable

Layers = Tuple[int, ...]


@dataclass(frozen=True)
class Utterance:
    """One dev utterance: Kaldi key, waveform and reference text."""

    key: str
    speech: np.ndarray
    text: str


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


def _read_two_columns(path: Path) -> Dict[str, str]:
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(maxsplit=1)
            if parts:
                out[parts[0]] = parts[1] if len(parts) > 1 else ""
    return out


def load_dev_set(data_dir, max_utts: Optional[int] = None) -> List[Utterance]:
    """The first ``max_utts`` utterances of a Kaldi data dir (``wav.scp``, ``text``).

    Audio is read as ESPnet's ``sound`` loader reads it (float32 in [-1, 1]).

    Raises:
        FileNotFoundError: ``wav.scp`` or ``text`` is missing.
        ValueError: ``max_utts`` < 1, or no utterance has both audio and text.
    """
    from espnet2.fileio.sound_scp import SoundScpReader

    data_dir = Path(data_dir)
    for name in ("wav.scp", "text"):
        if not (data_dir / name).is_file():
            raise FileNotFoundError(f"--data {data_dir} has no {name} (a Kaldi data dir is needed)")
    if max_utts is not None and max_utts < 1:
        raise ValueError(f"--max_utts must be >= 1, got {max_utts}")
    texts = _read_two_columns(data_dir / "text")
    reader = SoundScpReader(str(data_dir / "wav.scp"), always_2d=False, dtype="float32")
    keys = [k for k in texts if k in reader]
    if not keys:
        raise ValueError(
            f"dev set {data_dir} is empty: no utterance has both audio in wav.scp "
            "and a reference in text"
        )
    keys = keys[:max_utts] if max_utts else keys
    return [Utterance(k, reader[k][1], texts[k]) for k in keys]


class GreedyCTCText:
    """Token ids to text, as ESPnet's ``asr_inference`` writes it (char or BPE)."""

    def __init__(self, token_list: Sequence[str], token_type: Optional[str], bpemodel=None):
        from espnet2.text.build_tokenizer import build_tokenizer
        from espnet2.text.token_id_converter import TokenIDConverter

        self.converter = TokenIDConverter(token_list=list(token_list))
        self.tokenizer = None
        if token_type == "bpe" and bpemodel and Path(bpemodel).is_file():
            self.tokenizer = build_tokenizer(token_type="bpe", bpemodel=bpemodel)
        elif token_type in ("char", "word", "phn"):
            self.tokenizer = build_tokenizer(token_type=token_type)

    def __call__(self, ids: Sequence[int]) -> str:
        tokens = self.converter.ids2tokens(list(ids))
        if self.tokenizer is not None:
            return self.tokenizer.tokens2text(tokens)
        # No tokenizer model at hand: the word markers of char and sentencepiece.
        text = "".join(" " if t == "<space>" else t for t in tokens)
        return text.replace("\u2581", " ").strip()


def ctc_head(model, num_units: int):
    """The CTC head that decodes a net of ``num_units`` kept units.

    The shared ``model.ctc``, or a supernet's own head for that size when it
    was trained with ``per_size_ctc``.
    """
    getter = getattr(model, "ctc_for_size", None)
    return getter(num_units) if callable(getter) else model.ctc


@contextlib.contextmanager
def _start_from(encoder, embedded):
    """Make ``encoder.forward`` use ``embedded`` instead of embedding its input."""
    encoder._embed_input = lambda xs_pad, masks: embedded
    try:
        yield
    finally:
        del encoder._embed_input


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
        self.to_text = GreedyCTCText(model.token_list, token_type, bpemodel)
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
        import espnet_layerprune  # noqa: F401  (registers our encoders)
        from espnet2.tasks.asr import ASRTask

        utterances = load_dev_set(data_dir, max_utts)
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
        speech, lengths = speech.to(self.device), lengths.to(self.device)
        feats, flens = model._extract_feats(speech, lengths)
        if model.normalize is not None:
            feats, flens = model.normalize(feats, flens)
        if model.preencoder is not None:
            feats, flens = model.preencoder(feats, flens)
        masks = (~_pad_mask(flens)[:, None, :]).to(feats.device)
        xs, masks = self.encoder._embed_input(feats, masks)
        return {"keys": [u.key for u in utts], "xs": xs, "masks": masks, "flens": flens}

    def _run(self, batch: dict, layers: Layers, start=None, all_hs: bool = False):
        """Run ``layers`` from the cached embedding (or from hidden state ``start``)."""
        xs = batch["xs"]
        if start is not None:
            xs = (start, xs[1]) if isinstance(xs, tuple) else start
        self.blocks_run += len(layers)
        with self.encoder.pruned(layers=layers), _start_from(self.encoder, (xs, batch["masks"])):
            out, olens, _ = self.encoder(
                batch["masks"], batch["flens"], ctc=self.model.ctc, return_all_hs=all_hs
            )
        if isinstance(out, tuple):
            return out[0], olens, out[1]
        return out, olens, []

    def _finish(self, hidden):
        """What the encoder does after its last kept block: the final LayerNorm."""
        return self.encoder.after_norm(hidden) if self.encoder.normalize_before else hidden

    def _texts(self, enc, olens, head, batch, hyps: Dict[str, str]) -> None:
        if self.model.postencoder is not None:
            enc, olens = self.model.postencoder(enc, olens)
        best = head.argmax(enc)
        blank = getattr(self.model, "blank_id", 0)
        for i, key in enumerate(batch["keys"]):
            ids = torch.unique_consecutive(best[i, : int(olens[i])]).tolist()
            hyps[key] = self.to_text([t for t in ids if t != blank])

    def _score(self, hyps: Dict[str, str]) -> DevScore:
        keys = sorted(self.refs)
        refs = [self.refs[k] for k in keys]
        hyp = [hyps[k].strip() for k in keys]
        return DevScore(100 * jiwer.cer(refs, hyp), 100 * jiwer.wer(refs, hyp), len(keys))

    def _head(self, num_layers: int):
        return ctc_head(self.model, num_layers * self.encoder.units_per_layer)

    # ------------------------------------------------------------ public API
    def _check(self, layers) -> Layers:
        from espnet_layerprune.pruning import check_layers

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
                        enc, olens = self._finish(states[j - 1]), batch["masks"].squeeze(1).sum(1)
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
                    out = self._finish(states[len(p) - 1])
                    self._texts(out, olens, self._head(len(p)), batch, hyps[p])
            for p in todo:
                self._store(p, hyps[p])
        return {len(p): self._scores[p] for p in prefixes}

    @torch.no_grad()
    def layer_outputs(self, layers: Optional[Sequence[int]] = None) -> List[np.ndarray]:
        """Activations for SVCCA: ``[input, output of each kept layer]``.

        Each array is ``(frames, D)``: the raw (residual stream) hidden states of
        all valid frames of the dev subset, stacked. ``input`` is the embedded
        encoder input, i.e. what the first kept layer sees.
        """
        layers = self._check(layers or range(1, self.num_layers + 1))
        outs: List[List[np.ndarray]] = [[] for _ in range(len(layers) + 1)]
        for batch in self._batches:
            _, _, states = self._run(batch, layers, all_hs=True)
            xs = batch["xs"][0] if isinstance(batch["xs"], tuple) else batch["xs"]
            valid = batch["masks"].squeeze(1)
            for i, h in enumerate([xs, *states]):
                outs[i].append(h[valid].double().cpu().numpy())
        return [np.concatenate(o) for o in outs]


def _pad_mask(lengths: torch.Tensor) -> torch.Tensor:
    from espnet2.legacy.nets.pytorch_backend.nets_utils import make_pad_mask

    return make_pad_mask(lengths)

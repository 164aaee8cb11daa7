"""ESPnet ASR decoding at a requested encoder depth or size.

Every option of ``python -m espnet2.bin.asr_inference`` plus:

* ``--prune_depth N``: keep N encoder layers. Which ones: the prune plan stored
  next to the model (``prune_plan.yaml``) when there is one, else the masks a
  data-driven supernet learned, else the first N (early exit through the shared
  CTC head);
* ``--prune_layers 1,3,5``: keep exactly these 1-based layers;
* ``--prune_size K``: keep K prunable units (data-driven supernets);
* ``--prune_budget params=2M`` (or ``flops=``, ``rtf=``): the most accurate depth or
  size within the budget, from ``calibration.yaml`` (``bin.calibrate``);
* ``--prune_depth auto --exit_threshold T``: confidence-based early exit, per
  utterance (:mod:`espnet_layerprune.inference.early_exit`); the exit layer of every
  utterance goes to ``pruning.yaml``.

The kept layers are logged and written, with the decoding time (model loading
excluded), to ``<output_dir>/pruning.yaml``.
In asr.sh: ``--inference_args "--prune_depth 6"``.
"""

import argparse
import contextlib
import dataclasses
import functools
import logging
import sys
import threading
import time
from pathlib import Path
from typing import Dict, Optional

import torch
import yaml
from espnet2.bin import asr_inference as stock
from espnet2.legacy.nets.beam_search import Hypothesis
from espnet2.legacy.nets.pytorch_backend.transformer.subsampling import TooShortUttError
from espnet2.utils.types import str2bool, str_or_none
from espnet2.legacy.utils.cli_utils import get_commandline_args

import espnet_layerprune  # noqa: F401  (registers encoder/model choices)
from espnet_layerprune.core.ctc import best_path
from espnet_layerprune.models.features import encoder_input
from espnet_layerprune.models.pruning import depth_networks, head_for, prune_model, resolve_for_model
from espnet_layerprune.inference.lexicon_search import LexiconBeamSearch, lexicon_from_tokenizer
from espnet_layerprune.inference.early_exit import MEASURES, EarlyExit, ExitTracker, check_threshold
from espnet_layerprune.inference.exit_gate import ExitGate
from espnet_layerprune.inference.budget import Calibration, parse_budget
from espnet_layerprune.core.errors import ConfigError, one_of
from espnet_layerprune.inference.ngram import NgramLM
from espnet_layerprune.checks.audio import audio_expectations, check_wav_scp
from espnet_layerprune.checks.checkpoints import check_checkpoint, check_checkpoint_matches
from espnet_layerprune.core.errors import InputError
from espnet_layerprune.bin.common import (
    add_prune_options,
    check_model_files,
    check_prune_args,
    encoder_depth_from_config,
)
from espnet_layerprune.encoders.prunable import expand_interctc_layer_idx
from espnet_layerprune.core.plan import PrunePlan
from espnet_layerprune.core.units import PRUNE_OPTIONS, KeptUnits, PruneRequest
from espnet_layerprune.encoders import precision as numerics

LEXICON_OPTIONS = ("lexicon_lm", "lexicon_lm_weight", "lexicon_word_bonus", "lexicon_beam")
EXIT_OPTIONS = ("exit_threshold", "exit_measure", "exit_min_depth", "exit_patience", "exit_gate")
SPEECH2TEXT_OPTIONS = (PRUNE_OPTIONS + ("prune_budget", "use_prune_plan", "ctc_greedy", "precision")
                       + LEXICON_OPTIONS + EXIT_OPTIONS)


class Speech2Text(stock.Speech2Text):
    """ESPnet's ``Speech2Text`` with a pruned encoder.

    Examples:
        >>> s2t = Speech2Text("exp/asr/config.yaml", "exp/asr/valid.loss.best.pth",
        ...                   prune_depth=6, beam_size=1, ctc_weight=1.0)
        >>> text, *_ = s2t(speech)[0]

    Args:
        prune_depth: Keep this many encoder layers, or ``"auto"``: early exit
            (needs ``exit_threshold``).
        prune_layers: Keep exactly these 1-based layers.
        prune_size: Keep this many prunable units (data-driven supernets).
        prune_budget: ``"params=2M"``, ``"flops=1G"``, ``"rtf=0.01"`` (comma-separated
            for several): the most accurate calibrated plan within it
            (:mod:`espnet_layerprune.inference.budget`).
        use_prune_plan: Use ``prune_plan.yaml`` next to the model file if present.
        ctc_greedy: Decode by CTC argmax (best path) instead of ESPnet's beam
            search; for CTC-only models, O(T) instead of the prefix search.
        exit_threshold: Early exit (``prune_depth="auto"``): stop at the first layer
            whose confidence is at least this, in (0, 1].
        exit_measure: ``max_posterior``, ``entropy`` or ``learned`` (the gate in
            ``exit_gate.yaml`` next to the model, from ``bin.calibrate``; :mod:`..exit_gate`).
        exit_gate: Path of the gate for ``learned`` (default: ``exit_gate.yaml`` next to
            the model file), or a fitted ``ExitGate``.
        exit_min_depth: Never exit below this layer.
        exit_patience: Also require the greedy hypothesis to be unchanged over this
            many previous layers.
        precision: ``fp32`` or ``bf16``: the encoder under bfloat16 autocast on a CPU with
            bf16 units (float32 elsewhere, with a warning); features and CTC in float32.
        **kwargs: Everything ``espnet2.bin.asr_inference.Speech2Text`` accepts.
    """

    def __init__(
        self,
        *args,
        prune_depth: Optional[int] = None,
        prune_layers=None,
        prune_size: Optional[int] = None,
        prune_budget: Optional[str] = None,
        use_prune_plan: bool = True,
        ctc_greedy: bool = False,
        lexicon_lm: Optional[str] = None,
        lexicon_lm_weight: float = 0.5,
        lexicon_word_bonus: float = 0.0,
        lexicon_beam: int = 8,
        exit_threshold: Optional[float] = None,
        exit_measure: str = "max_posterior",
        exit_min_depth: int = 1,
        exit_patience: int = 0,
        exit_gate=None,
        precision: str = "fp32",
        **kwargs,
    ):
        if (ctc_greedy or lexicon_lm) and kwargs.get("batch_size", 1) > 1:
            raise ValueError("--ctc_greedy and --lexicon_lm decode one utterance at a time; use --batch_size 1")
        model_file = kwargs.get("asr_model_file", args[1] if len(args) > 1 else None)
        self.budget_choice = _budget_choice(prune_budget, model_file, prune_depth, prune_layers, prune_size)
        if self.budget_choice is not None:
            prune_depth = self.budget_choice["request"].get("prune_depth")
            prune_size = self.budget_choice["request"].get("prune_size")
        self.early_exit = _early_exit_policy(prune_depth, exit_threshold, exit_measure, exit_min_depth,
                                             exit_patience, model_file, exit_gate)
        if self.early_exit is not None:
            prune_depth = None  # the object keeps every layer; each call stops where it is confident
            if kwargs.get("batch_size", 1) > 1:
                raise ConfigError("--prune_depth auto decodes one utterance at a time; use --batch_size 1")
        if model_file is not None:
            check_checkpoint(model_file)  # a clear error instead of ESPnet's loader messages
        super().__init__(*args, **kwargs)
        if model_file is not None:
            check_checkpoint_matches(self.asr_model, model_file)  # no silently random layers
        self.compute_dtype = numerics.resolve(precision, option="--precision")
        if not numerics.set_encoder_dtype(self.asr_model, self.compute_dtype) and self.compute_dtype is not None:
            raise ConfigError("--precision bf16 needs a prunable encoder (prunable_transformer, ...)")
        logging.info("decoding precision: %s", numerics.describe(self.compute_dtype))
        self.ctc_greedy = ctc_greedy
        if ctc_greedy:
            logging.info("decoding with greedy CTC (best path); the beam search is not used")
        _, self.min_samples = audio_expectations(self.asr_train_args)
        plan = PrunePlan.find_for(model_file) if use_prune_plan else None
        if plan is not None and prune_depth is not None:
            logging.info("using prune plan %s", plan.source)
        self.plan = plan
        self._call = threading.local()  # this thread's per-call CTC head
        self.pruning = prune_model(
            self.asr_model, depth=prune_depth, layers=prune_layers, size=prune_size, plan=plan
        )
        self.ctc_head = head_for(self.asr_model, len(self.pruning.kept_units))
        self._decode_with_head(self.ctc_head)
        self.lexicon_search = None
        if lexicon_lm:
            self.lexicon_search = self._lexicon_search(lexicon_lm, lexicon_lm_weight, lexicon_word_bonus, lexicon_beam)
        # Every early-exit call's {"layer", "confidence"} (layer None: too short), when set to a list;
        # the command line does, for pruning.yaml. Off by default: a long-lived object would grow.
        self.exit_log: Optional[list] = None
        self._exit_lock = threading.Lock()
        if self.early_exit is not None:
            self._check_early_exit(self.early_exit)
            logging.info("early exit: %s >= %g, from layer %d on, patience %d", self.early_exit.measure,
                         self.early_exit.threshold, self.early_exit.min_depth, self.early_exit.patience)

    def _check_early_exit(self, policy: EarlyExit) -> None:
        encoder = self.asr_model.encoder
        if not hasattr(encoder, "exiting"):
            raise ConfigError("--prune_depth auto needs a prunable encoder (prunable_transformer, ...)")
        policy.check(encoder.num_layers, encoder.interctc_layer_idx)
        U = encoder.units_per_layer
        if head_for(self.asr_model, U) is not head_for(self.asr_model, encoder.num_units) and not (
            self.ctc_greedy or self.lexicon_search is not None
        ):
            raise ConfigError("--prune_depth auto on a model with per-size CTC heads needs --ctc_greedy true "
                              "or --lexicon_lm (the beam search reads one head)")

    def _lexicon_search(self, path, weight: float, bonus: float, beam: int) -> LexiconBeamSearch:
        lm = NgramLM.load(path)
        args = self.asr_train_args
        lexicon = lexicon_from_tokenizer(lm.vocab, self.asr_model.token_list, args.token_type, args.bpemodel)
        logging.info(
            "decoding with the lexicon-constrained CTC beam search (beam %d): %d words of %s, "
            "%d-gram weight %g, word bonus %g", beam, len(lexicon), path, lm.order, weight, bonus,
        )
        return LexiconBeamSearch(self.asr_model.token_list, lexicon, lm, lm_weight=weight, word_bonus=bonus,
                                 beam=beam, blank=self.asr_model.blank_id)

    @staticmethod
    def from_pretrained(model_tag: Optional[str] = None, **kwargs):
        """ESPnet's ``from_pretrained`` (model zoo, Hugging Face), returning this
        class, with every pruning option (``prune_depth=6``, ...)."""
        if model_tag is not None:
            kwargs.update(stock.download_pretrained(model_tag))
        return Speech2Text(**kwargs)

    def _decode_with_head(self, head) -> None:
        """Make the beam search's CTC scorer read ``head`` (per-size heads); the
        encoder's self-conditioning keeps the shared head, as in training."""
        if head is self.asr_model.ctc or self.beam_search is None:
            return
        for scorer in self.beam_search.scorers.values():
            if getattr(scorer, "ctc", None) is self.asr_model.ctc:
                scorer.ctc = head

    def __call__(self, speech, prune_depth=None, prune_layers=None,
                 prune_size: Optional[int] = None, exit_threshold: Optional[float] = None):
        """Decode ``speech``; a ``prune_*`` argument decodes this call only at that depth,
        layer list or size (resolved as at construction, with the same prune plan), with
        no reload and no weight copy. The object's own depth is unchanged afterwards, and
        threads may decode at different depths at once: the kept units and the CTC head
        of a call are per thread; the weights are shared and only read.

        ``prune_depth="auto"`` (or an object built with it) exits early; ``exit_threshold``
        overrides the object's threshold for this call. :attr:`last_exit` tells where."""
        policy = self._policy_for_call(prune_depth, exit_threshold)
        if policy is not None:
            return self._call_with_exit(speech, policy)
        if not isinstance(speech, (list, tuple)) and len(speech) < self.min_samples:
            # ESPnet's loop turns this into a warning and an empty hypothesis.
            raise TooShortUttError(
                f"has {len(speech)} samples and is too short for the frontend and "
                f"subsampling (it needs at least {self.min_samples})",
                len(speech),
                self.min_samples,
            )
        if prune_depth is None and prune_layers is None and prune_size is None:
            return super().__call__(speech)
        request = PruneRequest(depth=prune_depth, layers=prune_layers, size=prune_size)
        kept = resolve_for_model(self.asr_model, request, self.plan)
        head = head_for(self.asr_model, len(kept.units))
        if head is not self.ctc_head and not (self.ctc_greedy or self.lexicon_search is not None):
            raise ValueError(
                "a per-call size whose CTC head differs from this object's (per_size_ctc: true) "
                "needs ctc_greedy=True or lexicon decoding; build a Speech2Text for that size instead"
            )
        self._call.head = head
        try:
            with self.asr_model.encoder.pruned(units=kept.units):
                return super().__call__(speech)
        finally:
            self._call.head = None

    def _policy_for_call(self, prune_depth, exit_threshold) -> Optional[EarlyExit]:
        if prune_depth == "auto" or (prune_depth is None and self.early_exit is not None):
            base = self.early_exit
            if base is None:
                if exit_threshold is None:
                    raise ConfigError("prune_depth='auto' needs exit_threshold in (0, 1]")
                base = EarlyExit(exit_threshold)
                self._check_early_exit(base)
            if exit_threshold is None:
                return base
            return dataclasses.replace(base, threshold=check_threshold(exit_threshold))
        if exit_threshold is not None:
            raise ConfigError("exit_threshold needs prune_depth='auto' (early exit)")
        return None

    def _call_with_exit(self, speech, policy: EarlyExit):
        """Decode one utterance, stopping the encoder at the first confident depth (the networks
        ``--prune_depth N`` runs, in order of N)."""
        encoder, model = self.asr_model.encoder, self.asr_model
        tracker = ExitTracker(policy, self.exit_depths, model.blank_id)
        record = {"layer": None, "confidence": None}
        self._call.exit = record
        networks = self.depth_networks

        def stop(depth: int, out: torch.Tensor) -> bool:
            head = head_for(model, len(networks[depth].units))
            done = tracker.update(depth, head.log_softmax(out)[0])
            if tracker.layer == depth:
                record.update(layer=depth, confidence=round(tracker.confidence, 4))
                self._call.head = head  # the decoder reads the exit depth with its own head
            return done

        candidates = [c for c in self._depth_plans if tracker.needs(c[0])]  # the full depth always
        try:
            if len(speech) < self.min_samples:
                raise TooShortUttError(f"has {len(speech)} samples and is too short for the frontend and "
                                       f"subsampling (it needs at least {self.min_samples})",
                                       len(speech), self.min_samples)
            with encoder.exiting(stop, candidates):
                results = super().__call__(speech)
            logging.info("early exit at layer %d of %d (%s %.3f, threshold %g)", record["layer"],
                         encoder.num_layers, policy.measure, record["confidence"], policy.threshold)
            return results
        finally:
            self._call.head = None
            if self.exit_log is not None:
                with self._exit_lock:
                    self.exit_log.append(dict(record))

    @functools.cached_property
    def depth_networks(self) -> Dict[int, KeptUnits]:
        """What ``--prune_depth N`` keeps for every depth it serves (the prune plan, the learned
        masks or the first N layers): the networks early exit tries, in order."""
        return depth_networks(self.asr_model, self.plan)

    @functools.cached_property
    def exit_depths(self) -> frozenset:
        """Depths whose network ends in a layer with a CTC output (intermediate or final)."""
        encoder = self.asr_model.encoder
        outputs = set(encoder.interctc_layer_idx) | {encoder.num_layers}
        return frozenset(d for d, kept in self.depth_networks.items() if kept.layers[-1] in outputs)

    @functools.cached_property
    def _depth_plans(self):
        return self.asr_model.encoder.depth_plans({d: k.units for d, k in self.depth_networks.items()})

    @property
    def last_exit(self) -> Optional[dict]:
        """``{"layer", "confidence"}`` of this thread's last early-exit call."""
        return getattr(self._call, "exit", None)

    def decode_all_depths(self, speech) -> Dict[int, str]:
        """Greedy CTC text at every depth ``--prune_depth`` serves (each network read by its own
        CTC head), from one front-end pass: ``{1: "...", 2: "...", ..., L: "..."}``."""
        return {depth: self.greedy_text(logp) for depth, logp in self.depth_posteriors(speech).items()}

    @torch.no_grad()
    def depth_posteriors(self, speech) -> Dict[int, torch.Tensor]:
        """CTC log-posteriors ``(T, V)`` of the network of every depth ``--prune_depth`` serves
        (:attr:`depth_networks`), each read by its own CTC head, from one front-end pass and
        one early-exit pass that records every depth."""
        model = self.asr_model
        if len(speech) < self.min_samples:
            raise TooShortUttError(f"has {len(speech)} samples; decoding needs at least {self.min_samples}",
                                   len(speech), self.min_samples)
        speech = torch.as_tensor(speech, dtype=torch.float32)[None].to(self.device)
        lengths = speech.new_full([1], speech.size(1), dtype=torch.long)
        outputs = model.encoder.depth_outputs(encoder_input(model, speech, lengths), ctc=model.ctc,
                                              candidates=self._depth_plans)
        return {depth: head_for(model, len(self.depth_networks[depth].units)).log_softmax(out)[0]
                for (depth, _), out in zip(self._depth_plans, outputs)}

    def greedy_text(self, logp: torch.Tensor) -> str:
        """Best-path text of one utterance's ``(T, V)`` log-posteriors."""
        (ids,) = best_path(logp[None], torch.tensor([logp.size(0)]), self.asr_model.blank_id)
        tokens = self.converter.ids2tokens(ids)
        return self.tokenizer.tokens2text(tokens) if self.tokenizer is not None else "".join(tokens)

    def _head(self):
        return getattr(self._call, "head", None) or self.ctc_head

    def _decode_single_sample(self, enc):
        if self.lexicon_search is not None:
            logp = self._head().log_softmax(enc[None])[0]
            words = self.lexicon_search(logp.detach().cpu().numpy())
            ids = self.lexicon_search.tokens_of(words)
            yseq = torch.tensor([self.asr_model.sos] + ids + [self.asr_model.eos])
            logging.info("best hypo: " + " ".join(words))
            return self._hyps_to_results([Hypothesis(yseq=yseq, score=0.0)])
        if not self.ctc_greedy:
            return super()._decode_single_sample(enc)
        logp = self._head().log_softmax(enc[None])
        (ids,) = best_path(logp, torch.tensor([enc.size(0)]), self.asr_model.blank_id)
        score = float(logp.max(-1).values.sum())
        yseq = torch.tensor([self.asr_model.sos] + ids + [self.asr_model.eos])
        logging.info("best hypo: " + "".join(self.converter.ids2tokens(ids)))  # asr.sh's RTF step reads it
        return self._hyps_to_results([Hypothesis(yseq=yseq, score=score)])


def best_text(results) -> str:
    """The best hypothesis' text of a :class:`Speech2Text` call (whose models with intermediate
    CTC return ``(n-best, intermediate n-best)``)."""
    nbest = results[0] if isinstance(results, tuple) else results
    return nbest[0][0]


def _budget_choice(budget, model_file, depth, layers, size) -> Optional[dict]:
    """The calibrated plan a ``--prune_budget`` picks (``None`` without a budget), or a clear error."""
    if budget is None:
        return None
    requested = [f"--{o}" for o, v in zip(PRUNE_OPTIONS, (depth, layers, size)) if v is not None]
    if requested:
        raise ConfigError(one_of(["--prune_budget", *requested]))
    if model_file is None:
        raise ConfigError("--prune_budget needs the model file (its calibration.yaml lies next to it)")
    return Calibration.find_for(model_file).choose(parse_budget(budget))


def _early_exit_policy(prune_depth, threshold, measure, min_depth, patience=0,
                       model_file=None, gate_path=None) -> Optional[EarlyExit]:
    """The early-exit policy the options ask for (``None``: a fixed depth), or a clear error."""
    if prune_depth == "auto":
        if threshold is None:
            raise ConfigError("--prune_depth auto needs --exit_threshold T, a confidence in (0, 1]")
        gate = None
        if measure == "learned":
            if model_file is None and gate_path is None:
                raise ConfigError("--exit_measure learned needs the model file (exit_gate.yaml lies next to it)")
            gate = ExitGate.find_for(model_file, gate_path)
        return EarlyExit(threshold, measure, min_depth, patience, gate)
    if threshold is not None:
        raise ConfigError("--exit_threshold needs --prune_depth auto (early exit)")
    return None


def _escape_stray_percent(parser: argparse.ArgumentParser) -> None:
    """ESPnet 202611's decoding help has a bare '%' that breaks ``--help``; escape it."""
    for action in parser._actions:
        if action.help and "%" in action.help:
            try:
                action.help % {**vars(action), "prog": parser.prog}
            except (ValueError, TypeError, KeyError):
                action.help = action.help.replace("%", "%%")


def get_parser() -> argparse.ArgumentParser:
    parser = stock.get_parser()
    _escape_stray_percent(parser)
    add_prune_options(parser, allow_auto=True)
    parser.add_argument(
        "--ctc_greedy",
        type=str2bool,
        default=False,
        help="CTC best-path decoding (argmax) instead of beam search; CTC-only models, batch_size 1.",
    )
    parser.add_argument("--precision", default="fp32", choices=numerics.PRECISIONS,
                        help="bf16: run the encoder under bfloat16 autocast on a CPU with bf16 units "
                        "(avx512_bf16/amx_bf16); features and CTC stay float32.")
    group = parser.add_argument_group("Lexicon-constrained CTC search (espnet_layerprune)")
    group.add_argument("--lexicon_lm", type=str_or_none, default=None,
                       help="Word n-gram LM (bin.train_ngram); its words are the lexicon. Replaces the "
                       "beam search and greedy decoding; CTC-only models, batch_size 1.")
    group.add_argument("--lexicon_lm_weight", type=float, default=0.5, help="Weight of the LM log-probability.")
    group.add_argument("--lexicon_word_bonus", type=float, default=0.0, help="Score added per word.")
    group.add_argument("--lexicon_beam", type=int, default=8, help="Hypotheses kept per frame (>= 1).")
    parser.add_argument("--prune_budget", type=str_or_none, default=None,
                        help="Decode the most accurate depth/size within a budget: params=2.0M, flops=1.5G "
                        "(per second of audio) or rtf=0.01, comma-separated for several; needs "
                        "calibration.yaml next to the model (python -m espnet_layerprune.bin.calibrate).")
    group = parser.add_argument_group("Early exit: --prune_depth auto (espnet_layerprune)")
    group.add_argument("--exit_threshold", type=float, default=None,
                       help="Stop at the first layer whose CTC confidence is at least T, in (0, 1].")
    group.add_argument("--exit_measure", default="max_posterior", choices=MEASURES,
                       help="Confidence of a layer's CTC posteriors: mean max posterior over non-blank "
                       "frames, 1 - normalised frame entropy, or the probability of the exit gate fitted on "
                       "dev by bin.calibrate (exit_gate.yaml next to the model).")
    group.add_argument("--exit_gate", type=str_or_none, default=None,
                       help="Exit gate for --exit_measure learned (default: exit_gate.yaml next to the model).")
    group.add_argument("--exit_min_depth", type=int, default=1, help="Never exit below this layer (>= 1).")
    group.add_argument("--exit_patience", type=int, default=0,
                       help="Exit only when the greedy hypothesis is also unchanged over the previous P "
                       "layers (>= 0; 0: confidence alone).")
    return parser


@contextlib.contextmanager
def _decode_with_pruning(prune: dict, output_dir: str):
    """Make ``espnet2.bin.asr_inference.inference`` build our ``Speech2Text``.

    The stock ``inference`` builds its model through the module-level name
    ``Speech2Text.from_pretrained``; rebinding that name for the duration of the
    call reuses the whole stock decoding loop unchanged.
    """

    class _PrunedFactory:
        @staticmethod
        def from_pretrained(model_tag=None, **kwargs):
            if model_tag is not None:
                kwargs.update(stock.download_pretrained(model_tag))
            speech2text = Speech2Text(**kwargs, **prune)
            speech2text.exit_log = []  # each utterance's exit layer, for pruning.yaml
            built.append(speech2text)
            started.append(time.perf_counter())
            return speech2text

    built, started = [], []
    original = stock.Speech2Text
    stock.Speech2Text = _PrunedFactory
    try:
        yield
    finally:
        stock.Speech2Text = original
    # Reached only when decoding finished: record what was kept and how long
    # decoding took (model loading excluded), for RTF tables.
    info = {"request": {k: v for k, v in prune.items() if k in PRUNE_OPTIONS and v is not None},
            **built[0].pruning.to_dict()}
    info["decode_seconds"] = round(time.perf_counter() - started[0], 4)
    info["precision"] = "bf16" if built[0].compute_dtype is not None else "fp32"
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if built[0].early_exit is not None:
        info["early_exit"] = _exit_summary(built[0], out / "1best_recog" / "text")
    if built[0].budget_choice is not None:
        info["request"] = {"prune_budget": prune["prune_budget"]}
        info["budget_choice"] = built[0].budget_choice
    with open(out / "pruning.yaml", "w") as f:
        yaml.safe_dump(info, f, sort_keys=False)


def _exit_summary(s2t: Speech2Text, text_file: Path) -> dict:
    """The policy, the mean exit layer and each utterance's exit layer and confidence.

    ESPnet's loop decodes (and writes ``text``) one utterance per call, in order, so
    the n-th line of ``text`` is the n-th call.
    """
    policy, log = s2t.early_exit, s2t.exit_log
    layers = [e["layer"] for e in log if e["layer"] is not None]
    keys = [line.split(maxsplit=1)[0] for line in open(text_file)] if text_file.is_file() else []
    if len(keys) != len(log):
        keys = [f"call{i + 1}" for i in range(len(log))]
    return {
        "measure": policy.measure,
        "threshold": policy.threshold,
        "min_depth": policy.min_depth,
        "patience": policy.patience,
        "mean_exit_layer": round(sum(layers) / len(layers), 4) if layers else None,
        "utterances": {k: e for k, e in zip(keys, log)},
    }


def check_budget_args(args: argparse.Namespace) -> None:
    """A budget that cannot be met (or read) fails before decoding."""
    _budget_choice(args.prune_budget, args.asr_model_file, args.prune_depth, args.prune_layers, args.prune_size)


def check_early_exit_args(args: argparse.Namespace) -> None:
    """Early-exit options that cannot work fail before the model is loaded."""
    policy = _early_exit_policy(args.prune_depth, args.exit_threshold, args.exit_measure, args.exit_min_depth,
                                args.exit_patience, args.asr_model_file, args.exit_gate)
    if policy is None or not args.asr_train_config:
        return
    if args.batch_size > 1:
        raise ConfigError("--prune_depth auto decodes one utterance at a time; use --batch_size 1")
    with open(args.asr_train_config) as f:
        conf = yaml.safe_load(f) or {}
    depth = encoder_depth_from_config(args.asr_train_config)
    if depth is not None:
        idx = (conf.get("encoder_conf") or {}).get("interctc_layer_idx") or []
        policy.check(depth, expand_interctc_layer_idx(idx, depth))


def check_audio_inputs(args: argparse.Namespace) -> None:
    """Unreadable or wrongly sampled audio fails before decoding starts.

    Empty and too-short utterances are allowed: they get an empty hypothesis.
    """
    if not args.asr_train_config or not Path(args.asr_train_config).is_file():
        return
    with open(args.asr_train_config) as f:
        fs, _ = audio_expectations(yaml.safe_load(f) or {})
    for path, _, kind in args.data_path_and_name_and_type:
        if kind == "sound":
            check_wav_scp(path, fs=fs, allow_short=True, allow_empty=True)


def main(cmd=None):
    print(get_commandline_args(), file=sys.stderr)
    args = get_parser().parse_args(cmd)
    check_prune_args(args)
    check_model_files(args)
    if args.lexicon_lm is not None and not Path(args.lexicon_lm).is_file():
        raise SystemExit(f"error: --lexicon_lm {args.lexicon_lm} does not exist (make it with bin.train_ngram)")
    if args.lexicon_beam < 1:
        raise SystemExit(f"error: --lexicon_beam must be >= 1, got {args.lexicon_beam}")
    try:
        check_budget_args(args)
        check_early_exit_args(args)
        check_audio_inputs(args)
    except (InputError, ConfigError) as e:
        raise SystemExit(f"error: {e}") from None
    kwargs = vars(args)
    kwargs.pop("config", None)
    kwargs.pop("_prune_required", None)  # our parser's bookkeeping, not an ESPnet option
    prune = {o: kwargs.pop(o) for o in SPEECH2TEXT_OPTIONS}
    try:
        with _decode_with_pruning(prune, args.output_dir):
            stock.inference(**kwargs)
    except InputError as e:
        raise SystemExit(f"error: {e}") from None
    except ValueError as e:
        if any(f"--{o}" in str(e) for o in PRUNE_OPTIONS + EXIT_OPTIONS + ("prune_budget",)) \
                or "prune plan" in str(e):
            raise SystemExit(f"error: {e}") from None
        raise


if __name__ == "__main__":
    main()

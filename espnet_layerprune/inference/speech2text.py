"""ESPnet's ``Speech2Text`` with a pruned encoder: a depth, a layer list, a size, a budget, or
early exit; for the object, or for one call.

The walk of a ``prune_depth``: the constructor turns a budget into its calibrated request
(:mod:`.budget`) and ``"auto"`` into an early-exit policy (:mod:`.early_exit`), then
:func:`~espnet_layerprune.models.pruning.prune_model` resolves the request (prune plan, learned
masks, first N) and sets the encoder's run plan. ESPnet's decoding loop calls the encoder's
``forward``, whose one block loop runs the plan's units. A call with its own depth sets a plan
for that call only (``encoder.pruned``); early exit sets one that tries the networks
``--prune_depth N`` runs, in order of N (``encoder.exiting``). Text comes from ESPnet's beam
search or, when asked, from a decoding method over CTC log-posteriors (:mod:`.decoders`).

Examples:
    >>> s2t = Speech2Text("exp/asr/config.yaml", "exp/asr/valid.loss.best.pth",
    ...                   ctc_greedy=True, beam_size=1, ctc_weight=1.0)
    >>> best_text(s2t(speech, prune_depth=6))      # this call only: 6 layers
    >>> s2t.decode_all_depths(speech)              # {1: "...", ..., L: "..."}
"""

import dataclasses
import functools
import logging
import threading
from typing import Dict, FrozenSet, Optional

import torch
from espnet2.bin import asr_inference as stock
from espnet2.legacy.nets.beam_search import Hypothesis
from espnet2.legacy.nets.pytorch_backend.transformer.subsampling import TooShortUttError

from espnet_layerprune.checks.audio import audio_expectations
from espnet_layerprune.checks.checkpoints import check_checkpoint, check_checkpoint_matches
from espnet_layerprune.core.ctc import greedy_ids
from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.core.plan import PrunePlan
from espnet_layerprune.core.units import KeptUnits, PruneRequest
from espnet_layerprune.encoders import precision as numerics
from espnet_layerprune.inference.budget import choose_for
from espnet_layerprune.inference.decoders import greedy_search, lexicon_search
from espnet_layerprune.inference.early_exit import EarlyExit, ExitTracker, check_threshold, policy_from_options
from espnet_layerprune.inference.exit_cost import blocks_run
from espnet_layerprune.inference.lexicon_search import LexiconBeamSearch, lexicon_from_tokenizer
from espnet_layerprune.inference.matmul_ffn import use_matmul_ffn
from espnet_layerprune.inference.ngram import NgramLM
from espnet_layerprune.models.features import encoder_input
from espnet_layerprune.models.pruning import depth_networks, head_for, prune_model, resolve_for_model


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
        lexicon_lm: Word n-gram (``bin.train_ngram``): decode by the lexicon-constrained CTC
            beam search over its words, with ``lexicon_lm_weight``, ``lexicon_word_bonus`` and
            ``lexicon_beam``.
        exit_threshold: Early exit (``prune_depth="auto"``): stop at the first layer
            whose confidence is at least this, in (0, 1].
        exit_measure: ``max_posterior``, ``entropy`` or ``learned`` (the gate in
            ``exit_gate.yaml`` next to the model, from ``bin.calibrate``; :mod:`.exit_gate`).
        exit_gate: Path of the gate for ``learned`` (default: ``exit_gate.yaml`` next to
            the model file), or a fitted ``ExitGate``.
        exit_min_depth: Never exit below this layer.
        exit_patience: Also require the greedy hypothesis to be unchanged over this
            many previous layers.
        exit_every: Read only the exit layers that are multiples of this (the top always),
            ``>= 1``: fewer CTC heads per utterance (:mod:`.exit_cost`).
        precision: ``fp32`` or ``bf16``: the encoder under bfloat16 autocast on a CPU with
            bf16 units (float32 elsewhere, with a warning); features and CTC in float32.
        return_interctc: Also compute the intermediate CTC outputs and return ESPnet's
            ``(n-best, intermediate n-best)`` (the stock behaviour). Off by default: a call then
            computes only what it returns (no extra LayerNorm, CTC head or token loop per
            intermediate layer; self-conditioning still runs) and returns the n-best list.
        matmul_ffn: Compute the encoder's convolutional feed-forward as one matrix product over
            windows (:mod:`.matmul_ffn`: faster for short sequences, equal up to float rounding);
            ``False`` keeps ESPnet's ``conv1d``.
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
        exit_every: int = 1,
        precision: str = "fp32",
        return_interctc: bool = False,
        matmul_ffn: bool = True,
        **kwargs,
    ):
        if (ctc_greedy or lexicon_lm) and kwargs.get("batch_size", 1) > 1:
            raise ValueError("--ctc_greedy and --lexicon_lm decode one utterance at a time; use --batch_size 1")
        model_file = kwargs.get("asr_model_file", args[1] if len(args) > 1 else None)
        self.budget_choice = choose_for(prune_budget, model_file, prune_depth, prune_layers, prune_size)
        if self.budget_choice is not None:
            prune_depth = self.budget_choice["request"].get("prune_depth")
            prune_size = self.budget_choice["request"].get("prune_size")
        self.early_exit = policy_from_options(prune_depth, exit_threshold, exit_measure, exit_min_depth,
                                              exit_patience, model_file, exit_gate, exit_every)
        if self.early_exit is not None:
            prune_depth = None  # the object keeps every layer; each call stops where it is confident
            if kwargs.get("batch_size", 1) > 1:
                raise ConfigError("--prune_depth auto decodes one utterance at a time; use --batch_size 1")
        if model_file is not None:
            check_checkpoint(model_file)  # a clear error instead of ESPnet's loader messages
        super().__init__(*args, **kwargs)
        if model_file is not None:
            check_checkpoint_matches(self.asr_model, model_file)  # no silently random layers
        if hasattr(self.asr_model.encoder, "return_intermediate"):
            self.asr_model.encoder.return_intermediate = return_interctc
        if matmul_ffn:
            logging.info("convolutional feed-forward as matrix products: %d modules",
                         use_matmul_ffn(self.asr_model.encoder))
        self.compute_dtype = numerics.resolve(precision, option="--precision")
        if not numerics.set_encoder_dtype(self.asr_model, self.compute_dtype) and self.compute_dtype is not None:
            raise ConfigError("--precision bf16 needs a prunable encoder (prunable_transformer, ...)")
        logging.info("decoding precision: %s", numerics.describe(self.compute_dtype))
        # A decoding method over the CTC log-posteriors (the lexicon search wins), or None: ESPnet's beam search.
        self.decode = None
        if ctc_greedy:
            logging.info("decoding with greedy CTC (best path); the beam search is not used")
            self.decode = functools.partial(greedy_search, blank=self.asr_model.blank_id)
        _, self.min_samples = audio_expectations(self.asr_train_args)
        self.plan = PrunePlan.find_for(model_file) if use_prune_plan else None
        if self.plan is not None and prune_depth is not None:
            logging.info("using prune plan %s", self.plan.source)
        self._call = threading.local()  # this thread's call: its CTC head and where it exited
        self.pruning = prune_model(
            self.asr_model, depth=prune_depth, layers=prune_layers, size=prune_size, plan=self.plan
        )
        self.ctc_head = head_for(self.asr_model, len(self.pruning.kept_units))
        self._decode_with_head(self.ctc_head)
        if lexicon_lm:
            search = self._lexicon_search(lexicon_lm, lexicon_lm_weight, lexicon_word_bonus, lexicon_beam)
            self.decode = functools.partial(lexicon_search, search)
        # Every early-exit call's {"layer", "confidence"} (layer None: too short), when set to a list;
        # the command line does, for pruning.yaml. Off by default: a long-lived object would grow.
        self.exit_log: Optional[list] = None
        self._exit_lock = threading.Lock()
        if self.early_exit is not None:
            self._check_early_exit(self.early_exit)
            logging.info("early exit: %s >= %g, from layer %d on, patience %d", self.early_exit.measure,
                         self.early_exit.threshold, self.early_exit.min_depth, self.early_exit.patience)

    @staticmethod
    def from_pretrained(model_tag: Optional[str] = None, **kwargs):
        """ESPnet's ``from_pretrained`` (model zoo, Hugging Face), returning this
        class, with every pruning option (``prune_depth=6``, ...)."""
        if model_tag is not None:
            kwargs.update(stock.download_pretrained(model_tag))
        return Speech2Text(**kwargs)

    def _check_early_exit(self, policy: EarlyExit) -> None:
        encoder = self.asr_model.encoder
        one_block = head_for(self.asr_model, encoder.units_per_layer)
        if one_block is not head_for(self.asr_model, encoder.num_units):
            raise ConfigError("--prune_depth auto is refused on a model with per-size CTC heads (per_size_ctc: "
                              "true): its depths would be read through size heads trained on learned-mask "
                              "subnets; decode a fixed --prune_size or --prune_depth instead")
        policy.check(encoder.num_layers, self.exit_depths)

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

    def _decode_with_head(self, head) -> None:
        """Make the beam search's CTC scorer read ``head`` (per-size heads); the
        encoder's self-conditioning keeps the shared head, as in training."""
        if head is self.asr_model.ctc or self.beam_search is None:
            return
        for scorer in self.beam_search.scorers.values():
            if getattr(scorer, "ctc", None) is self.asr_model.ctc:
                scorer.ctc = head

    # ------------------------------------------------------------------ decoding
    @torch.inference_mode()  # decoding never needs autograd: cheaper than ESPnet's no_grad (about 3%)
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
        if not isinstance(speech, (list, tuple)):
            self._check_length(speech)  # ESPnet's loop turns this into a warning and an empty hypothesis
        if prune_depth is None and prune_layers is None and prune_size is None:
            return super().__call__(speech)
        request = PruneRequest(depth=prune_depth, layers=prune_layers, size=prune_size)
        kept = resolve_for_model(self.asr_model, request, self.plan)
        head = head_for(self.asr_model, len(kept.units))
        if head is not self.ctc_head and self.decode is None:
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

    def _check_length(self, speech) -> None:
        if len(speech) < self.min_samples:
            raise TooShortUttError(f"has {len(speech)} samples and is too short for the frontend and "
                                   f"subsampling (it needs at least {self.min_samples})",
                                   len(speech), self.min_samples)

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
        encoder, model, networks = self.asr_model.encoder, self.asr_model, self.depth_networks
        tracker = ExitTracker(policy, self.exit_depths, model.blank_id)
        # frames, layers read and blocks run: what the decode costs (inference.exit_cost)
        record = {"layer": None, "confidence": None, "frames": None, "reads": 0, "executed_layers": 0}
        self._call.exit = record
        tried = []

        def stop(depth: int, out: torch.Tensor) -> bool:
            head = head_for(model, len(networks[depth].units))
            done = tracker.update(depth, head.log_softmax(out)[0])
            tried.append(networks[depth].layers)
            record.update(frames=int(out.size(1)), reads=tracker.read_count, executed_layers=blocks_run(tried))
            if tracker.layer == depth:
                record.update(layer=depth, confidence=round(tracker.confidence, 4))
                self._call.head = head  # the decoder reads the exit depth with its own head
            return done

        candidates = [c for c in self._depth_plans if tracker.needs(c[0])]  # the full depth always
        try:
            self._check_length(speech)
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

    @property
    def last_exit(self) -> Optional[dict]:
        """``{"layer", "confidence"}`` of this thread's last early-exit call."""
        return getattr(self._call, "exit", None)

    @functools.cached_property
    def depth_networks(self) -> Dict[int, KeptUnits]:
        """What ``--prune_depth N`` keeps for every depth it serves (the prune plan, the learned
        masks or the first N layers): the networks early exit tries, in order."""
        return depth_networks(self.asr_model, self.plan)

    @functools.cached_property
    def exit_depths(self) -> FrozenSet[int]:
        """Depths whose network ends in a layer with a CTC output (intermediate or final)."""
        encoder = self.asr_model.encoder
        outputs = set(encoder.interctc_layer_idx) | {encoder.num_layers}
        return frozenset(d for d, kept in self.depth_networks.items() if kept.layers[-1] in outputs)

    @functools.cached_property
    def _depth_plans(self):
        return self.asr_model.encoder.depth_plans({d: k.units for d, k in self.depth_networks.items()})

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
        self._check_length(speech)
        speech = torch.as_tensor(speech, dtype=torch.float32)[None].to(self.device)
        lengths = speech.new_full([1], speech.size(1), dtype=torch.long)
        outputs = model.encoder.depth_outputs(encoder_input(model, speech, lengths), ctc=model.ctc,
                                              candidates=self._depth_plans)
        return {depth: head_for(model, len(self.depth_networks[depth].units)).log_softmax(out)[0]
                for (depth, _), out in zip(self._depth_plans, outputs)}

    def greedy_text(self, logp: torch.Tensor) -> str:
        """Best-path text of one utterance's ``(T, V)`` log-posteriors."""
        tokens = self.converter.ids2tokens(greedy_ids(logp, self.asr_model.blank_id))
        return self.tokenizer.tokens2text(tokens) if self.tokenizer is not None else "".join(tokens)

    def _head(self):
        return getattr(self._call, "head", None) or self.ctc_head

    def _decode_single_sample(self, enc):
        if self.decode is None:
            return super()._decode_single_sample(enc)
        hyp = self.decode(self._head().log_softmax(enc[None])[0])
        # asr.sh's RTF step reads this line
        shown = " ".join(hyp.words) if hyp.words is not None else "".join(self.converter.ids2tokens(hyp.ids))
        logging.info("best hypo: " + shown)
        yseq = torch.tensor([self.asr_model.sos] + hyp.ids + [self.asr_model.eos])
        return self._hyps_to_results([Hypothesis(yseq=yseq, score=hyp.score)])


def best_text(results) -> str:
    """The best hypothesis' text of a :class:`Speech2Text` call (whose models with intermediate
    CTC return ``(n-best, intermediate n-best)``)."""
    nbest = results[0] if isinstance(results, tuple) else results
    return nbest[0][0]

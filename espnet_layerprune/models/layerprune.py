"""``model: layerprune``: an ESPnet ASR model trained as a dynamic-size supernet.

Each training step runs the passes chosen by :class:`~espnet_layerprune.
supernet.Supernet` (the supernet and one or two subnets) through the same
encoder weights, with the encoder's
:meth:`~espnet_layerprune.encoders.prunable.PrunableEncoderMixin.run_units`,
and sums their weighted losses. Features (frontend, SpecAugment, normalization)
are computed once per step and shared by all passes.

After training, the supernet's learned masks (:meth:`LayerPruneASRModel.size_units`,
``supernet.depth_layers``) decide what ``--prune_size`` and ``--prune_depth`` keep
(:mod:`espnet_layerprune.models.pruning`). Inference itself is ESPnet's (:meth:`encode` is
inherited).
"""

import copy
import dataclasses
from typing import Dict, List, Optional, Tuple, Union

import torch
from espnet2.asr.ctc import CTC
from espnet2.asr.decoder.abs_decoder import AbsDecoder
from espnet2.asr.decoder.linear_decoder import LinearDecoder
from espnet2.asr.encoder.abs_encoder import AbsEncoder
from espnet2.asr.espnet_model import ESPnetASRModel
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.asr.postencoder.abs_postencoder import AbsPostEncoder
from espnet2.asr.preencoder.abs_preencoder import AbsPreEncoder
from espnet2.asr.specaug.abs_specaug import AbsSpecAug
from espnet2.layers.abs_normalize import AbsNormalize
from espnet2.torch_utils.device_funcs import force_gatherable
from typeguard import typechecked

from espnet_layerprune.core.ctc import TokenText, best_path, error_rates
from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.core.units import check_depth
from espnet_layerprune.encoders.prunable import PrunableEncoderMixin
from espnet_layerprune.encoders.run_plan import UnitGates
from espnet_layerprune.models.distillation import posterior_kl
from espnet_layerprune.models.features import encoder_input
from espnet_layerprune.supernet import Supernet, SubnetPass


class LayerPruneASRModel(ESPnetASRModel):
    """ESPnet's CTC(-attention) ASR model, trained as a dynamic-size supernet.

    Takes every argument of :class:`espnet2.asr.espnet_model.ESPnetASRModel`
    (``model_conf`` in the training YAML) and:

    Args:
        supernet: The schedule, see :class:`~espnet_layerprune.supernet.Supernet`
            (``method``, ``sizes``, ``stage1_steps``, ...). Required: the scored
            methods need at least ``stage1_steps``.
        interctc_distill_weight: In-place distillation: each intermediate CTC layer is also
            trained towards the top layer's posteriors of the same pass, with this weight
            (:mod:`espnet_layerprune.models.distillation`); 0 (the default) is ESPnet's
            intermediate CTC. Needs ``interctc_weight > 0`` and ``ctc_weight > 0``.
        per_size_ctc: Give each size below the largest its own CTC output layer
            (as the paper's reference code); default: one shared head, so that
            every size decodes with ESPnet's stock ``model.ctc``. A pass with
            ``k`` units uses the head of the smallest size ``>= k``.

    The encoder must be prunable (``encoder: prunable_conformer`` or
    ``prunable_transformer``). CTC-only (``ctc_weight: 1.0``) is the target; with
    an attention decoder every pass adds the attention loss as ESPnet does.
    Intermediate CTC (``interctc_weight``) applies to the supernet pass.
    Transducer and classification decoders, and ``aux_ctc``, are not supported.
    """

    @typechecked
    def __init__(
        self,
        vocab_size: int,
        token_list: Union[Tuple[str, ...], List[str]],
        frontend: Optional[AbsFrontend],
        specaug: Optional[AbsSpecAug],
        normalize: Optional[AbsNormalize],
        preencoder: Optional[AbsPreEncoder],
        encoder: Optional[AbsEncoder],
        postencoder: Optional[AbsPostEncoder],
        decoder: Optional[AbsDecoder],
        ctc: CTC,
        joint_network: Optional[torch.nn.Module],
        aux_ctc: Optional[dict] = None,
        ctc_weight: float = 0.5,
        interctc_weight: float = 0.0,
        ignore_id: int = -1,
        lsm_weight: float = 0.0,
        length_normalized_loss: bool = False,
        report_cer: bool = True,
        report_wer: bool = True,
        sym_space: str = "<space>",
        sym_blank: str = "<blank>",
        transducer_multi_blank_durations: List = [],
        transducer_multi_blank_sigma: float = 0.05,
        sym_sos: str = "<sos/eos>",
        sym_eos: str = "<sos/eos>",
        autocast_frontend: bool = False,
        extract_feats_in_collect_stats: bool = True,
        lang_token_id: int = -1,
        supernet: Optional[dict] = None,
        per_size_ctc: bool = False,
        interctc_distill_weight: float = 0.0,
    ):
        if not isinstance(encoder, PrunableEncoderMixin):
            raise ConfigError(
                "model: layerprune needs a prunable encoder (encoder: prunable_transformer, "
                "prunable_conformer or prunable_e_branchformer), got "
                f"{type(encoder).__name__}"
            )
        if joint_network is not None or isinstance(decoder, LinearDecoder):
            raise ConfigError(
                "model: layerprune supports CTC and attention decoders, not "
                f"decoder {type(decoder).__name__}"
            )
        if aux_ctc:
            raise ConfigError("model: layerprune does not support model_conf.aux_ctc")
        if per_size_ctc and ctc_weight == 0.0:
            raise ConfigError("per_size_ctc: true needs ctc_weight > 0")
        if not 0.0 <= interctc_distill_weight < float("inf"):
            raise ConfigError(f"model_conf.interctc_distill_weight must be >= 0, got {interctc_distill_weight}")
        if interctc_distill_weight > 0.0 and (interctc_weight == 0.0 or ctc_weight == 0.0):
            raise ConfigError(
                "model_conf.interctc_distill_weight > 0 needs interctc_weight > 0 and ctc_weight > 0 "
                f"(it teaches the intermediate CTC layers), got interctc_weight {interctc_weight}, "
                f"ctc_weight {ctc_weight}"
            )
        super().__init__(
            vocab_size=vocab_size,
            token_list=token_list,
            frontend=frontend,
            specaug=specaug,
            normalize=normalize,
            preencoder=preencoder,
            encoder=encoder,
            postencoder=postencoder,
            decoder=decoder,
            ctc=ctc,
            joint_network=joint_network,
            aux_ctc=aux_ctc,
            ctc_weight=ctc_weight,
            interctc_weight=interctc_weight,
            ignore_id=ignore_id,
            lsm_weight=lsm_weight,
            length_normalized_loss=length_normalized_loss,
            report_cer=report_cer,
            report_wer=report_wer,
            sym_space=sym_space,
            sym_blank=sym_blank,
            transducer_multi_blank_durations=transducer_multi_blank_durations,
            transducer_multi_blank_sigma=transducer_multi_blank_sigma,
            sym_sos=sym_sos,
            sym_eos=sym_eos,
            autocast_frontend=autocast_frontend,
            extract_feats_in_collect_stats=extract_feats_in_collect_stats,
            lang_token_id=lang_token_id,
        )
        self.interctc_distill_weight = interctc_distill_weight
        self.supernet = Supernet.from_config(
            supernet, encoder.num_units, encoder.units_per_layer
        )
        if self.supernet.scored and encoder.skips_in_training:
            raise ConfigError(
                f"with supernet method {self.supernet.config.method}, skipping is set by "
                "model_conf.supernet.stage1_stochastic_depth / "
                "stage2_stochastic_depth; set encoder_conf.stochastic_depth_rate "
                "and layer_drop_rate to 0"
            )
        if self.supernet.scored and len(encoder.kept_units) != encoder.num_units:
            raise ConfigError(
                f"with supernet method {self.supernet.config.method}, the training passes choose "
                "the units; a static encoder_conf.prune_layers / prune_units would be "
                "ignored in training but applied in validation. Remove it (prune at "
                "decoding time with --prune_size / --prune_depth instead)"
            )
        if per_size_ctc and not self.supernet.scored:
            raise ConfigError(
                "per_size_ctc: true needs supernet method simple_top_k or "
                "iterative_zero_out (stochastic_depth trains the supernet only)"
            )
        # One head per size below the largest; the largest uses ``self.ctc``.
        self.size_ctc = (
            torch.nn.ModuleList(copy.deepcopy(ctc) for _ in self.supernet.sizes[:-1])
            if per_size_ctc
            else None
        )

    # ------------------------------------------------------------------ masks
    def size_units(self, size: int) -> Tuple[int, ...]:
        """1-based units kept at ``size`` (top-``size`` of the learned scores,
        frozen at the start of stage 2; nested across sizes)."""
        size = check_depth(size, self.encoder.num_units, option="--prune_size")
        return self.supernet.size_units(size)

    def ctc_for_size(self, size: int) -> CTC:
        """The CTC head that decodes a net of ``size`` units."""
        if self.size_ctc is None:
            return self.ctc
        for s, head in zip(self.supernet.sizes, self.size_ctc):
            if size <= s:
                return head
        return self.ctc

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """Supernet and subnet losses of one step (ESPnet's model interface).

        Args:
            speech: ``(B, L, ...)`` speech.
            speech_lengths: ``(B,)``.
            text: ``(B, Lmax)`` token ids.
            text_lengths: ``(B,)``.
            kwargs: Unused (``utt_id``).

        Returns:
            ``(loss, stats, batch_size)``. In training ``loss`` is the weighted
            sum over this step's passes plus the sparsity loss; in eval it is
            the loss of the net as the encoder is set (the supernet), and the
            smallest subnet's loss is reported in ``stats`` when unpruned.
        """
        assert text_lengths.dim() == 1, text_lengths.shape
        assert (
            speech.shape[0] == speech_lengths.shape[0] == text.shape[0] == text_lengths.shape[0]
        ), (speech.shape, speech_lengths.shape, text.shape, text_lengths.shape)
        batch_size = speech.shape[0]
        text[text == -1] = self.ignore_id
        text = text[:, : text_lengths.max()]

        if self.training:
            step = self.supernet.start_train_step()
            passes = self.supernet.train_passes(step)
        else:
            step = self.supernet.step
            passes = self.supernet.eval_passes()
            kept = len(self.encoder.kept_units)
            if kept != self.encoder.num_units:
                # Pruned by the caller (e.g. layer selection): evaluate that net only.
                passes = [dataclasses.replace(passes[0], size=kept)]

        stats: Dict[str, Optional[torch.Tensor]] = {}
        loss = None
        # The front end, which no mask prunes, runs once for all passes (on CPU it is
        # the largest share of the cost); gradients from every pass reach it.
        embedded = encoder_input(self, speech, speech_lengths)
        for p in passes:
            pass_loss, pass_stats = self._run_pass(p, embedded, text, text_lengths)
            if p.name == "supernet":
                stats.update(pass_stats)  # ESPnet's names: loss_ctc, cer_ctc, ...
            elif pass_stats.get("cer_ctc") is not None:
                stats[f"cer_ctc_{p.name}"] = pass_stats["cer_ctc"]
                stats[f"wer_ctc_{p.name}"] = pass_stats["wer_ctc"]
            stats[f"loss_{p.name}"] = pass_loss.detach()
            if self.training or p.name == "supernet":
                term = p.weight * pass_loss if self.training else pass_loss
                loss = term if loss is None else loss + term
        if self.training:
            extra = self.supernet.extra_loss(step, embedded.lengths)
            if extra is not None:  # Iterative-Zero-Out's sparsity loss
                value, weight = extra
                stats["loss_sparsity"] = value.detach()
                loss = loss + weight * value
        stats.update(self.supernet.stats(step, self.encoder.unit_labels(), self.training))
        stats["loss"] = loss.detach()
        loss, stats, weight = force_gatherable((loss, stats, batch_size), loss.device)
        return loss, stats, weight

    def _run_pass(self, p: SubnetPass, embedded, text, text_lengths):
        gates = None if p.gates is None else UnitGates(p.gates, p.gates_open)
        out, out_lens, _ = self.encoder.run_units(
            embedded, units=p.units, gates=gates, drop_probs=p.drop_probs, ctc=self.ctc, drop_mode=p.drop_mode
        )
        intermediate_outs = None
        if isinstance(out, tuple):
            out, intermediate_outs = out
        if self.postencoder is not None:
            out, out_lens = self.postencoder(out, out_lens)
        if p.name != "supernet":
            intermediate_outs = None  # intermediate CTC trains the supernet only
        return self._pass_loss(
            out, out_lens, text, text_lengths, self.ctc_for_size(p.head_size or p.size), intermediate_outs
        )

    def _pass_loss(self, out, out_lens, text, text_lengths, head, intermediate_outs):
        """ESPnet's CTC / intermediate CTC / attention loss of one pass."""
        stats: Dict[str, Optional[torch.Tensor]] = {}
        loss_ctc = loss_att = None
        if self.ctc_weight != 0.0:
            loss_ctc, cer_ctc, wer_ctc = self._head_ctc_loss(head, out, out_lens, text, text_lengths)
            stats["loss_ctc"] = loss_ctc.detach()
            stats["cer_ctc"] = cer_ctc
            stats["wer_ctc"] = wer_ctc
            if self.interctc_weight != 0.0 and intermediate_outs:
                loss_inter = loss_distill = 0.0
                teacher = head.log_softmax(out) if self.interctc_distill_weight else None
                for layer, hidden in intermediate_outs:
                    loss_ic, cer_ic, wer_ic = self._head_ctc_loss(
                        self.ctc, hidden, out_lens, text, text_lengths
                    )
                    loss_inter = loss_inter + loss_ic
                    stats[f"loss_interctc_layer{layer}"] = loss_ic.detach()
                    stats[f"cer_interctc_layer{layer}"] = cer_ic
                    stats[f"wer_interctc_layer{layer}"] = wer_ic
                    if teacher is not None:
                        loss_distill = loss_distill + posterior_kl(teacher, self.ctc.log_softmax(hidden), out_lens)
                loss_inter = loss_inter / len(intermediate_outs)
                w = self.interctc_weight
                loss_ctc = (1 - w) * loss_ctc + w * loss_inter
                if teacher is not None:
                    loss_distill = loss_distill / len(intermediate_outs)
                    stats["loss_distill"] = loss_distill.detach()
                    if self.training:  # validation keeps the CTC loss that picks the averaged checkpoints
                        loss_ctc = loss_ctc + self.interctc_distill_weight * loss_distill
        if self.ctc_weight != 1.0:
            # _calc_att_loss may extend the lengths in place (lang_token_id).
            loss_att, acc, cer, wer = self._calc_att_loss(
                out, out_lens, text, text_lengths.clone()
            )
            stats.update(loss_att=loss_att.detach(), acc=acc, cer=cer, wer=wer)
        if loss_att is None:
            loss = loss_ctc
        elif loss_ctc is None:
            loss = loss_att
        else:
            loss = self.ctc_weight * loss_ctc + (1 - self.ctc_weight) * loss_att
        return loss, stats

    def _head_ctc_loss(self, head: CTC, out, out_lens, text, text_lengths):
        loss = head(out, out_lens, text, text_lengths)
        cer = wer = None
        if not self.training and self.error_calculator is not None:
            ys_hat = head.argmax(out).data
            cer = self.error_calculator(ys_hat.cpu(), text.cpu(), is_ctc=True)
            wer = self._greedy_wer(head, out, out_lens, text, text_lengths)
        return loss, cer, wer

    def _greedy_wer(self, head, out, out_lens, text, text_lengths) -> float:
        """Word error rate of greedy CTC decoding (validation; words as decoding writes them)."""
        to_text = TokenText(self.token_list)
        hyps = best_path(head.log_softmax(out), out_lens, self.blank_id)
        refs = [text[i, : int(n)].tolist() for i, n in enumerate(text_lengths)]
        wer, _ = error_rates([to_text(r) for r in refs], [to_text(h) for h in hyps])
        return wer

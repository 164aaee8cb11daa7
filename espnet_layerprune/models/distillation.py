"""In-place distillation for intermediate CTC: the top layer teaches the layers below it.

With ``model_conf.interctc_distill_weight: d > 0`` every intermediate CTC layer of the supernet pass is
trained towards the final layer's posteriors of the same forward pass, besides its CTC loss::

    loss = (1 - w) * CTC(top) + w * mean_k CTC(k) + d * mean_k KL(p_top || p_k)

(``w = interctc_weight``). The teacher is detached, so it is taught by the labels only; the KL is summed
over the vocabulary and the valid frames of each utterance and averaged over the batch, as ESPnet's CTC
loss is. It costs one softmax per intermediate layer, no extra pass. It is the "top layer teaches the
intermediate layers" form of the in-place distillation of US-Nets' sandwich rule, for the one-pass
interCTC supernet (issue 22, item 5). The term is added in training only: the validation loss, which picks
the checkpoints that are averaged, stays the CTC loss every other model reports (``loss_distill`` is
reported beside it).
"""

import torch


def posterior_kl(teacher_logp: torch.Tensor, student_logp: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``KL(teacher || student)`` of ``(B, T, V)`` log-posteriors, summed over the vocabulary and the
    first ``lengths[b]`` frames of each utterance, averaged over the batch; no gradient to the teacher."""
    teacher_logp = teacher_logp.detach()
    per_frame = (teacher_logp.exp() * (teacher_logp - student_logp)).sum(-1)  # (B, T)
    valid = torch.arange(per_frame.size(1), device=lengths.device)[None, :] < lengths[:, None]
    return per_frame.masked_fill(~valid, 0.0).sum(1).mean()

"""In-place distillation: the top layer's posteriors teach the intermediate CTC layers."""

import pytest
import torch
from layerprune_models import batch, build

from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.models.distillation import posterior_kl

STOCHASTIC_DEPTH = dict(method="stochastic_depth")


def test_posterior_kl_is_zero_for_equal_posteriors_and_ignores_padded_frames():
    teacher = torch.randn(2, 5, 4).log_softmax(-1)
    student = torch.randn(2, 5, 4).log_softmax(-1)
    lengths = torch.tensor([5, 2])
    assert posterior_kl(teacher, teacher, lengths).item() == pytest.approx(0.0, abs=1e-6)
    kl = posterior_kl(teacher, student, lengths)
    changed = student.clone()
    changed[1, 2:] = teacher[1, 2:]  # past utterance 1's length: must not count
    assert kl > 0 and posterior_kl(teacher, changed, lengths).item() == pytest.approx(kl.item())
    by_hand = [(teacher[b, :n].exp() * (teacher[b, :n] - student[b, :n])).sum() for b, n in enumerate([5, 2])]
    assert kl.item() == pytest.approx(sum(by_hand).item() / 2, rel=1e-5)


def test_the_teacher_gets_no_gradient():
    teacher = torch.randn(1, 3, 4, requires_grad=True)
    student = torch.randn(1, 3, 4, requires_grad=True)
    posterior_kl(teacher.log_softmax(-1), student.log_softmax(-1), torch.tensor([3])).backward()
    assert teacher.grad is None and student.grad.abs().sum() > 0


def _model(weight):
    return build(STOCHASTIC_DEPTH, encoder="prunable_transformer",
                 encoder_conf=dict(interctc_layer_idx=[1, 2, 3]), interctc_weight=0.5,
                 interctc_distill_weight=weight)


def test_training_adds_the_weighted_term_and_validation_reports_it_only():
    plain, taught = _model(0.0), _model(0.7)
    taught.load_state_dict(plain.state_dict())
    for mode in ("train", "eval"):
        results = []
        for model in (plain, taught):
            getattr(model, mode)()
            torch.manual_seed(0)
            loss, stats, _ = model(**batch(1))
            results.append((loss.item(), stats))
        (plain_loss, plain_stats), (taught_loss, taught_stats) = results
        assert "loss_distill" not in plain_stats and taught_stats["loss_distill"] > 0
        extra = 0.7 * taught_stats["loss_distill"].item() if mode == "train" else 0.0
        assert taught_loss == pytest.approx(plain_loss + extra, rel=1e-5)


@pytest.mark.parametrize("conf, message", [
    (dict(interctc_distill_weight=-0.1), "interctc_distill_weight must be >= 0"),
    (dict(interctc_distill_weight=0.5), "needs interctc_weight > 0"),
])
def test_bad_settings_are_refused_naming_the_option(conf, message):
    with pytest.raises(ConfigError, match=message):
        build(STOCHASTIC_DEPTH, encoder="prunable_transformer", **conf)

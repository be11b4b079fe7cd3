"""The exercise checks of chapters 04 and 05 pass the solution and fail wrong answers and stubs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_lib.checks import ch04, ch05
from course_lib.course.exercises import ExerciseNotDone


def _stub(*args):
    raise NotImplementedError


# chapter 04 ----------------------------------------------------------------------------------------------

def aae_d_loss(prior_logits, code_logits):
    return F.softplus(-prior_logits).mean() + F.softplus(code_logits).mean()


def label_conditioned_mixture(labels, n_classes, radius, radial_std, tangential_std, generator=None):
    angle = labels.float() * (2 * torch.pi / n_classes)
    eps = torch.randn(len(labels), 2, generator=generator)
    r, t = radius + radial_std * eps[:, 0], tangential_std * eps[:, 1]
    return torch.stack([r * angle.cos() - t * angle.sin(), r * angle.sin() + t * angle.cos()], dim=1)


def test_ch04_checks():
    ch04.aae_d_loss(aae_d_loss)
    ch04.label_conditioned_mixture(label_conditioned_mixture)
    with pytest.raises(AssertionError, match="swapped"):  # the source document's version
        ch04.aae_d_loss(lambda p, c: F.softplus(p).mean() + F.softplus(-c).mean())
    with pytest.raises(AssertionError, match="finite|softplus"):
        ch04.aae_d_loss(lambda p, c: -torch.log(torch.sigmoid(p)).mean() - torch.log(1 - torch.sigmoid(c)).mean())
    with pytest.raises(AssertionError):  # stds swapped: stretched across the radius instead of along it
        ch04.label_conditioned_mixture(lambda l, k, r, a, b, g=None: label_conditioned_mixture(l, k, r, b, a, g))
    with pytest.raises(AssertionError):  # angle in degrees-like units
        ch04.label_conditioned_mixture(lambda l, k, r, a, b, g=None: label_conditioned_mixture(l, 2 * k, r, a, b, g))
    for check in (ch04.aae_d_loss, ch04.label_conditioned_mixture):
        with pytest.raises(ExerciseNotDone):
            check(_stub)


# chapter 05 ----------------------------------------------------------------------------------------------

def kl_two_gaussians(mu1, logvar1, mu2, logvar2):
    return 0.5 * (logvar2 - logvar1 + (logvar1.exp() + (mu1 - mu2) ** 2) / logvar2.exp() - 1).sum(-1)


def vaegan_decoder_loss(f_rec, f_real, fake_logits, gamma):
    return gamma * 0.5 * (f_rec - f_real).pow(2).sum(1).mean() + F.softplus(-fake_logits).mean()


def test_ch05_checks():
    ch05.kl_two_gaussians(kl_two_gaussians)
    ch05.vaegan_decoder_loss(vaegan_decoder_loss)
    with pytest.raises(AssertionError, match="not symmetric"):
        ch05.kl_two_gaussians(lambda m1, l1, m2, l2: kl_two_gaussians(m2, l2, m1, l1))
    with pytest.raises(AssertionError, match="logvar"):  # logvar taken for log σ
        ch05.kl_two_gaussians(lambda m1, l1, m2, l2: kl_two_gaussians(m1, 2 * l1, m2, 2 * l2))
    with pytest.raises(AssertionError, match="wrong sign"):
        ch05.vaegan_decoder_loss(lambda fr, fx, l, g: g * 0.5 * (fr - fx).pow(2).sum(1).mean() - F.softplus(-l).mean())
    with pytest.raises(AssertionError, match="saturating"):
        ch05.vaegan_decoder_loss(lambda fr, fx, l, g: g * 0.5 * (fr - fx).pow(2).sum(1).mean() - F.softplus(l).mean())
    with pytest.raises(AssertionError, match="γ"):
        ch05.vaegan_decoder_loss(lambda fr, fx, l, g: vaegan_decoder_loss(fr, fx, l, 1.0))
    for check in (ch05.kl_two_gaussians, ch05.vaegan_decoder_loss):
        with pytest.raises(ExerciseNotDone):
            check(_stub)

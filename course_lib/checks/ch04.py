"""Exercise checks of chapter 04: each tests a learner's function by its behaviour and explains a failure."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..course.exercises import call as _call
from ..course.exercises import ok as _ok


def aae_d_loss(fn) -> None:
    """fn(prior_logits, code_logits) -> the AAE discriminator's loss: prior samples real (1), codes fake (0)."""
    g = torch.Generator().manual_seed(0)
    prior_logits, code_logits = torch.randn(50, 1, generator=g) * 2, torch.randn(50, 1, generator=g) * 2 + 1
    want = F.softplus(-prior_logits).mean() + F.softplus(code_logits).mean()
    got = torch.as_tensor(_call(fn, prior_logits, code_logits))
    assert got.ndim == 0, f"return a scalar (batch means), got shape {tuple(got.shape)}"
    swapped = F.softplus(prior_logits).mean() + F.softplus(-code_logits).mean()
    if torch.allclose(got, swapped, atol=1e-5):
        raise AssertionError("real and fake are swapped: the *prior* samples are D's real data (label 1), the "
                             "encoded codes are the fakes (label 0). The source document writes it the other way.")
    if torch.allclose(got, -want, atol=1e-5):
        raise AssertionError("sign: D *minimises* -E[log D(z_prior)] - E[log(1 - D(E(x)))], a cross-entropy ≥ 0")
    assert torch.allclose(got, want, atol=1e-5), \
        f"expected -E[log D(z_prior)] - E[log(1 - D(E(x)))] = {float(want):.5f}, got {float(got):.5f}"
    right = torch.as_tensor(_call(fn, torch.tensor([[300.0]]), torch.tensor([[-300.0]])))
    assert float(right) < 1e-6, "a D that is right with logits ±300 should give a loss of about 0"
    wrong = torch.as_tensor(_call(fn, torch.tensor([[-300.0]]), torch.tensor([[300.0]])))
    assert torch.isfinite(wrong) and abs(float(wrong) - 600.0) < 1e-3, \
        ("a D that is confidently wrong (logits ∓300) should give a loss of about 600, finite: "
         "log(sigmoid(-300)) underflows to -inf; use softplus: -log σ(l) = softplus(-l)")
    _ok("AAE discriminator loss: prior codes are real, encoded codes are fake, computed stably on logits")


def label_conditioned_mixture(fn) -> None:
    """fn(labels, n_classes, radius, radial_std, tangential_std, generator) -> (B, 2) samples, sample i from
    component labels[i]: centred at angle 2π·labels[i]/n_classes on the circle, stretched along the radius."""
    n, k = 20_000, 10
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(k, (n,), generator=g)
    z = _call(fn, labels, k, 2.0, 0.5, 0.1, torch.Generator().manual_seed(1))
    assert isinstance(z, torch.Tensor) and z.shape == (n, 2), \
        f"expected a tensor of shape ({n}, 2), got {type(z).__name__} {tuple(getattr(z, 'shape', ()))}"
    angles = labels.float() * (2 * math.pi / k)
    u = torch.stack([angles.cos(), angles.sin()], 1)  # radial unit vectors
    v = torch.stack([-angles.sin(), angles.cos()], 1)  # tangential unit vectors
    radial, tangential = (z * u).sum(1), (z * v).sum(1)
    assert abs(float(radial.mean()) - 2.0) < 0.03, \
        (f"the samples of component k should sit at distance `radius` along angle 2πk/K; mean radial coordinate "
         f"is {float(radial.mean()):.3f}, expected 2.0 (are components and labels in the same order?)")
    assert abs(float(tangential.mean())) < 0.02, "samples drift sideways from their component's direction"
    assert abs(float(radial.std()) - 0.5) < 0.02, \
        f"spread along the radius should be radial_std = 0.5, got {float(radial.std()):.3f}"
    assert abs(float(tangential.std()) - 0.1) < 0.01, \
        f"spread across the radius should be tangential_std = 0.1, got {float(tangential.std()):.3f}"
    z0 = _call(fn, torch.zeros(5, dtype=torch.long), k, 2.0, 0.0, 0.0, torch.Generator().manual_seed(2))
    assert torch.allclose(z0, torch.tensor([[2.0, 0.0]]).expand(5, 2), atol=1e-5), \
        "with zero spread, label 0 must give exactly (radius, 0)"
    _ok("label k lands in mixture component k, with the radial and tangential spreads asked for")

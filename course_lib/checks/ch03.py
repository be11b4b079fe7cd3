"""Exercise checks of chapter 03 (training GANs that converge)."""

from __future__ import annotations

import torch
from torch import nn

from .. import losses
from ..course.exercises import call as _call
from ..course.exercises import ok as _ok


def hinge_d_loss(fn) -> None:
    """fn(real_scores, fake_scores) -> E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]."""
    real, fake = torch.tensor([2.0, -1.0, 0.3]), torch.tensor([0.5, -3.0, -0.9])
    got = torch.as_tensor(_call(fn, real, fake))
    assert got.ndim == 0, f"return a scalar (batch means), got shape {tuple(got.shape)}"
    if torch.allclose(got, losses.d_loss_wgan(real, fake), atol=1e-6):
        raise AssertionError("that is the Wasserstein critic loss; the hinge clips each term at its margin with max(0, ·)")
    want = losses.d_loss_hinge(real, fake)
    assert torch.allclose(got, want, atol=1e-6), f"expected {float(want):.4f}, got {float(got):.4f}"
    beyond = torch.as_tensor(_call(fn, torch.tensor([1.5, 4.0]), torch.tensor([-1.0, -7.0])))
    assert float(beyond) == 0.0, "past the margins (D(x) ≥ 1, D(G(z)) ≤ -1) the hinge loss must be exactly 0"
    _ok("hinge loss: zero once real scores pass +1 and fake scores pass -1")


def gradient_penalty(fn) -> None:
    """fn(D, real, fake, eps) -> E[(||∇D(x̂)||₂ - 1)²] with x̂ = eps·real + (1 - eps)·fake, usable in D's loss."""
    torch.manual_seed(0)
    D = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    real, fake = torch.randn(4, 3, 2, 2, dtype=torch.float64), torch.randn(4, 3, 2, 2, dtype=torch.float64)
    eps = torch.rand(4, 1, 1, 1, dtype=torch.float64)
    got = _call(fn, D, real, fake, eps)
    want = losses.gradient_penalty(D, real, fake, eps=eps)
    got = torch.as_tensor(got)
    assert got.ndim == 0, f"return a scalar, got shape {tuple(got.shape)}"
    x = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), x)
    if torch.allclose(got.detach(), (g.norm() - 1).square(), atol=1e-8):
        raise AssertionError("take the gradient norm per sample (flatten all but the batch dimension), "
                             "then average the squared deviations over the batch")
    assert torch.allclose(got.detach(), want.detach(), atol=1e-8), \
        f"expected {float(want):.6f}, got {float(got):.6f}: is x̂ = eps·real + (1 - eps)·fake, norm - 1, squared?"
    if not got.requires_grad:
        raise AssertionError("the penalty must be differentiable w.r.t. D's weights: pass create_graph=True to "
                             "torch.autograd.grad")
    (gw,) = torch.autograd.grad(got, D[1].weight)
    (ww,) = torch.autograd.grad(want, D[1].weight)
    assert torch.allclose(gw, ww, atol=1e-8), "its gradient w.r.t. D's weights differs from the reference"
    _ok("gradient penalty: per-sample norms on interpolates, differentiable w.r.t. D")

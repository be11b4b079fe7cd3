"""Exercise checks of chapter 09 (Pix2Pix): each tests a learner's function by its behaviour."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..course.exercises import call as _call
from ..course.exercises import ok as _ok


def receptive_field(fn) -> None:
    """fn(layers) -> receptive field side, for layers = [(kernel, stride), ...] from the input to the output."""
    assert _call(fn, []) == 1, "with no layers, an output unit sees exactly one input pixel"
    assert _call(fn, [(3, 1)]) == 3, "a single 3x3 convolution sees 3 pixels"
    assert _call(fn, [(3, 1), (3, 1)]) == 5, "two stacked 3x3 stride-1 convolutions see 5 pixels"
    patchgan = [(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)]
    got = _call(fn, patchgan)
    if got == 28:  # the same recursion walked from the input forwards
        raise AssertionError("walk from the output back to the input: reverse the list (strides compound "
                             "towards the input)")
    assert got == 70, f"the pix2pix PatchGAN {patchgan} should see 70 pixels, got {got}"
    assert _call(fn, [(2, 2)] * 4) == 16, "four 2x2 stride-2 layers tile the input: 16 pixels"
    _ok("receptive field r_in = (r_out - 1) * stride + kernel, from the output back: 70 for the PatchGAN")


def pix2pix_g_loss(fn) -> None:
    """fn(fake_logits, fake, target, lam) -> -E[log D(x, G(x))] + lam * E|y - G(x)|."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 1, 4, 4, generator=g)
    fake, target = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1, torch.rand(2, 3, 8, 8, generator=g) * 2 - 1
    want = F.softplus(-logits).mean() + 10.0 * (fake - target).abs().mean()
    got = torch.as_tensor(_call(fn, logits, fake, target, 10.0))
    assert got.ndim == 0, f"return a scalar, got shape {tuple(got.shape)}"
    if torch.allclose(got, F.softplus(-logits).mean() + 10.0 * (fake - target).square().mean(), atol=1e-5):
        raise AssertionError("that is an L2 (squared) reconstruction term; pix2pix uses L1, which blurs less")
    if torch.allclose(got, -F.softplus(logits).mean() + 10.0 * (fake - target).abs().mean(), atol=1e-5):
        raise AssertionError("that is the saturating log(1 - D) loss; use the non-saturating -log D(x, G(x))")
    assert torch.allclose(got, want, atol=1e-5), f"expected {want:.5f}, got {float(got):.5f}"
    only_gan = torch.as_tensor(_call(fn, logits, fake, target, 0.0))
    assert torch.allclose(only_gan, F.softplus(-logits).mean(), atol=1e-5), "with lam = 0 only the cGAN term is left"
    far = torch.as_tensor(_call(fn, torch.full((1, 1, 2, 2), -200.0), target[:1], target[:1], 100.0))
    assert torch.isfinite(far), "a confident D (logits -200) must give a finite loss: use softplus on logits"
    _ok("G's loss: the non-saturating cGAN term on every patch plus lam times the L1 distance to the target")

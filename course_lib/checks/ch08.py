"""Exercise checks of chapter 08 (MAE meets GAN): each tests a learner's function by its behaviour."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..course.exercises import call as _call
from ..course.exercises import ok as _ok


def generator_loss(fn) -> None:
    """fn(loss_rec, fake_logits, lam_adv) -> L_rec + lam_adv * (-E[log D(x_hat)]), on logits, finite."""
    logits = torch.tensor([-2.0, 0.0, 1.0, 3.0])
    rec = torch.tensor(0.25)
    want = rec + 0.1 * F.softplus(-logits).mean()
    got = torch.as_tensor(_call(fn, rec, logits, 0.1))
    assert got.ndim == 0, f"return one number (a 0-d tensor), got shape {tuple(got.shape)}"
    if torch.isclose(got, rec - 0.1 * F.softplus(-logits).mean()):
        raise AssertionError("sign: the reconstruction should *fool* D, so minimise -log D(x_hat), not +log D")
    if torch.isclose(got, rec - 0.1 * F.softplus(logits).mean()):
        raise AssertionError("that is the saturating loss log(1 - D(x_hat)); use the non-saturating -log D(x_hat)")
    if torch.isclose(got, rec + F.softplus(-logits).mean()):
        raise AssertionError("weight the adversarial term by lam_adv")
    assert torch.isclose(got, want, atol=1e-6), f"expected {float(want):.5f}, got {float(got):.5f}"
    assert torch.isclose(torch.as_tensor(_call(fn, rec, logits, 0.0)), rec), "with lam_adv = 0 it is L_rec alone"
    far = torch.as_tensor(_call(fn, rec, torch.tensor([-300.0]), 1.0))
    assert torch.isfinite(far), "use -log sigmoid(l) = softplus(-l): it stays finite when D is sure (logit -300)"
    _ok("L_G = L_rec + lam_adv * softplus(-D logits).mean(): right sign, right weight, finite")

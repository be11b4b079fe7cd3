"""Exercise checks of chapter 12 (AnoGAN): each tests a learner's function by its behaviour."""

from __future__ import annotations

import torch

from ..course.exercises import call as _call
from ..course.exercises import ok as _ok


def auroc_pairs(fn) -> None:
    """fn(scores, labels) -> AUROC as P(score of an anomaly > score of a normal) + ½ P(tie), labels 1 = anomaly."""
    s = torch.tensor([0.1, 0.4, 0.35, 0.8])
    a = torch.tensor([0, 0, 1, 1])
    got = float(_call(fn, s, a))
    if abs(got - 0.25) < 1e-6:
        raise AssertionError("you got 1 - AUROC: count pairs where the *anomaly* has the higher score")
    # pairs (anomaly, normal): (0.35, 0.1) yes, (0.35, 0.4) no, (0.8, 0.1) yes, (0.8, 0.4) yes -> 3/4
    assert abs(got - 0.75) < 1e-6, f"on scores {s.tolist()} with labels {a.tolist()} the AUROC is 3/4, got {got:.4f}"
    perfect = float(_call(fn, torch.tensor([0.0, 1.0, 2.0, 3.0]), torch.tensor([0, 0, 1, 1])))
    assert abs(perfect - 1.0) < 1e-6, "anomalies scored above every normal image: AUROC must be 1"
    ties = float(_call(fn, torch.tensor([0.5, 0.5, 0.5]), torch.tensor([0, 1, 1])))
    assert abs(ties - 0.5) < 1e-6, (f"equal scores carry no information: a tie counts ½ (AUROC 0.5), got {ties:.4f}")
    g = torch.Generator().manual_seed(0)
    s, a = torch.rand(300, generator=g), (torch.rand(300, generator=g) < 0.3).long()
    s = s.round(decimals=1)  # many ties
    want = ((s[a == 1][:, None] > s[a == 0][None, :]).double().mean()
            + 0.5 * (s[a == 1][:, None] == s[a == 0][None, :]).double().mean())
    got = float(_call(fn, s, a))
    assert abs(got - float(want)) < 1e-6, f"on 300 random scores with ties expected {float(want):.5f}, got {got:.5f}"
    flipped = float(_call(fn, -s, a))
    assert abs(flipped - (1 - float(want))) < 1e-6, "negating the scores must give 1 - AUROC"
    _ok("AUROC = fraction of (anomaly, normal) pairs ranked correctly, ties counted ½")


def anogan_loss(fn) -> None:
    """fn(x, Gz, f_x, f_Gz, lam) -> per-image (1 - lam)·mean|x - G(z)| + lam·mean|f(x) - f(G(z))|, shape (B,)."""
    g = torch.Generator().manual_seed(1)
    x, Gz = torch.rand(3, 1, 4, 4, generator=g), torch.rand(3, 1, 4, 4, generator=g)
    fx, fGz = torch.randn(3, 10, generator=g), torch.randn(3, 10, generator=g)
    got = torch.as_tensor(_call(fn, x, Gz, fx, fGz, 0.1))
    assert got.shape == (3,), f"return one loss per image, shape (3,); got {tuple(got.shape)}"
    res = (x - Gz).abs().flatten(1).mean(1)
    dis = (fx - fGz).abs().mean(1)
    if torch.allclose(got, 0.1 * res + 0.9 * dis, atol=1e-6):
        raise AssertionError("λ weighs the *feature* (discrimination) term; the residual gets 1 - λ")
    if torch.allclose(got, (1 - 0.1) * (x - Gz).square().flatten(1).mean(1) + 0.1 * (fx - fGz).square().mean(1),
                      atol=1e-6):
        raise AssertionError("AnoGAN uses L1 distances (absolute values), not squared ones")
    summed = 0.9 * (x - Gz).abs().flatten(1).sum(1) + 0.1 * (fx - fGz).abs().sum(1)
    if torch.allclose(got, summed, atol=1e-5):
        raise AssertionError("the paper sums the absolute values; this course averages them (1/n over pixels, "
                             "1/F over features, as the equation in the text shows), so λ keeps its meaning")
    assert torch.allclose(got, 0.9 * res + 0.1 * dis, atol=1e-6), "expected (1 - λ)·residual + λ·feature, per image"
    zero = torch.as_tensor(_call(fn, x, x, fx, fx, 0.5))
    assert torch.allclose(zero, torch.zeros(3)), "an image G reproduces exactly (same features too) has loss 0"
    only_res = torch.as_tensor(_call(fn, x, Gz, fx, fGz, 0.0))
    assert torch.allclose(only_res, res, atol=1e-6), "with λ = 0 only the residual |x - G(z)| is left"
    _ok("AnoGAN's loss per image: (1 - λ)·L1 residual + λ·L1 distance of D's features")

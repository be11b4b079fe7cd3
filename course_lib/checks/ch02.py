"""Exercise checks of chapter 02 (DCGAN)."""

from __future__ import annotations

import torch
from torch import nn

from ..course.exercises import call as _call
from ..course.exercises import ok as _ok


def transposed_conv_size(fn) -> None:
    """fn(h, kernel, stride, padding) -> output side of nn.ConvTranspose2d on an h×h input."""
    cases = [(1, 7, 1, 0), (7, 4, 2, 1), (14, 4, 2, 1), (4, 4, 2, 1), (5, 3, 2, 0), (3, 5, 3, 2)]
    for h, k, s, p in cases:
        want = nn.ConvTranspose2d(1, 1, k, s, p)(torch.zeros(1, 1, h, h)).shape[-1]
        got = _call(fn, h, k, s, p)
        if got == (h + 2 * p - k) // s + 1:
            raise AssertionError(f"for h={h}, k={k}, s={s}, p={p} you gave the size of a *convolution*; a "
                                 "transposed convolution goes the other way: (h - 1)·s - 2p + k")
        assert got == want, f"h={h}, kernel={k}, stride={s}, padding={p}: expected {want}, got {got}"
    _ok("(h - 1)·stride - 2·padding + kernel: 1 -> 7 with a 7×7 kernel, then ×2 per (4, 2, 1) layer")


def frechet_1d(fn) -> None:
    """fn(mu1, sigma1, mu2, sigma2) -> Fréchet distance² between N(mu1, sigma1²) and N(mu2, sigma2²)."""
    cases = [((0.0, 1.0, 0.0, 3.0), 4.0), ((0.0, 1.0, 0.0, 1.0), 0.0), ((1.0, 1.0, 3.0, 1.0), 4.0),
             ((2.0, 0.5, -1.0, 2.0), 9.0 + 2.25)]  # the first case tells the likely mistakes apart
    for args, want in cases:
        got = float(_call(fn, *args))
        if args == (0.0, 1.0, 0.0, 3.0) and abs(abs(got) - 8.0) < 1e-6:
            raise AssertionError("Tr(Σ1 + Σ2 - 2(Σ1Σ2)^½) in 1-D is σ1² + σ2² - 2σ1σ2 = (σ1 - σ2)², not a difference "
                                 "of variances σ1² - σ2² (or its absolute value)")
        if args == (0.0, 1.0, 0.0, 3.0) and abs(got - 10.0) < 1e-6:
            raise AssertionError("σ1² + σ2² is only part of the trace: the cross term -2(Σ1Σ2)^½ = -2σ1σ2 is missing")
        assert abs(got - want) < 1e-6, f"N({args[0]}, {args[1]}²) vs N({args[2]}, {args[3]}²): expected {want}, got {got}"
    _ok("d² = (μ1 - μ2)² + (σ1 - σ2)²: the 1-D case of FID's formula")

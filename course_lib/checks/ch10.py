"""Exercise checks of chapter 10 (SRGAN): each tests a learner's function by its behaviour."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..course.exercises import call as _call
from ..course.exercises import ok as _ok


def psnr(fn) -> None:
    """fn(x, y) -> PSNR in dB per image, (B,), for images in [0, 1] (MAX = 1)."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 1, 8, 8, generator=g)
    shifted = (x + 0.1).clamp(max=10)  # a constant shift of 0.1: MSE = 0.01 -> 20 dB
    got = torch.as_tensor(_call(fn, x, shifted)).double()
    assert got.shape == (3,), f"return one PSNR per image, shape (3,); got {tuple(got.shape)}"
    if torch.allclose(got, torch.full((3,), 10.0, dtype=torch.float64), atol=1e-3):
        raise AssertionError("PSNR = 10·log10(MAX² / MSE): you used the RMSE (or MSE without squaring MAX?)")
    assert torch.allclose(got, torch.full((3,), 20.0, dtype=torch.float64), atol=1e-3), \
        f"a constant shift of 0.1 gives MSE 0.01, PSNR 20 dB; got {got.tolist()}"
    y = x.clone()
    y[0, 0, 0, 0] += 0.5  # one pixel off by 0.5 in 64: MSE = 0.25 / 64
    want = 10 * math.log10(64 / 0.25)
    got = torch.as_tensor(_call(fn, x[:1], y[:1])).double()
    assert abs(float(got[0]) - want) < 1e-3, f"one pixel off by 0.5 in an 8x8 image: expected {want:.3f} dB"
    same = torch.as_tensor(_call(fn, x, x)).double()
    assert torch.isinf(same).all() and (same > 0).all(), "identical images have MSE 0: PSNR = +inf"
    pair = torch.as_tensor(_call(fn, torch.stack([x[0], x[0]]), torch.stack([x[0] + 0.1, x[0] + 0.01]))).double()
    assert abs(float(pair[1] - pair[0]) - 20.0) < 1e-3, "10x smaller error must give +20 dB, per image (not pooled)"
    _ok("PSNR = 10·log10(1 / MSE) per image: +inf for identical images, 20 dB for a 0.1 shift")


def pixel_shuffle(fn) -> None:
    """fn(x, r) -> nn.PixelShuffle(r)(x): (B, C·r², h, w) -> (B, C, h·r, w·r)."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 12, 3, 5, generator=g)
    got = _call(fn, x, 2)
    assert tuple(got.shape) == (2, 3, 6, 10), f"(2, 12, 3, 5) with r = 2 must become (2, 3, 6, 10), got {tuple(got.shape)}"
    want = nn.PixelShuffle(2)(x)
    if not torch.equal(got, want):
        t = torch.arange(4.0).reshape(1, 4, 1, 1)
        small = _call(fn, t, 2)
        raise AssertionError("the values are not where nn.PixelShuffle puts them: channel c·r² + i·r + j goes to "
                             f"row offset i and column offset j; on channels [0, 1, 2, 3] of a 1x1 image you gave "
                             f"{small.flatten().tolist()}, expected [0, 1, 2, 3] read row by row")
    got3 = _call(fn, x[:, :9], 3)
    assert torch.equal(got3, nn.PixelShuffle(3)(x[:, :9])), "it must work for any factor r (try r = 3)"
    _ok("pixel shuffle: each group of r² channels becomes an r x r block of pixels")

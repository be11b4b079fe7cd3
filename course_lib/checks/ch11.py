"""Exercise checks of chapter 11: each tests a learner's function by its behaviour and explains a failure."""

from __future__ import annotations

import math

import torch

from ..course.exercises import call as _call
from ..course.exercises import ok as _ok


def _roll(B=1, K=1, N=4, T=16, P=48):
    return torch.zeros(B, K, N, T, P)


def used_pitch_classes(fn) -> None:
    """fn(x) -> UPC per track (K,): pitch classes used per bar, averaged over the track's non-empty bars.
    x: binary rolls (B, K, N, T, P) whose pitch index 0 is a C."""
    from .. import music_metrics as mm

    x = _roll()
    x[0, 0, 0, 0, 24] = x[0, 0, 0, 3, 36] = 1  # C4 and C5: one pitch class
    x[0, 0, 1, :, 31] = 1  # G4 held all bar: one
    x[0, 0, 3, 0, 24] = x[0, 0, 3, 1, 26] = x[0, 0, 3, 2, 28] = 1  # C D E: three; bar 2 is empty
    got = torch.as_tensor(_call(fn, x)).double()
    assert got.shape == (1,), f"return one value per track, shape (K,) = (1,), got {tuple(got.shape)}"
    if abs(got.item() - 5 / 4) < 1e-6:
        raise AssertionError("you averaged over all 4 bars; UPC averages over the *non-empty* bars only (3 here)")
    if abs(got.item() - 2.0) < 1e-6 or abs(got.item() - 1.5) < 1e-6:
        raise AssertionError("C4 and C5 are one pitch class (C): fold the octaves (pitch mod 12) before counting")
    assert abs(got.item() - 5 / 3) < 1e-6, \
        f"bars use 1, 1, 0 (empty), 3 pitch classes: expected 5/3, got {got.item():.4f}"
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(6, 3, 4, 16, 48, generator=g) > 0.97).float()
    x[:, 2, 1] = 0  # some empty bars
    x[:3, 1, 1:] = 0  # segments with different numbers of non-empty bars: pooling them is not a mean of means
    want = mm.used_pitch_classes(x)
    got = torch.as_tensor(_call(fn, x)).double()
    assert got.shape == want.shape, f"expected shape {tuple(want.shape)} (one value per track), got {tuple(got.shape)}"
    per_segment = torch.stack([mm.used_pitch_classes(x[b:b + 1]) for b in range(len(x))]).nanmean(0)  # (K,)
    if got.shape == want.shape and not torch.allclose(want, per_segment, atol=1e-6) \
            and torch.allclose(got, per_segment, atol=1e-6):
        raise AssertionError("you averaged each segment's UPC and then the segments: pool the non-empty bars of "
                             "all segments together (sum over segments and bars, then divide once)")
    assert torch.allclose(got, want, atol=1e-6), f"on random rolls expected {want.tolist()}, got {got.tolist()}"
    _ok("UPC: octaves folded into 12 pitch classes, counted per bar, averaged over non-empty bars")


def tonal_centroid(fn) -> None:
    """fn(c) -> ζ = Φ c / ||c||₁ for chroma vectors c (..., 12), zeros where c is all zero."""
    from .. import music_metrics as mm

    c = torch.zeros(12, dtype=torch.float64)
    c[0] = 2.0
    got = torch.as_tensor(_call(fn, c)).double()
    assert got.shape == (6,), f"a chroma vector (12,) maps to a 6-D centroid, got shape {tuple(got.shape)}"
    want = torch.tensor([0, 1, 0, 1, 0, 0.5], dtype=torch.float64)
    if torch.allclose(got, 2 * want, atol=1e-6):
        raise AssertionError("normalise the chroma by its L1 norm first: doubling every count must not move ζ")
    if torch.allclose(got, torch.tensor([0, 1, 0, 1, 0, 1.0], dtype=torch.float64), atol=1e-6):
        raise AssertionError("the third circle (major thirds) has radius r3 = 0.5")
    assert torch.allclose(got, want, atol=1e-6), (
        f"for C alone: angles 0 on all three circles, so ζ = (0, 1, 0, 1, 0, 0.5); got {got.tolist()}")
    g = torch.Generator().manual_seed(1)
    batch = torch.rand(5, 3, 12, generator=g, dtype=torch.float64)
    got = torch.as_tensor(_call(fn, batch)).double()
    assert got.shape == (5, 3, 6), f"keep the leading dimensions: (5, 3, 12) -> (5, 3, 6), got {tuple(got.shape)}"
    assert torch.allclose(got, mm.tonal_centroid(batch), atol=1e-6), \
        "rows of Φ: r·sin(l·θ), r·cos(l·θ) for θ = 7π/6 (r1 = 1), 3π/2 (r2 = 1), 2π/3 (r3 = 0.5), l = 0..11"
    zero = torch.as_tensor(_call(fn, torch.zeros(2, 12, dtype=torch.float64))).double()
    assert not zero.isnan().any(), "an empty bar (all-zero chroma) must give zeros, not NaN: guard the division"
    _ok("tonal centroid: L1-normalised chroma on the circles of fifths, minor thirds and major thirds")


def hybrid_latents(fn) -> None:
    """fn(shared (B, Z), shared_bars (B, N, Z), private (B, K, Z), private_bars (B, K, N, Z)) -> (B, K, N, 4Z):
    [z, z_t^(t), z_k, z_k,t^(t)] for every track k and bar t."""
    from ..models import musegan

    g = torch.Generator().manual_seed(2)
    B, K, N, Z = 2, 3, 4, 5
    parts = (torch.randn(B, Z, generator=g), torch.randn(B, N, Z, generator=g), torch.randn(B, K, Z, generator=g),
             torch.randn(B, K, N, Z, generator=g))
    got = _call(fn, *parts)
    want = musegan.assemble_latents(*parts)
    assert isinstance(got, torch.Tensor) and got.shape == want.shape, \
        f"expected shape (B, K, N, 4Z) = {tuple(want.shape)}, got {tuple(getattr(got, 'shape', ()))}"
    pieces = got.split(Z, dim=-1)
    names = ("shared z", "shared per-bar z_t", "private z_k", "private per-bar z_k,t")
    for i, (piece, name) in enumerate(zip(pieces, names)):
        if not torch.allclose(piece, want.split(Z, dim=-1)[i]):
            others = [n for j, n in enumerate(names) if torch.allclose(piece, want.split(Z, dim=-1)[j])]
            hint = f" (it holds the {others[0]}: check the order)" if others else ""
            raise AssertionError(f"slice {i} of the last axis should be the {name}, repeated where it is shared{hint}")
    assert math.isclose(float((got - want).abs().max()), 0.0, abs_tol=1e-6)
    _ok("hybrid latents: shared parts repeated over tracks, time-independent parts repeated over bars")

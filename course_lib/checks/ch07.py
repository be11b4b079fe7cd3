"""Exercise checks of chapter 07 (masked autoencoders): each tests a learner's function by its behaviour."""

from __future__ import annotations

import torch

from ..course.exercises import call as _call
from ..course.exercises import ok as _ok
from ..models import mae as _mae


def masked_mse(fn) -> None:
    """fn(pred (B, N, X), target (B, N, X), mask (B, N) with 1 = masked) -> mean squared error of masked patches."""
    pred = torch.tensor([[[1.0, 1.0], [0.0, 2.0], [5.0, 5.0]]])  # (1, 3, 2)
    target = torch.zeros(1, 3, 2)
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    got = torch.as_tensor(_call(fn, pred, target, mask))
    assert got.ndim == 0, f"return one number (a 0-d tensor), got shape {tuple(got.shape)}"
    if torch.isclose(got, torch.tensor(28 / 3)):
        raise AssertionError("you averaged over every patch: the visible patch (mask 0) must not count. The "
                             "encoder saw it; reconstructing it teaches nothing")
    if torch.isclose(got, torch.tensor(6 / 2)) or torch.isclose(got, torch.tensor(6.0)):
        raise AssertionError("take the *mean* over the values of a patch, then the mean over masked patches")
    if torch.isclose(got, torch.tensor(3 / 3)):
        raise AssertionError("you divided by the number of patches, not by the number of masked patches: "
                             "(per_patch * mask).mean() counts the visible ones in the denominator; use "
                             "(per_patch * mask).sum() / mask.sum()")
    assert torch.isclose(got, torch.tensor(1.5)), (
        f"patch errors are 1 and 2 (masked) and 25 (visible): expected (1 + 2) / 2 = 1.5, got {float(got):.4f}")
    g = torch.Generator().manual_seed(0)
    pred, target = torch.randn(4, 9, 5, generator=g), torch.randn(4, 9, 5, generator=g)
    mask = (torch.rand(4, 9, generator=g) < 0.7).float()
    want = _mae.masked_mse(pred, target, mask)
    got = torch.as_tensor(_call(fn, pred, target, mask))
    assert torch.isclose(got, want, atol=1e-6), f"on a random batch expected {float(want):.5f}, got {float(got):.5f}"
    pred.requires_grad_(True)
    torch.as_tensor(_call(fn, pred, target, mask)).backward()
    assert pred.grad is not None and pred.grad[mask == 0].abs().max() == 0, \
        "visible patches must receive no gradient"
    _ok("the loss counts masked patches only: visible ones get zero gradient")


def unshuffle(fn) -> None:
    """fn(x_shuffled (B, N, E), ids_restore (B, N)) -> x (B, N, E) with x[b, n] = x_shuffled[b, ids_restore[b, n]]."""
    g = torch.Generator().manual_seed(1)
    B, N, E = 3, 7, 4
    x = torch.randn(B, N, E, generator=g)
    ids_shuffle = torch.rand(B, N, generator=g).argsort(1)  # (B, N)
    ids_restore = ids_shuffle.argsort(1)
    shuffled = x.gather(1, ids_shuffle[..., None].expand(-1, -1, E))
    got = _call(fn, shuffled, ids_restore)
    assert isinstance(got, torch.Tensor) and got.shape == x.shape, \
        f"expected a tensor of shape {tuple(x.shape)}, got {getattr(got, 'shape', type(got).__name__)}"
    if not torch.equal(got, x) and torch.equal(got, shuffled.gather(1, ids_shuffle[..., None].expand(-1, -1, E))):
        raise AssertionError("you applied the shuffle a second time: gather with ids_restore, the inverse permutation")
    if not torch.equal(got, x) and torch.equal(got[0], x[0]):
        raise AssertionError("sample 0 is right but the others are not: each sample has its own permutation; "
                             "gather along dim 1 with an index of shape (B, N, E)")
    assert torch.equal(got, x), "x[b, n] should be x_shuffled[b, ids_restore[b, n]] for every b, n and every channel"
    _ok("tokens are back in their places, each sample with its own permutation")

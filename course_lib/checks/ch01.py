"""Exercise checks of chapter 01: each tests a learner's function by its behaviour and explains a failure."""

from __future__ import annotations

import math

import torch

from ..course.exercises import call as _call
from ..course.exercises import ok as _ok

# ----------------------------------------------------------------------------------------------------------

def optimal_discriminator(fn) -> None:
    """fn(p_data, p_g) -> D*(x) = p_data(x) / (p_data(x) + p_g(x)), elementwise on tensors."""
    g = torch.Generator().manual_seed(0)
    p_data, p_g = torch.rand(100, generator=g) + 0.01, torch.rand(100, generator=g) + 0.01
    got = _call(fn, p_data, p_g)
    assert isinstance(got, torch.Tensor) and got.shape == p_data.shape, \
        f"expected a tensor of shape {tuple(p_data.shape)}, got {type(got).__name__} {getattr(got, 'shape', '')}"
    want = p_data / (p_data + p_g)
    if torch.allclose(got, 1 - want, atol=1e-6):
        raise AssertionError("you returned p_g / (p_data + p_g): that is D*'s belief that x is *fake*")
    assert torch.allclose(got, want, atol=1e-6), \
        "D*(x) should weigh the data density against the sum of both densities at the same x"
    same = _call(fn, torch.tensor([0.3, 2.0]), torch.tensor([0.3, 2.0]))
    assert torch.allclose(same, torch.tensor([0.5, 0.5])), "where p_data = p_g, D* must be 1/2"
    edge = _call(fn, torch.tensor([1.0]), torch.tensor([0.0]))
    assert torch.allclose(edge, torch.tensor([1.0])), "where p_g = 0 and p_data > 0, D* must be 1"
    _ok("D*(x) = p_data / (p_data + p_g): 1/2 where the densities agree, 1 where G puts no mass")


def nonsaturating_loss(fn) -> None:
    """fn(fake_logits) -> -E[log D(G(z))] with D = sigmoid(logits), finite for any logit."""
    logits = torch.tensor([-3.0, -0.5, 0.0, 1.5, 4.0])
    want = -torch.log(torch.sigmoid(logits)).mean()
    got = _call(fn, logits)
    got = torch.as_tensor(got)
    assert got.ndim == 0, f"return a scalar (the batch mean), got shape {tuple(got.shape)}"
    if torch.allclose(got, -want, atol=1e-5):
        raise AssertionError("sign: G *minimises* -log D(G(z)) (it wants D(G(z)) -> 1)")
    if torch.allclose(got, torch.log(1 - torch.sigmoid(logits)).mean(), atol=1e-5):
        raise AssertionError("that is the saturating loss log(1 - D(G(z))); the non-saturating one is -log D(G(z))")
    assert torch.allclose(got, want, atol=1e-5), f"on logits {logits.tolist()} expected {want:.5f}, got {float(got):.5f}"
    far = torch.as_tensor(_call(fn, torch.tensor([-200.0])))
    assert torch.isfinite(far), ("a confident D (logit -200) gives an infinite loss: sigmoid underflows to 0. "
                                 "Use log sigmoid(l) = -softplus(-l)")
    assert torch.allclose(far, torch.tensor(200.0), rtol=1e-4), "for logit l << 0, -log sigmoid(l) is about -l"
    _ok("non-saturating loss correct, and finite even when D is sure the sample is fake")


def value_at_optimum(fn) -> None:
    """fn(p_data, p_g) -> V(D*, G) for two discrete distributions (probability vectors)."""
    g = torch.Generator().manual_seed(1)
    for _ in range(3):
        p = torch.rand(6, generator=g, dtype=torch.float64) + 0.05
        q = torch.rand(6, generator=g, dtype=torch.float64) + 0.05
        p, q = p / p.sum(), q / q.sum()
        m = (p + q) / 2
        jsd = 0.5 * (p * (p / m).log()).sum() + 0.5 * (q * (q / m).log()).sum()
        want = -math.log(4) + 2 * jsd
        got = float(_call(fn, p, q))
        assert abs(got - want) < 1e-6, (
            f"V(D*, G) = sum_x p_data log D*(x) + p_g log(1 - D*(x)); expected {want:.6f}, got {got:.6f}")
    same = float(_call(fn, p, p))
    assert abs(same + math.log(4)) < 1e-6, "when p_g = p_data, V(D*, G) must be -log 4"
    _ok("V(D*, G) = -log 4 + 2 JSD(p_data || p_g): its minimum, -log 4, is reached only at p_g = p_data")


DETACH_OPTIONS = {
    "a": "nothing changes: G's step zeroes G's gradients before its own backward",
    "b": "D stops learning: its loss no longer reaches D's weights",
    "c": "D's backward also fills G's gradients (with the gradient of D's loss, which would help D) and frees the "
         "graph through G, so G's backward through the same `fake` then fails",
    "d": "G learns twice as fast: it now gets gradients from both losses",
}


def _run_without_detach() -> tuple[bool, str]:
    """The experiment: D's step on D(fake) (no detach), then G's step through the same `fake`."""
    from torch import nn

    from .. import losses

    torch.manual_seed(0)
    G, D = nn.Linear(2, 2), nn.Linear(2, 1)
    fake, real = G(torch.randn(8, 2)), torch.randn(8, 2)  # (8, 2) each
    loss_D = losses.d_loss(D(real), D(fake))  # no .detach()
    loss_D.backward()
    g_filled = all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())
    try:
        losses.g_loss_nonsaturating(D(fake)).backward()
        error = ""
    except RuntimeError as e:
        error = str(e).split(".")[0]
    return g_filled, error


def predict_without_detach(fn) -> None:
    """fn() -> the letter of DETACH_OPTIONS the learner predicts; checked against the experiment."""
    answer = str(_call(fn)).strip().lower()
    assert answer in DETACH_OPTIONS, f"return one of {sorted(DETACH_OPTIONS)}, got {answer!r}"
    g_filled, error = _run_without_detach()
    seen = (f"the run: after D's backward G's gradients are {'filled' if g_filled else 'empty'}; "
            f"G's backward then {'raised: ' + error if error else 'ran'}")
    if answer != "c":
        raise AssertionError(f"you predicted ({answer}) {DETACH_OPTIONS[answer]}; {seen}. Why? backward() frees "
                             "the graph it ran through, and `fake` was part of D's graph")
    _ok(f"(c) as predicted; {seen}. With `.detach()` D's loss stops at the fake batch: G's graph stays for G's step")

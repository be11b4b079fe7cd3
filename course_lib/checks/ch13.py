"""Exercise checks of chapter 13: each tests a learner's function by its behaviour and explains a failure."""

from __future__ import annotations

import itertools

import torch

from ..course.exercises import call as _call
from ..course.exercises import ok as _ok


def reinforce_loss(fn) -> None:
    """fn(log_probs (B, T), rewards (B, T)) -> -(1/B) Σ_b Σ_t log G(y_t|Y_1:t-1) Q_t, a scalar whose gradient
    is the REINFORCE estimate of -∇J, with no gradient through the rewards."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 3, 5, generator=g, requires_grad=True)
    y = torch.randint(0, 5, (4, 3), generator=g)
    lp = torch.log_softmax(logits, -1).gather(2, y[..., None])[..., 0]  # (4, 3)
    q = torch.rand(4, 3, generator=g, requires_grad=True)
    got = _call(fn, lp, q)
    got = torch.as_tensor(got)
    assert got.ndim == 0, f"return a scalar, got shape {tuple(got.shape)}"
    want = -(lp * q).sum(1).mean()
    if torch.allclose(got, -want, atol=1e-5):
        raise AssertionError("sign: G *maximises* J = E[Q], so the loss it minimises is -Σ log G · Q")
    if torch.allclose(got, -(lp * q).mean(), atol=1e-5):
        raise AssertionError("sum over the T positions of a sequence (eq. 6 sums over t), then average over the batch")
    assert torch.allclose(got, want, atol=1e-5), f"expected {float(want):.5f}, got {float(got):.5f}"
    got.backward()
    assert q.grad is None or q.grad.abs().sum() == 0, \
        "the rewards are constants of the step: detach them (no gradient may flow into D or the roll-outs)"
    assert logits.grad is not None and logits.grad.abs().sum() > 0, "the loss must depend on log_probs"
    _ok("REINFORCE surrogate: -mean_b Σ_t log G(y_t | Y_1:t-1) · Q_t, rewards detached")


class _CountD(torch.nn.Module):
    """A fixed D whose logit counts token 1: its expected score is easy to enumerate."""

    def forward(self, x):
        return (2.0 * (x == 1).float().sum(1, keepdim=True) - 2.0)  # (B, 1)


def mc_reward(fn) -> None:
    """fn(G, D, prefix (B, t), n) -> (B,): the mean over n roll-outs of sigmoid(D(completed sequence)), each
    roll-out keeping the prefix and sampling the rest from G; for a complete prefix (t = T), D's score itself."""
    from ..models import seqgan

    torch.manual_seed(0)
    V, T = 2, 3
    G, D = seqgan.Generator(vocab=V, emb=3, hidden=4, seq_len=T), _CountD()
    seqs = torch.tensor(list(itertools.product(range(V), repeat=T)))  # (8, 3)
    with torch.no_grad():
        p = G.log_probs(seqs).sum(1).exp()
    score = torch.sigmoid(D(seqs))[:, 0]
    prefix = torch.tensor([[1], [0]])
    got = torch.as_tensor(_call(fn, G, D, prefix.clone(), 4000)).flatten().float()
    assert got.shape == (2,), f"one reward per prefix: expected shape (2,), got {tuple(got.shape)}"
    want = torch.stack([(p[seqs[:, 0] == b] * score[seqs[:, 0] == b]).sum() / p[seqs[:, 0] == b].sum()
                        for b in (1, 0)])
    assert torch.allclose(got, want, atol=0.03), (
        f"for prefixes (1,) and (0,) the expected reward is {want.tolist()}, got {got.tolist()}: average "
        "sigmoid(D(·)) over roll-outs that keep the prefix and let G sample the remaining tokens")
    full = seqs[[3, 6]]
    got_full = torch.as_tensor(_call(fn, G, D, full.clone(), 3)).flatten().float()
    assert torch.allclose(got_full, score[[3, 6]], atol=1e-6), \
        "a complete sequence needs no roll-out: its reward is D's probability of 'real' for it"
    _ok("Monte Carlo reward of a prefix: D's expected score over G's completions (exact for a full sequence)")


def gumbel_softmax_sample(fn) -> None:
    """fn(logits (B, V), tau, u (B, V) uniform in (0, 1)) -> softmax((logits + g) / tau), g = -log(-log u)."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 4, generator=g)
    u = torch.rand(6, 4, generator=g).clamp(1e-6, 1 - 1e-6)
    gumbel = -torch.log(-torch.log(u))
    got = torch.as_tensor(_call(fn, logits, 0.5, u))
    assert got.shape == logits.shape, f"expected shape {tuple(logits.shape)}, got {tuple(got.shape)}"
    want = torch.softmax((logits + gumbel) / 0.5, -1)
    if torch.allclose(got, torch.softmax((logits - gumbel) / 0.5, -1), atol=1e-5):
        raise AssertionError("Gumbel noise is g = -log(-log u); you subtracted it")
    if torch.allclose(got, torch.softmax(logits + gumbel, -1), atol=1e-5):
        raise AssertionError("divide (logits + g) by the temperature tau before the softmax")
    assert torch.allclose(got, want, atol=1e-5), "expected softmax((logits - log(-log u)) / tau)"
    # the Gumbel-max trick: the argmax of the relaxed sample is a sample from softmax(logits)
    n = 20_000
    big_u = torch.rand(n, 4, generator=g).clamp(1e-6, 1 - 1e-6)
    draws = torch.as_tensor(_call(fn, logits[:1].expand(n, -1), 1.0, big_u)).argmax(-1)
    freq = torch.bincount(draws, minlength=4).float() / n
    assert torch.allclose(freq, torch.softmax(logits[0], -1), atol=0.015), \
        "the argmax of the sample should follow softmax(logits) (the Gumbel-max trick)"
    cold = torch.as_tensor(_call(fn, logits, 1e-3, u))
    assert torch.equal(cold.argmax(-1), (logits + gumbel).argmax(-1)) and cold.max(-1).values.min() > 0.99, \
        "as tau -> 0 the sample becomes the one-hot of argmax(logits + g)"
    _ok("Gumbel-softmax sample: a relaxed one-hot whose argmax is an exact sample from softmax(logits)")

"""Exercise checks of chapter 06 (self-attention GAN): each tests a learner's function by its behaviour."""

from __future__ import annotations

import torch

from ..course.exercises import call as _call
from ..course.exercises import ok as _ok


def attention_weights(fn) -> None:
    """fn(q, k) -> beta (B, N, N), beta[b, j, i] = softmax_i(q_j . k_i), for q, k of shape (B, N, Cq)."""
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 6, 3, generator=g), torch.randn(2, 6, 3, generator=g)
    beta = _call(fn, q, k)
    assert isinstance(beta, torch.Tensor) and beta.shape == (2, 6, 6), \
        f"expected a tensor of shape (2, 6, 6) (one row per query position), got {getattr(beta, 'shape', beta)}"
    s = torch.einsum("bjc,bic->bji", q, k)  # (B, N, N)
    want = torch.softmax(s, dim=-1)
    if torch.allclose(beta, torch.softmax(s, dim=1), atol=1e-5) and not torch.allclose(beta, want, atol=1e-5):
        raise AssertionError("the softmax runs over the wrong axis: each *query's* row must sum to 1 "
                             "(normalise over the key positions i, the last dimension)")
    if torch.allclose(beta, torch.softmax(s, dim=-1).transpose(1, 2), atol=1e-5) and not torch.allclose(beta, want, atol=1e-5):
        raise AssertionError("beta is transposed: row j should hold where query j looks, beta[b, j, i]")
    if torch.allclose(beta, torch.softmax(s / q.shape[-1] ** 0.5, dim=-1), atol=1e-5):
        raise AssertionError("SAGAN does not scale the scores: beta = softmax(q k^T), without the 1/sqrt(Cq) "
                             "of the Transformer's scaled dot product")
    if torch.allclose(beta, s, atol=1e-5):
        raise AssertionError("these are the raw scores s = q k^T; apply the softmax over the keys")
    assert torch.allclose(beta, want, atol=1e-5), "beta[b, j, i] should be exp(q_j . k_i) / sum_i' exp(q_j . k_i')"
    big = _call(fn, 60 * q, 60 * k)
    assert torch.isfinite(big).all(), "large scores overflow exp(): use torch.softmax (it subtracts the max)"
    _ok("attention weights: one probability distribution over positions for every query, numerically stable")


def hinge_d_loss(fn) -> None:
    """fn(real_scores, fake_scores) -> E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]."""
    real = torch.tensor([2.0, 0.5, -1.0, 0.9])
    fake = torch.tensor([-3.0, -0.2, 1.5, -1.0])
    want = torch.relu(1 - real).mean() + torch.relu(1 + fake).mean()
    got = torch.as_tensor(_call(fn, real, fake))
    assert got.ndim == 0, f"return a scalar (batch means), got shape {tuple(got.shape)}"
    if torch.allclose(got, (1 - real).mean() + (1 + fake).mean(), atol=1e-5):
        raise AssertionError("the max(0, .) is missing: scores beyond the margin must stop contributing")
    if torch.allclose(got, torch.relu(1 + real).mean() + torch.relu(1 - fake).mean(), atol=1e-5):
        raise AssertionError("real and fake are swapped: D wants real scores >= +1 and fake scores <= -1")
    assert torch.allclose(got, want, atol=1e-5), f"expected {want:.4f}, got {float(got):.4f}"
    done = torch.as_tensor(_call(fn, torch.tensor([1.0, 3.0]), torch.tensor([-1.0, -5.0])))
    assert float(done) == 0.0, "when every real score is >= 1 and every fake score <= -1 the loss is exactly 0"
    _ok("hinge loss: D only pays for real scores below +1 and fake scores above -1")


GAMMA0_CHOICES = {
    "a": "gamma stays close to 1: the blocks keep passing their attention output on",
    "b": "gamma falls back towards 0: training closes the gate",
    "c": "training diverges: the losses blow up or turn NaN",
}


def gamma0_outcome(gamma_final: float, gamma0: float = 1.0, losses_finite: bool = True) -> str:
    """Which of GAMMA0_CHOICES a run with gamma started at `gamma0` shows."""
    if not losses_finite or gamma_final != gamma_final:
        return "c"
    return "b" if abs(gamma_final) < 0.5 * abs(gamma0) else "a"


def gamma0_prediction_recorded(fn) -> str:
    """fn() -> 'a', 'b' or 'c': the learner's prediction for gamma_0 = 1, recorded before the run."""
    key = str(_call(fn)).strip().lower()
    assert key in GAMMA0_CHOICES, f"the prediction must be one of {sorted(GAMMA0_CHOICES)}, got {key!r}"
    _ok(f"prediction recorded: ({key}) {GAMMA0_CHOICES[key]}; the next cell runs the experiment")
    return key


def gamma0_prediction(prediction, gamma_final: float, gamma0: float = 1.0, losses_finite: bool = True) -> str:
    """Compare the learner's recorded prediction (a key of GAMMA0_CHOICES) with what the run showed."""
    if prediction is None:
        from ..course.exercises import ExerciseNotDone

        raise ExerciseNotDone("record your prediction first: set `prediction` to 'a', 'b' or 'c'")
    key = str(prediction).strip().lower()
    assert key in GAMMA0_CHOICES, f"the prediction must be one of {sorted(GAMMA0_CHOICES)}, got {prediction!r}"
    seen = gamma0_outcome(gamma_final, gamma0, losses_finite)
    verdict = "as you predicted" if key == seen else f"not what you predicted ({key}: {GAMMA0_CHOICES[key]})"
    _ok(f"the run shows ({seen}) {GAMMA0_CHOICES[seen]} (final gamma_G {gamma_final:+.3f}): {verdict}")
    return seen

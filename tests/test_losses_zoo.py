"""The chapter-03 losses: values on known scores, the penalties against finite differences."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_lib import losses

REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


def test_lsgan_values():
    # ½·mean((2-1)², (-1-1)²) + ½·mean(0.5², 3²) = ½·2.5 + ½·4.625
    assert float(losses.d_loss_lsgan(REAL, FAKE)) == pytest.approx(3.5625)
    assert float(losses.g_loss_lsgan(FAKE)) == pytest.approx(0.5 * (0.25 + 16) / 2)
    assert float(losses.d_loss_lsgan(torch.ones(3), torch.zeros(3))) == 0.0  # D's optimum: real→1, fake→0


def test_hinge_values_and_margin():
    # mean(relu(1-2), relu(1+1)) + mean(relu(1+0.5), relu(1-3)) = 1 + 0.75
    assert float(losses.d_loss_hinge(REAL, FAKE)) == pytest.approx(1.75)
    assert float(losses.g_loss_hinge(FAKE)) == pytest.approx(1.25)
    # beyond the margins D gets no more gradient
    r, f = torch.tensor([1.5, 3.0], requires_grad=True), torch.tensor([-1.2, -4.0], requires_grad=True)
    loss = losses.d_loss_hinge(r, f)
    loss.backward()
    assert float(loss.detach()) == 0.0 and r.grad.abs().sum() == 0 and f.grad.abs().sum() == 0


def test_wgan_values():
    assert float(losses.d_loss_wgan(REAL, FAKE)) == pytest.approx(-1.25 - 0.5)
    assert float(losses.g_loss_wgan(FAKE)) == pytest.approx(1.25)


def test_losses_table_names_every_pair():
    assert set(losses.LOSSES) == {"minimax", "non-saturating", "lsgan", "hinge", "wgan"}
    for d, g in losses.LOSSES.values():
        assert torch.isfinite(d(REAL, FAKE)) and torch.isfinite(g(FAKE))


def test_lsgan_generator_does_not_saturate_where_minimax_does():
    """A fake scored very 'fake' (logit -10): minimax G barely moves, LSGAN G gets a large gradient."""
    s = torch.tensor([-10.0], requires_grad=True)
    (g_minimax,) = torch.autograd.grad(losses.g_loss_saturating(s), s)
    (g_ls,) = torch.autograd.grad(losses.g_loss_lsgan(s), s)
    assert abs(float(g_minimax)) < 1e-4 and abs(float(g_ls)) == pytest.approx(11.0)


class _Smooth(nn.Module):
    """A small non-linear critic in float64, so finite differences are accurate."""

    def __init__(self, d: int = 6):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(d, 16), nn.Tanh(), nn.Linear(16, 1)).double()

    def forward(self, x):
        return self.net(x.flatten(1))


def _fd_grad_norms(D, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """||∇_x D(x)|| for each row, by central differences."""
    grads = torch.zeros_like(x)
    for j in range(x.shape[1]):
        e = torch.zeros_like(x)
        e[:, j] = h
        grads[:, j] = (D(x + e) - D(x - e)).squeeze(1) / (2 * h)
    return grads.norm(dim=1)


def test_gradient_penalty_equals_finite_differences():
    D = _Smooth()
    g = torch.Generator().manual_seed(1)
    real, fake = torch.randn(5, 6, generator=g, dtype=torch.float64), torch.randn(5, 6, generator=g, dtype=torch.float64)
    eps = torch.rand(5, 1, generator=g, dtype=torch.float64)
    got = losses.gradient_penalty(D, real, fake, eps=eps)
    with torch.no_grad():
        want = (_fd_grad_norms(D, eps * real + (1 - eps) * fake) - 1).square().mean()
    assert float(got.detach()) == pytest.approx(float(want), rel=1e-6)


def test_gradient_penalty_on_a_linear_critic_and_its_parameter_gradient():
    lin = nn.Linear(4, 1, bias=True).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 0.0, 4.0, 0.0]]))  # ||w|| = 5 everywhere
    real, fake = torch.randn(8, 4, dtype=torch.float64), torch.randn(8, 4, dtype=torch.float64)
    gp = losses.gradient_penalty(lin, real, fake)
    assert float(gp.detach()) == pytest.approx(16.0)  # (5 - 1)²
    # create_graph: the penalty reaches D's weights. d/dw (||w|| - 1)² = 2(||w|| - 1) w / ||w||
    gp.backward()
    torch.testing.assert_close(lin.weight.grad, 2 * 4 * lin.weight.detach() / 5)


def test_gradient_penalty_does_not_touch_the_generator_graph():
    lin = nn.Linear(3, 1).double()
    z = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    fake = z * 2  # stands for G(z)
    losses.gradient_penalty(lin, torch.randn(4, 3, dtype=torch.float64), fake).backward()
    assert z.grad is None  # detached inside: G gets nothing from the critic's penalty
    assert lin.weight.grad is not None


def test_gradient_penalty_on_images_mixes_per_sample():
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.LazyLinear(1))
    real, fake = torch.randn(3, 1, 6, 6), torch.randn(3, 1, 6, 6)
    gp = losses.gradient_penalty(conv, real, fake)
    assert gp.ndim == 0 and torch.isfinite(gp)


def test_r1_penalty_linear_and_finite_differences():
    lin = nn.Linear(4, 1).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 2.0, 2.0, 0.0]]))
    assert float(losses.r1_penalty(lin, torch.randn(7, 4, dtype=torch.float64)).detach()) == pytest.approx(9.0)
    D = _Smooth()
    x = torch.randn(5, 6, dtype=torch.float64)
    with torch.no_grad():
        want = _fd_grad_norms(D, x).square().mean()
    assert float(losses.r1_penalty(D, x).detach()) == pytest.approx(float(want), rel=1e-6)

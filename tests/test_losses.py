import math

import torch
import torch.nn.functional as F

from course_lib import losses


def test_values_at_zero_logit():
    # D(x) = 1/2 everywhere: -V = 2 log 2, non-saturating = log 2, saturating = log(1/2)
    z = torch.zeros(7)
    assert math.isclose(losses.d_loss(z, z).item(), 2 * math.log(2), rel_tol=1e-6)
    assert math.isclose(losses.value_function(z, z).item(), -math.log(4), rel_tol=1e-6)
    assert math.isclose(losses.g_loss_nonsaturating(z).item(), math.log(2), rel_tol=1e-6)
    assert math.isclose(losses.g_loss_saturating(z).item(), -math.log(2), rel_tol=1e-6)


def test_d_loss_is_bce_with_real_one_fake_zero():
    real, fake = torch.randn(50), torch.randn(50)
    bce = F.binary_cross_entropy_with_logits(real, torch.ones(50)) + \
        F.binary_cross_entropy_with_logits(fake, torch.zeros(50))
    torch.testing.assert_close(losses.d_loss(real, fake), bce)
    torch.testing.assert_close(losses.d_loss(real, fake), -losses.value_function(real, fake))


def test_generator_losses_match_their_formulas():
    l = torch.tensor([-3.0, -1.0, 0.5, 2.0])
    d = torch.sigmoid(l)
    torch.testing.assert_close(losses.g_loss_saturating(l), torch.log(1 - d).mean())
    torch.testing.assert_close(losses.g_loss_nonsaturating(l), -torch.log(d).mean())


def test_gradients_saturating_vanishes_nonsaturating_does_not():
    l = torch.tensor([-10.0], requires_grad=True)  # D is sure the fake is fake
    (g_sat,) = torch.autograd.grad(losses.g_loss_saturating(l), l)
    (g_ns,) = torch.autograd.grad(losses.g_loss_nonsaturating(l), l)
    # d/dl log(1 - sigmoid(l)) = -sigmoid(l); d/dl -log sigmoid(l) = -(1 - sigmoid(l))
    torch.testing.assert_close(g_sat, -torch.sigmoid(l.detach()))
    torch.testing.assert_close(g_ns, -(1 - torch.sigmoid(l.detach())))
    assert abs(g_sat.item()) < 1e-4 < 0.99 < abs(g_ns.item())


def test_losses_finite_for_extreme_logits():
    l = torch.tensor([-500.0, 500.0])
    for v in (losses.d_loss(l, l), losses.g_loss_nonsaturating(l), losses.g_loss_saturating(l)):
        assert torch.isfinite(v)
    assert math.isclose(losses.g_loss_nonsaturating(torch.tensor([-200.0])).item(), 200.0, rel_tol=1e-6)

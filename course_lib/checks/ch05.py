"""Exercise checks of chapter 05: each tests a learner's function by its behaviour and explains a failure."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..course.exercises import call as _call
from ..course.exercises import ok as _ok


def _kl_reference(mu1, logvar1, mu2, logvar2):
    return 0.5 * (logvar2 - logvar1 + (logvar1.exp() + (mu1 - mu2) ** 2) / logvar2.exp() - 1).sum(-1)


def kl_two_gaussians(fn) -> None:
    """fn(mu1, logvar1, mu2, logvar2) -> KL(N(mu1, diag e^logvar1) || N(mu2, diag e^logvar2)), summed over the
    last dimension: shape (B,)."""
    g = torch.Generator().manual_seed(0)
    mu1, mu2 = torch.randn(4, 3, generator=g, dtype=torch.float64), torch.randn(4, 3, generator=g, dtype=torch.float64)
    lv1, lv2 = torch.randn(4, 3, generator=g, dtype=torch.float64), torch.randn(4, 3, generator=g, dtype=torch.float64)
    got = torch.as_tensor(_call(fn, mu1, lv1, mu2, lv2))
    assert got.shape == (4,), f"return one KL per row, shape (4,), got {tuple(got.shape)} (sum over the latent axis)"
    want = _kl_reference(mu1, lv1, mu2, lv2)
    if torch.allclose(got, _kl_reference(mu2, lv2, mu1, lv1), atol=1e-6):
        raise AssertionError("you computed KL(q2 || q1): the KL is not symmetric; the first argument is the one "
                             "the expectation is taken under")
    assert torch.allclose(got.double(), want, atol=1e-6), (
        "expected ½ Σ_j [log σ2²/σ1² + (σ1² + (μ1 - μ2)²)/σ2² - 1]; remember logvar is log σ², so σ² = exp(logvar) "
        "and σ = exp(logvar / 2)")
    # Monte Carlo: E_q1[log q1 - log q2]
    n = 200_000
    z = mu1[0] + (0.5 * lv1[0]).exp() * torch.randn(n, 3, generator=g, dtype=torch.float64)

    def log_normal(z, mu, lv):
        return (-0.5 * (z - mu) ** 2 / lv.exp() - 0.5 * lv - 0.5 * math.log(2 * math.pi)).sum(-1)

    mc = float((log_normal(z, mu1[0], lv1[0]) - log_normal(z, mu2[0], lv2[0])).mean())
    assert abs(float(got[0]) - mc) < 0.05 * max(1.0, abs(mc)), f"disagrees with a Monte Carlo estimate {mc:.4f}"
    zero = torch.as_tensor(_call(fn, mu1, lv1, mu1, lv1))
    assert torch.allclose(zero.double(), torch.zeros(4, dtype=torch.float64), atol=1e-9), "KL(q || q) must be 0"
    std = torch.as_tensor(_call(fn, mu1, lv1, torch.zeros_like(mu1), torch.zeros_like(lv1)))
    vae_kl = 0.5 * (mu1 ** 2 + lv1.exp() - lv1 - 1).sum(-1)
    assert torch.allclose(std.double(), vae_kl, atol=1e-6), "with q2 = N(0, I) it must reduce to the VAE's KL term"
    _ok("KL between diagonal Gaussians: matches Monte Carlo, 0 for equal arguments, the VAE term for a N(0, I) prior")


def vaegan_decoder_loss(fn) -> None:
    """fn(f_rec, f_real, fake_logits, gamma) -> γ·½||f_rec - f_real||² (summed over features, batch mean)
    + the non-saturating GAN loss -E[log D(fake)] on the logits of reconstructions and prior samples."""
    g = torch.Generator().manual_seed(0)
    f_rec, f_real = torch.randn(8, 5, generator=g), torch.randn(8, 5, generator=g)
    logits = torch.randn(16, 1, generator=g)
    like = 0.5 * (f_rec - f_real).pow(2).sum(1).mean()
    gan = F.softplus(-logits).mean()
    got = torch.as_tensor(_call(fn, f_rec, f_real, logits, 0.3))
    assert got.ndim == 0, f"return a scalar, got shape {tuple(got.shape)}"
    if torch.allclose(got, 0.3 * like - F.softplus(logits).mean(), atol=1e-5):
        raise AssertionError("that is the saturating loss log(1 - D(fake)); use the non-saturating -log D(fake)")
    if torch.allclose(got, 0.3 * like - gan, atol=1e-5):
        raise AssertionError("the GAN term has the wrong sign: the decoder wants D(fake) -> 1, so it *minimises* "
                             "-log D(fake) (= softplus(-logit))")
    if torch.allclose(got, like + gan, atol=1e-5):
        raise AssertionError("γ must weight the feature reconstruction term")
    assert torch.allclose(got, 0.3 * like + gan, atol=1e-5), \
        f"expected γ·L_llike + L_GAN(non-saturating) = {float(0.3 * like + gan):.5f}, got {float(got):.5f}"
    zero = torch.as_tensor(_call(fn, f_real, f_real, torch.full((4, 1), 50.0), 1.0))
    assert float(zero) < 1e-6, "perfect features and a fooled D (logit 50) should give a loss of about 0"
    _ok("decoder loss: γ-weighted reconstruction in D's features plus the non-saturating GAN loss")

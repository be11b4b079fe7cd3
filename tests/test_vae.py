"""Chapter 05: KL, ELBO and reparameterisation against their formulas; which network each VAE-GAN loss moves."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_lib.models import vae


def test_kl_closed_form_matches_monte_carlo():
    g = torch.Generator().manual_seed(0)
    mu = torch.tensor([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    logvar = torch.tensor([[0.3, -1.2, 0.8], [0.0, 0.0, 0.0]], dtype=torch.float64)
    kl = vae.kl_normal(mu, logvar).double()
    # KL = E_q[log q(z) - log p(z)], estimated with 400k samples
    n = 400_000
    std = (0.5 * logvar).exp()
    z = mu + std * torch.randn(n, *mu.shape, generator=g, dtype=torch.float64)  # (n, 2, 3)
    log_q = (-0.5 * ((z - mu) / std) ** 2 - std.log() - 0.5 * math.log(2 * math.pi)).sum(-1)
    log_p = (-0.5 * z ** 2 - 0.5 * math.log(2 * math.pi)).sum(-1)
    mc = (log_q - log_p).mean(0)
    torch.testing.assert_close(kl, mc, atol=0.02, rtol=0)
    assert kl[1] == 0  # q = p


def test_kl_gradient_matches_finite_differences():
    mu = torch.tensor([[0.7, -0.3]], dtype=torch.float64, requires_grad=True)
    logvar = torch.tensor([[0.2, -0.5]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda m, lv: vae.kl_normal(m, lv).double(), (mu, logvar))
    # analytic: dKL/dμ = μ, dKL/dlogσ² = (σ² - 1)/2
    vae.kl_normal(mu, logvar).sum().backward()
    torch.testing.assert_close(mu.grad.float(), mu.detach().float())
    torch.testing.assert_close(logvar.grad.float(), ((logvar.detach().exp() - 1) / 2).float())


def test_reparameterize_moments_and_gradients():
    mu = torch.tensor([1.0, -2.0], requires_grad=True)
    logvar = torch.tensor([0.0, math.log(4.0)], requires_grad=True)
    eps = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(0))
    z = vae.reparameterize(mu, logvar, eps)
    torch.testing.assert_close(z.mean(0), mu.detach(), atol=0.02, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([1.0, 2.0]), atol=0.02, rtol=0)
    # dz/dμ = 1 and dz/dlogσ² = ½σε: the sample carries gradients to the encoder's outputs
    e = torch.tensor([[0.3, -1.5]])
    mu.grad = logvar.grad = None
    vae.reparameterize(mu, logvar, e).sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones(2))
    torch.testing.assert_close(logvar.grad, 0.5 * torch.tensor([1.0, 2.0]) * e[0])


def test_bernoulli_nll_and_negative_elbo_formulas():
    x = torch.tensor([[[[-1.0, 1.0], [0.0, 0.5]]]])  # (1, 1, 2, 2) in [-1, 1]
    logits = torch.tensor([[[[-2.0, 3.0], [0.1, -0.4]]]])
    t, p = (x + 1) / 2, torch.sigmoid(logits)
    want = -(t * p.log() + (1 - t) * (1 - p).log()).sum()
    torch.testing.assert_close(vae.bernoulli_nll(logits, x), want.view(1))
    mu, logvar = torch.tensor([[0.5, 0.1]]), torch.tensor([[-0.2, 0.3]])
    loss, rec, kl = vae.negative_elbo(x, logits, mu, logvar, beta=3.0)
    torch.testing.assert_close(rec, want)
    torch.testing.assert_close(kl, vae.kl_normal(mu, logvar)[0])
    torch.testing.assert_close(loss, want + 3.0 * kl)


def test_elbo_is_a_lower_bound_on_log_likelihood():
    """1-D latent, 3 binary pixels: log p(x) by quadrature vs the ELBO averaged over many posterior samples."""
    torch.manual_seed(0)
    dec = torch.nn.Linear(1, 3)
    x = torch.tensor([[1.0, -1.0, 1.0]])  # pixels 1, 0, 1
    zs = torch.linspace(-8, 8, 20_001).view(-1, 1)
    log_lik = -vae.bernoulli_nll(dec(zs), x.expand(len(zs), 3))  # (n,)
    log_prior = -0.5 * zs[:, 0] ** 2 - 0.5 * math.log(2 * math.pi)
    log_px = torch.logsumexp(log_lik + log_prior, 0) + math.log(float(zs[1] - zs[0]))
    for mu, logvar in ((0.0, 0.0), (1.0, -1.0), (-0.5, 0.5)):
        m, lv = torch.tensor([[mu]]), torch.tensor([[logvar]])
        eps = torch.randn(100_000, 1, generator=torch.Generator().manual_seed(1))
        z = vae.reparameterize(m, lv, eps)
        with torch.no_grad():
            elbo = -vae.bernoulli_nll(dec(z), x.expand(len(z), 3)).mean() - vae.kl_normal(m, lv)[0]
        assert float(elbo) <= float(log_px.detach()) + 1e-3
    # the bound is tight at the true posterior: fit q by maximising the ELBO, the gap closes to ~0
    m = torch.zeros(1, 1, requires_grad=True)
    lv = torch.zeros(1, 1, requires_grad=True)
    opt = torch.optim.Adam([m, lv], lr=0.05)
    eps = torch.randn(4096, 1, generator=torch.Generator().manual_seed(2))
    for _ in range(300):
        z = vae.reparameterize(m, lv, eps)
        loss = vae.bernoulli_nll(dec(z), x.expand(len(z), 3)).mean() + vae.kl_normal(m, lv)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert 0 <= float(log_px.detach()) - float(-loss.detach()) < 0.05


def test_feature_reconstruction_loss_hand_computed():
    a, b = torch.tensor([[1.0, 2.0], [0.0, 0.0]]), torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    assert float(vae.feature_reconstruction_loss(a, b)) == pytest.approx(0.5 * (5 + 9) / 2)


def test_sharpness_orders_blur():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(8, 1, 28, 28, generator=g) > 0.7).float() * 2 - 1
    blurred = F.avg_pool2d(x, 3, 1, 1)
    assert vae.sharpness(x) > 2 * vae.sharpness(blurred) > 0
    assert vae.sharpness(torch.zeros(2, 1, 8, 8)) == 0


@pytest.mark.parametrize("size", [28, 32])
def test_shapes(size):
    E, Dec, D = vae.build(channels=3 if size == 32 else 1, size=size, z_dim=5, width=4)
    x = torch.rand(2, 3 if size == 32 else 1, size, size) * 2 - 1
    mu, logvar = E(x)
    assert mu.shape == logvar.shape == (2, 5)
    assert Dec(mu).shape == x.shape and vae.Generator(Dec)(mu).abs().max() <= 1
    assert D(x).shape == (2, 1) and D.features(x).shape == (2, 2 * 4 * (size // 4) ** 2)


# ----------------------------------------------------------------------------------------------------------
# VAE-GAN: each loss updates only its network
# ----------------------------------------------------------------------------------------------------------

def _vaegan_after_step(gamma=1.0, beta=1.0, head_shift=0.0, lr_D=0.1):
    torch.manual_seed(0)
    E, Dec, D = vae.build(z_dim=3, width=4)
    G = vae.Generator(Dec)
    with torch.no_grad():
        D.head.bias += head_shift
    opts = {"E": torch.optim.SGD(E.parameters(), lr=0.1), "G": torch.optim.SGD(G.parameters(), lr=0.1),
            "D": torch.optim.SGD(D.parameters(), lr=lr_D)}
    x = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
    torch.manual_seed(2)
    vae.vaegan_step(E, G, D, opts, x, gamma=gamma, beta=beta)
    return [[p.detach().clone() for p in m.parameters()] for m in (E, G, D)]


def _same(a, b):
    return all(torch.allclose(p, q, atol=1e-6) for p, q in zip(a, b))


def test_vaegan_losses_update_only_their_networks():
    E0, G0, D0 = _vaegan_after_step()
    # γ weighs L_llike in the decoder's loss only: E and D are unchanged, G is not
    E1, G1, D1 = _vaegan_after_step(gamma=5.0)
    assert _same(E0, E1) and _same(D0, D1) and not _same(G0, G1)
    # β weighs the KL in the encoder's loss only
    E2, G2, D2 = _vaegan_after_step(beta=4.0)
    assert _same(G0, G2) and _same(D0, D2) and not _same(E0, E2)
    # L_GAN reaches the decoder, never the encoder: with D frozen, shifting D's output bias changes the
    # decoder's GAN gradient but not the encoder's update (which sees only the KL and D's features)
    E3, G3, _ = _vaegan_after_step(lr_D=0.0)
    E4, G4, _ = _vaegan_after_step(lr_D=0.0, head_shift=3.0)
    assert _same(E3, E4) and not _same(G3, G4)


def test_vaegan_d_step_sees_reconstructions_and_prior_samples_as_fake():
    torch.manual_seed(0)
    E, Dec, D = vae.build(z_dim=3, width=4)
    G = vae.Generator(Dec)
    opts = vae.optimizers(E, G, D, lr=1e-3)
    x = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
    torch.manual_seed(2)
    stats = vae.vaegan_step(E, G, D, opts, x)
    torch.manual_seed(0)
    E2, Dec2, D2 = vae.build(z_dim=3, width=4)
    G2 = vae.Generator(Dec2)
    torch.manual_seed(2)
    mu, logvar = E2(x)
    x_rec, x_p = G2(vae.reparameterize(mu, logvar)), G2(torch.randn_like(mu))
    want = (-F.logsigmoid(D2(x)).mean() - F.logsigmoid(-D2(torch.cat([x_rec, x_p]))).mean())
    torch.testing.assert_close(stats["loss_D"], want.detach(), atol=1e-5, rtol=1e-5)


def test_vaegan_decoder_step_raises_dis_logits_on_its_fakes():
    """The sign of the decoder's GAN term: with Enc and Dis held still and γ = 0, one small decoder step must raise
    Dis's logits on the same fakes (fool Dis), the opposite of what Dis's own step does to them."""
    torch.manual_seed(0)
    E, Dec, D = vae.build(z_dim=3, width=4)
    G = vae.Generator(Dec)
    x = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1

    def fake_logits():
        torch.manual_seed(2)  # the noise vaegan_step draws: ε for x̃, then z_p
        with torch.no_grad():
            mu, logvar = E(x)
            return D(torch.cat([G(vae.reparameterize(mu, logvar)), G(torch.randn_like(mu))])).mean()

    before = fake_logits()
    opts = {"E": torch.optim.SGD(E.parameters(), lr=0.0), "G": torch.optim.SGD(G.parameters(), lr=1e-2),
            "D": torch.optim.SGD(D.parameters(), lr=0.0)}
    torch.manual_seed(2)
    vae.vaegan_step(E, G, D, opts, x, gamma=0.0)
    assert fake_logits() > before

"""The VAE (Kingma & Welling 2014) and the VAE-GAN (Larsen et al. 2016), with small convolutional networks.

VAE: the encoder outputs a Gaussian q(z|x) = N(μ(x), diag σ²(x)); z is sampled by reparameterisation; the decoder
gives Bernoulli logits of p(x|z). Training maximises the ELBO = E_q[log p(x|z)] - KL(q(z|x) || N(0, I)).

VAE-GAN: the decoder doubles as a GAN generator, and the reconstruction is measured in a discriminator feature
layer instead of pixels. With L_GAN = log Dis(x) + log(1 - Dis(x̃)) + log(1 - Dis(x_p)) the value Dis maximises
(Larsen et al. 2016, eq. 10), each network minimises its own loss:

    Enc  minimises  β L_prior + L_llike^Dis                          (KL, and the feature-space reconstruction)
    Dec  minimises  γ L_llike^Dis - E[log Dis(x̃)] - E[log Dis(x_p)]  (reconstruct in Dis's features, fool Dis;
                                                                      the non-saturating form of +L_GAN's fake terms)
    Dis  minimises  -L_GAN                                           (tell x from x̃ = Dec(Enc(x)) and x_p = Dec(z_p))

trained jointly, one step of each per batch. The paper's Algorithm 1 writes "Dec <- γ L_llike - L_GAN" and
"Dis <- L_GAN" because there L_GAN stands for Dis's cross-entropy *loss* (the negative of eq. 10): read with eq. 10's
sign, the same lines would have Dec and Dis both maximise L_GAN.

Dimension key: B batch, C channels, H/W height/width (28 or 32; s = H/4), Z latent size, w base width,
F discriminator feature size (2w·s·s).
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from .. import losses, train

# ----------------------------------------------------------------------------------------------------------
# Networks
# ----------------------------------------------------------------------------------------------------------


class GaussianEncoder(nn.Module):
    """x (B, C, H, W) -> (μ, log σ²), each (B, Z)."""

    def __init__(self, *, channels: int, size: int, z_dim: int, width: int):
        super().__init__()
        w, s = width, size // 4
        self.net = nn.Sequential(
            nn.Conv2d(channels, w, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, w, H/2, W/2)
            nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, 2w, s, s)
            nn.Flatten(),  # (B, 2w·s·s)
            nn.Linear(2 * w * s * s, 2 * z_dim),  # (B, 2Z)
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.net(x).chunk(2, dim=1)  # (B, Z), (B, Z)
        return mu, logvar


class Decoder(nn.Module):
    """z (B, Z) -> logits (B, C, H, W) of per-pixel Bernoulli probabilities (pixel intensity in [0, 1])."""

    def __init__(self, *, channels: int, size: int, z_dim: int, width: int):
        super().__init__()
        w, self.s = width, size // 4
        self.fc = nn.Sequential(nn.Linear(z_dim, 2 * w * self.s * self.s), nn.ReLU())  # (B, 2w·s·s)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.BatchNorm2d(w), nn.ReLU(),  # (B, w, H/2, W/2)
            nn.ConvTranspose2d(w, channels, 4, 2, 1),  # (B, C, H, W)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).unflatten(1, (-1, self.s, self.s))  # (B, 2w, s, s)
        return self.net(h)  # (B, C, H, W) logits


def to_image(logits: torch.Tensor) -> torch.Tensor:
    """Bernoulli logits -> the mean image in [-1, 1]: 2σ(l) - 1 = tanh(l / 2)."""
    return torch.tanh(logits / 2)


class Generator(nn.Module):
    """A decoder used as a GAN generator: z (B, Z) -> image (B, C, H, W) in [-1, 1]."""

    def __init__(self, decoder: Decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return to_image(self.decoder(z))  # (B, C, H, W)


class Discriminator(nn.Module):
    """x (B, C, H, W) -> logit (B, 1), with its last hidden layer exposed as `features` (B, F): the layer in
    which the VAE-GAN measures reconstructions."""

    def __init__(self, *, channels: int, size: int, width: int):
        super().__init__()
        w, s = width, size // 4
        self.body = nn.Sequential(
            nn.Conv2d(channels, w, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, w, H/2, W/2)
            nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, 2w, s, s)
            nn.Flatten(),  # (B, F)
        )
        self.head = nn.Linear(2 * w * s * s, 1)  # (B, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)  # (B, F)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))  # (B, 1)


def build(*, channels: int = 1, size: int = 28, z_dim: int = 16, width: int = 32):
    """(Enc, Dec, Dis) of one architecture, shared by the VAE, the VAE-GAN and the plain GAN of chapter 05."""
    return (GaussianEncoder(channels=channels, size=size, z_dim=z_dim, width=width),
            Decoder(channels=channels, size=size, z_dim=z_dim, width=width),
            Discriminator(channels=channels, size=size, width=width))


# ----------------------------------------------------------------------------------------------------------
# The VAE: reparameterisation, KL, ELBO
# ----------------------------------------------------------------------------------------------------------


def _f32(t: torch.Tensor) -> torch.Tensor:
    """Losses are summed in at least float32, also under bf16 autocast; float64 stays float64."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
    """z = μ + σ ⊙ ε, ε ~ N(0, I): the sample is a differentiable function of (μ, σ), the noise comes from outside."""
    if eps is None:
        eps = torch.randn_like(mu)
    return mu + torch.exp(0.5 * logvar) * eps  # (B, Z)


def kl_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag σ²) || N(0, I)) = ½ Σ_j (μ_j² + σ_j² - log σ_j² - 1), per sample: (B,)."""
    mu, logvar = _f32(mu), _f32(logvar)
    return 0.5 * (mu ** 2 + logvar.exp() - logvar - 1).sum(dim=1)


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x|z) = -Σ_pixels [t log p + (1 - t) log(1 - p)] with t = (x + 1)/2 ∈ [0, 1], p = σ(logits): (B,)."""
    logits = _f32(logits)
    t = (x.to(logits.dtype) + 1) / 2
    return F.binary_cross_entropy_with_logits(logits, t, reduction="none").flatten(1).sum(1)


def negative_elbo(x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                  beta: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """-ELBO_β = E_q[-log p(x|z)] + β KL(q(z|x) || p(z)), batch means: (loss, reconstruction, KL).
    β = 1 is the ELBO, a lower bound on log p(x); β > 1 trades reconstruction for a closer match to the prior."""
    rec, kl = bernoulli_nll(logits, x).mean(), kl_normal(mu, logvar).mean()
    return rec + beta * kl, rec, kl


def vae_step(E: nn.Module, Dec: nn.Module, x: torch.Tensor, opt: torch.optim.Optimizer, beta: float = 1.0,
             amp=contextlib.nullcontext) -> dict[str, torch.Tensor]:
    """One VAE update of E and Dec on a batch, minimising -ELBO_β with one reparameterised sample per image."""
    with amp():
        mu, logvar = E(x)  # (B, Z) each
        z = reparameterize(mu, logvar)  # (B, Z)
        loss, rec, kl = negative_elbo(x, Dec(z), mu, logvar, beta)
    train.update(opt, loss)
    return {"loss": loss.detach(), "rec": rec.detach(), "kl": kl.detach()}


@torch.no_grad()
def elbo(E: nn.Module, Dec: nn.Module, x: torch.Tensor, batch_size: int = 500, seed: int = 0) -> dict[str, float]:
    """Test-set ELBO in nats per image (one seeded sample z per image), with its two terms."""
    device = next(E.parameters()).device
    g = torch.Generator(device=device).manual_seed(seed)
    was = E.training, Dec.training
    E.eval(), Dec.eval()
    rec = kl = 0.0
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(device)
        mu, logvar = E(xb)
        z = reparameterize(mu, logvar, torch.randn(mu.shape, generator=g, device=device))
        rec += float(bernoulli_nll(Dec(z), xb).sum())
        kl += float(kl_normal(mu, logvar).sum())
    E.train(was[0]), Dec.train(was[1])
    n = len(x)
    return {"elbo": -(rec + kl) / n, "rec": rec / n, "kl": kl / n}


# ----------------------------------------------------------------------------------------------------------
# The VAE-GAN (Larsen et al. 2016)
# ----------------------------------------------------------------------------------------------------------


def feature_reconstruction_loss(f_rec: torch.Tensor, f_real: torch.Tensor) -> torch.Tensor:
    """L_llike^Dis = -log N(Dis_l(x) | Dis_l(x̃), I) up to a constant = ½ ||Dis_l(x̃) - Dis_l(x)||², batch mean."""
    return 0.5 * (_f32(f_rec) - _f32(f_real)).pow(2).sum(1).mean()


def optimizers(E: nn.Module, G: nn.Module, D: nn.Module, lr: float = 2e-4) -> dict[str, torch.optim.Optimizer]:
    betas = (0.5, 0.999)
    return {"E": torch.optim.Adam(E.parameters(), lr=lr, betas=betas),
            "G": torch.optim.Adam(G.parameters(), lr=lr, betas=betas),
            "D": torch.optim.Adam(D.parameters(), lr=lr, betas=betas)}


def vaegan_step(E: nn.Module, G: nn.Module, D: nn.Module, opts: dict, x: torch.Tensor, *, gamma: float = 1.0,
                beta: float = 1.0, amp=contextlib.nullcontext) -> dict[str, torch.Tensor]:
    """One joint VAE-GAN update: D, then E and G through the updated D, each on its own loss."""
    B = x.shape[0]
    with amp():
        mu, logvar = E(x)  # (B, Z) each
        x_rec = G(reparameterize(mu, logvar))  # (B, C, H, W)  x̃ = Dec(Enc(x))
        x_p = G(torch.randn_like(mu))  # (B, C, H, W)  x_p = Dec(z), z ~ N(0, I)
    # Dis: minimise -L_GAN = -[log D(x) + log(1 - D(x̃)) + log(1 - D(x_p))]; the fakes are detached inside d_step
    stats = train.d_step(D, x, torch.cat([x_rec, x_p]), opts["D"], amp=amp)
    with amp(), train.frozen(D):  # Enc and Dec through the updated D, frozen: D's weights get no gradient
        f_real = D.features(x).detach()  # (B, F) the target; no gradient flows into D from L_llike
        f_rec = D.features(x_rec)  # (B, F)
        fake_logits = D.head(torch.cat([f_rec, D.features(x_p)]))  # (2B, 1)
        l_like = feature_reconstruction_loss(f_rec, f_real)
        kl = kl_normal(mu, logvar).mean()
        l_gan = losses.g_loss_nonsaturating(fake_logits)  # -E[log D(fake)]: Dec's non-saturating GAN loss
    loss_E = beta * kl + l_like  # Enc <- L_prior + L_llike
    loss_G = gamma * l_like + l_gan  # Dec minimises γ L_llike - E[log D(fake)] (it descends L_GAN's fake terms)
    # each loss differentiated w.r.t. its own network only: L_GAN must not move Enc, the KL must not move Dec
    e_params, g_params = list(E.parameters()), list(G.parameters())
    grads_E = torch.autograd.grad(loss_E, e_params, retain_graph=True)
    grads_G = torch.autograd.grad(loss_G, g_params)
    for params, grads, opt in ((e_params, grads_E, opts["E"]), (g_params, grads_G, opts["G"])):
        for p, g in zip(params, grads):
            p.grad = g
        opt.step()
    return stats | {"kl": kl.detach(), "l_like": l_like.detach(), "loss_G": l_gan.detach(),
                    "loss_E": loss_E.detach()}


# ----------------------------------------------------------------------------------------------------------
# Sample quality
# ----------------------------------------------------------------------------------------------------------


_LAPLACE = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def sharpness(x: torch.Tensor) -> float:
    """Mean over images of the variance of the Laplacian response (images mapped to [0, 1], channels averaged):
    high for crisp edges, low for blur. Compare with the same number on real images."""
    x = ((x.detach().float().cpu().clamp(-1, 1) + 1) / 2).mean(1, keepdim=True)  # (B, 1, H, W)
    lap = F.conv2d(x, _LAPLACE.view(1, 1, 3, 3))  # (B, 1, H-2, W-2)
    return float(lap.flatten(1).var(dim=1).mean())


@torch.no_grad()
def generate(G: nn.Module, n: int, z_dim: int, seed: int = 0, batch_size: int = 500) -> torch.Tensor:
    """n images G(z), z ~ N(0, I) from a seeded generator; G in eval mode (BatchNorm running statistics)."""
    device = next(G.parameters()).device
    g = torch.Generator().manual_seed(seed)
    was = G.training
    G.eval()
    out = torch.cat([G(torch.randn(min(batch_size, n - i), z_dim, generator=g).to(device)).float().cpu()
                     for i in range(0, n, batch_size)])
    G.train(was)
    return out  # (n, C, H, W)


@torch.no_grad()
def reconstruct(E: nn.Module, G: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """G(μ(x)): the reconstruction at the posterior mean, in [-1, 1]."""
    device = next(E.parameters()).device
    was = E.training, G.training
    E.eval(), G.eval()
    out = G(E(x.to(device))[0]).float().cpu()
    E.train(was[0]), G.train(was[1])
    return out

"""Autoencoders and the Adversarial Autoencoder (Makhzani et al. 2016, "Adversarial Autoencoders").

An autoencoder compresses x into a code z = E(x) and rebuilds x̂ = Dec(z). The AAE adds a discriminator D on the
*codes*: D learns to tell samples of a chosen prior p(z) (label 1, "real") from encoded codes q(z) (label 0,
"fake"), and the encoder, acting as the generator, learns to fool it. Training alternates two phases
(paper §2): the reconstruction phase updates E and Dec; the regularisation phase updates D, then E.

The encoder is deterministic, as in the paper's experiments: gradients reach it through D(E(x)) directly, no
reparameterisation trick needed.

Dimension key: B batch, C channels, H/W height/width, X = C·H·W, Z latent size, K classes (labels).
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F
from torch import nn

from .. import features, train
from .mlp import _mlp


class Encoder(nn.Module):
    """x (B, C, H, W) -> z (B, Z), deterministic."""

    def __init__(self, *, in_shape: tuple[int, ...], z_dim: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(*_mlp([math.prod(in_shape), hidden, hidden, z_dim], nn.ReLU()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))  # (B, X) -> (B, Z)


class Decoder(nn.Module):
    """z (B, Z) -> x̂ (B, C, H, W) in [-1, 1], the range of the data."""

    def __init__(self, *, out_shape: tuple[int, ...], z_dim: int, hidden: int):
        super().__init__()
        self.out_shape = tuple(out_shape)
        self.net = nn.Sequential(*_mlp([z_dim, hidden, hidden, math.prod(out_shape)], nn.ReLU()), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(len(z), *self.out_shape)  # (B, X) -> (B, C, H, W)


class LatentDiscriminator(nn.Module):
    """A code z (B, Z), or [z, one-hot label] (B, Z + K) when D sees the label (paper §2.3), -> one logit (B, 1)."""

    def __init__(self, *, z_dim: int, hidden: int, n_classes: int = 0):
        super().__init__()
        self.net = nn.Sequential(*_mlp([z_dim + n_classes, hidden, hidden, 1], nn.LeakyReLU(0.2)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)  # (B, 1)


def build(*, in_shape: tuple[int, ...], z_dim: int = 2, hidden: int = 512, n_classes: int = 0):
    """(E, Dec, D) for images of shape in_shape; n_classes > 0 makes D label-aware (label information in the
    adversarial regularisation, Makhzani et al. §2.3)."""
    return (Encoder(in_shape=in_shape, z_dim=z_dim, hidden=hidden),
            Decoder(out_shape=in_shape, z_dim=z_dim, hidden=hidden),
            LatentDiscriminator(z_dim=z_dim, hidden=hidden, n_classes=n_classes))


def optimizers(E: nn.Module, Dec: nn.Module, D: nn.Module, *, lr_ae: float = 1e-3, lr_adv: float = 2e-4):
    """One optimizer per phase: the reconstruction phase moves E and Dec; the regularisation phase moves D,
    then E alone (the encoder appears in two optimizers, each with its own Adam moments)."""
    return {"AE": torch.optim.Adam([*E.parameters(), *Dec.parameters()], lr=lr_ae),
            "D": torch.optim.Adam(D.parameters(), lr=lr_adv, betas=(0.5, 0.999)),
            "E": torch.optim.Adam(E.parameters(), lr=lr_adv, betas=(0.5, 0.999))}


# ----------------------------------------------------------------------------------------------------------
# The two phases
# ----------------------------------------------------------------------------------------------------------


def reconstruction_loss(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """L_rec = mean squared error per pixel (data in [-1, 1])."""
    return F.mse_loss(x_hat.float(), x.float())


def with_label(z: torch.Tensor, labels: torch.Tensor | None, n_classes: int) -> torch.Tensor:
    """[z, one_hot(y)]: what a label-aware D sees (paper §2.3, Fig. 4); z itself when labels is None."""
    if labels is None:
        return z  # (B, Z)
    return torch.cat([z, F.one_hot(labels, n_classes).to(z.dtype)], dim=1)  # (B, Z + K)


def reconstruction_phase(E: nn.Module, Dec: nn.Module, x: torch.Tensor, opt_AE: torch.optim.Optimizer,
                         amp=contextlib.nullcontext) -> dict[str, torch.Tensor]:
    """Update E and Dec to minimise ||x - Dec(E(x))||²."""
    with amp():
        loss = reconstruction_loss(x, Dec(E(x)))
    train.update(opt_AE, loss)
    return {"loss_rec": loss.detach()}


def regularization_phase(E: nn.Module, D: nn.Module, x: torch.Tensor, prior, opt_D: torch.optim.Optimizer,
                         opt_E: torch.optim.Optimizer, labels: torch.Tensor | None = None,
                         amp=contextlib.nullcontext) -> dict[str, torch.Tensor]:
    """D step then encoder (generator) step, the GAN step of chapter 01 played on codes:

        D minimises  -E_{z~p(z)}[log D(z)] - E_x[log(1 - D(E(x)))]     prior samples are "real"
        E minimises  -E_x[log D(E(x))]                                 (non-saturating)
    """
    B = x.shape[0]
    n_classes = getattr(prior, "n_classes", 0)
    z_prior = prior.sample(B, labels=None if labels is None else labels.cpu()).to(x.device)  # (B, Z)
    with amp():
        z_fake = E(x)  # (B, Z)
    real = with_label(z_prior, labels, n_classes)  # (B, Z [+ K])
    fake = with_label(z_fake, labels, n_classes)  # (B, Z [+ K])
    stats = train.d_step(D, real, fake, opt_D, amp=amp)  # D sees fake.detach(): this step moves D only
    stats |= train.g_step(D, fake, opt_E, amp=amp)  # through the updated D; opt_E steps the encoder only
    return stats


def aae_step(E: nn.Module, Dec: nn.Module, D: nn.Module, opts: dict, x: torch.Tensor, prior,
             labels: torch.Tensor | None = None, amp=contextlib.nullcontext) -> dict[str, torch.Tensor]:
    """One AAE iteration on a batch: reconstruction phase, then regularisation phase."""
    stats = reconstruction_phase(E, Dec, x, opts["AE"], amp)
    stats |= regularization_phase(E, D, x, prior, opts["D"], opts["E"], labels, amp)
    return stats


# ----------------------------------------------------------------------------------------------------------
# Measuring a latent space
# ----------------------------------------------------------------------------------------------------------


def encode(E: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """E(x) for a whole tensor, in batches, on E's device; returned on the CPU as float32."""
    return features.apply_batched(E, x, batch_size)  # (N, Z)


def decode(Dec: nn.Module, z: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    return features.apply_batched(Dec, z, batch_size)  # (N, C, H, W)


@torch.no_grad()
def reconstruction_error(E: nn.Module, Dec: nn.Module, x: torch.Tensor) -> float:
    """Mean squared error per pixel of Dec(E(x)) on x (pixels in [-1, 1])."""
    return float(reconstruction_loss(x, decode(Dec, encode(E, x))))


def energy_distance(a: torch.Tensor, b: torch.Tensor, *, max_n: int = 2000, seed: int = 0) -> float:
    """Squared energy distance (Székely & Rizzo) between samples a (N, Z) and b (M, Z):

        E(P, Q) = 2 E|X - Y| - E|X - X'| - E|Y - Y'|,   X, X' ~ P,  Y, Y' ~ Q

    zero iff P = Q. Within-sample means leave out the diagonal (unbiased). At most `max_n` points of each
    (a seeded subset) keep the pairwise distances cheap."""
    g = torch.Generator().manual_seed(seed)
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    if len(a) < 2 or len(b) < 2:
        raise ValueError("energy_distance needs at least two points in each sample")
    a = a[torch.randperm(len(a), generator=g)[:max_n]]
    b = b[torch.randperm(len(b), generator=g)[:max_n]]
    n, m = len(a), len(b)
    xy = torch.cdist(a, b).mean()
    xx = torch.cdist(a, a).sum() / (n * (n - 1))
    yy = torch.cdist(b, b).sum() / (m * (m - 1))
    return float(2 * xy - xx - yy)


def energy_coefficient(a: torch.Tensor, b: torch.Tensor, *, max_n: int = 2000, seed: int = 0) -> float:
    """Székely & Rizzo's energy coefficient H = E(P, Q) / (2 E|X - Y|), in [0, 1], 0 iff P = Q.

    The energy distance has the units of the data: a prior twice as wide gives twice the number for the same
    mismatch. H divides by the cross term, so it is unchanged when both samples are scaled by one factor and can
    be compared across priors of different scales."""
    g = torch.Generator().manual_seed(seed)
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    a = a[torch.randperm(len(a), generator=g)[:max_n]]
    b = b[torch.randperm(len(b), generator=g)[:max_n]]
    return energy_distance(a, b, max_n=max_n, seed=seed) / (2 * float(torch.cdist(a, b).mean()))


def standardize(z: torch.Tensor) -> torch.Tensor:
    """Whiten codes: zero mean, identity covariance (z - μ) L^-T with Σ = L Lᵀ. Removes the scale and shear a
    plain autoencoder picks arbitrarily, so its codes can be compared with N(0, I) on shape alone."""
    z = z.double()
    zc = z - z.mean(0)  # (N, Z)
    L = torch.linalg.cholesky(torch.cov(zc.T) + 1e-9 * torch.eye(z.shape[1], dtype=z.dtype))  # (Z, Z)
    return torch.linalg.solve_triangular(L, zc.T, upper=False).T.float()  # (N, Z)


def knn_accuracy(train_z: torch.Tensor, train_y: torch.Tensor, test_z: torch.Tensor, test_y: torch.Tensor,
                 k: int = 5) -> float:
    """Accuracy of a k-nearest-neighbour vote in the latent space (ties go to the smaller label)."""
    train_z, test_z = train_z.float().cpu(), test_z.float().cpu()
    train_y, test_y = train_y.cpu(), test_y.cpu()
    k = min(k, len(train_z))
    n_classes = int(max(train_y.max(), test_y.max())) + 1
    idx = torch.cdist(test_z, train_z).topk(k, largest=False).indices  # (N_test, k)
    votes = F.one_hot(train_y[idx], n_classes).sum(1)  # (N_test, K)
    return float((votes.argmax(1) == test_y).float().mean())


# ----------------------------------------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------------------------------------


def plot_codes(z: torch.Tensor, labels: torch.Tensor, prior=None, ax=None, title: str | None = None,
               lim: float | None = None, n_prior: int = 20_000):
    """Codes as points coloured by label, over the prior's density (a 2-D histogram of prior samples, so it
    works for priors without a density formula, like the swiss roll)."""
    import matplotlib.pyplot as plt

    from ..plotting import square_axes

    z = z.detach().float().cpu()
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    p = prior.sample(n_prior, torch.Generator().manual_seed(0)) if prior is not None else None  # (n_prior, 2)
    if lim is None:
        lim = float((p if p is not None else z).abs().quantile(0.995)) * 1.15 + 1e-3
    if p is not None:
        ax.hist2d(p[:, 0].numpy(), p[:, 1].numpy(), bins=80, range=[[-lim, lim], [-lim, lim]], cmap="Greys",
                  cmin=1)
    sc = ax.scatter(z[:, 0].numpy(), z[:, 1].numpy(), c=labels.cpu().numpy(), cmap="tab10", vmin=-0.5,
                    vmax=9.5, s=3, alpha=0.7, linewidths=0)
    square_axes(ax, lim, title)
    return sc


@torch.no_grad()
def decode_lattice(Dec: nn.Module, lim: float, n: int = 12) -> torch.Tensor:
    """Decode an n x n lattice of codes spanning [-lim, lim]²: the manifold the decoder learned.
    Row 0 is the top (largest z₂), so the grid reads like the scatter plot."""
    t = torch.linspace(-lim, lim, n)
    zy, zx = torch.meshgrid(t.flip(0), t, indexing="ij")  # (n, n) each
    return decode(Dec, torch.stack([zx.flatten(), zy.flatten()], dim=1))  # (n·n, C, H, W)

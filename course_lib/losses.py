"""GAN losses as pure functions on logits.

D outputs a logit l; D(x) = sigmoid(l). Working on logits keeps the logs finite:
    log D(x)       = log sigmoid(l)  = -softplus(-l)
    log(1 - D(x))  = log sigmoid(-l) = -softplus(l)

The value function of the game (Goodfellow et al. 2014, eq. 1):
    min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]
D *maximises* V, so it minimises -V. G *minimises* V, i.e. it minimises E_z[log(1 - D(G(z)))]
(the "saturating" loss), or, as in practice, maximises E_z[log D(G(z))] (the "non-saturating" loss).

Every function returns a scalar that the corresponding player *minimises*.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def value_function(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """V(D, G) = E[log D(x)] + E[log(1 - D(G(z)))], estimated on a batch."""
    return -F.softplus(-real_logits).mean() - F.softplus(fake_logits).mean()


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """D minimises -V = -E[log D(x)] - E[log(1 - D(G(z)))]: binary cross-entropy with real=1, fake=0."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """G minimises E[log(1 - D(G(z)))], the minimax game as written. Its gradient vanishes when D wins."""
    return -F.softplus(fake_logits).mean()


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """G minimises -E[log D(G(z))]: same fixed point, strong gradients while D(G(z)) is small."""
    return F.softplus(-fake_logits).mean()


G_LOSSES = {"saturating": g_loss_saturating, "non-saturating": g_loss_nonsaturating}


# ----------------------------------------------------------------------------------------------------------
# Losses beyond the minimax game (chapter 03). D's output is a raw score s = D(x) (a "logit" for the losses
# above, a critic value for WGAN); each function returns what its player minimises.
# ----------------------------------------------------------------------------------------------------------


def d_loss_lsgan(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Least squares GAN (Mao et al. 2017, eq. 2 with a=0, b=c=1): ½E[(D(x) - 1)²] + ½E[D(G(z))²]."""
    return 0.5 * (real_scores - 1).square().mean() + 0.5 * fake_scores.square().mean()


def g_loss_lsgan(fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN generator: ½E[(D(G(z)) - 1)²]. The gradient grows with the distance to the target, so fakes far on
    the right side of the boundary still get pulled toward the data (no saturation)."""
    return 0.5 * (fake_scores - 1).square().mean()


def d_loss_hinge(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018): E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]."""
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def g_loss_hinge(fake_scores: torch.Tensor) -> torch.Tensor:
    """Hinge generator: -E[D(G(z))] (no margin for G)."""
    return -fake_scores.mean()


def d_loss_wgan(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Wasserstein critic (Arjovsky et al. 2017): maximise E[D(x)] - E[D(G(z))], so minimise its negative.
    The maximum over 1-Lipschitz critics is W₁(p_data, p_g); the Lipschitz bound comes from a penalty (WGAN-GP)
    or spectral normalisation, never from this function."""
    return fake_scores.mean() - real_scores.mean()


def g_loss_wgan(fake_scores: torch.Tensor) -> torch.Tensor:
    """Wasserstein generator: minimise -E[D(G(z))]."""
    return -fake_scores.mean()


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017, eq. 3): E_x̂[(||∇_x̂ D(x̂)||₂ - 1)²], x̂ = ε x + (1 - ε) G(z), ε ~ U[0, 1]
    per sample. Returned without its weight λ (10 in the paper); the critic minimises loss + λ·penalty.
    `create_graph=True`: the penalty is itself differentiated with respect to D's parameters."""
    real, fake = real.detach(), fake.detach()
    if eps is None:
        eps = torch.rand(real.shape[0], *([1] * (real.ndim - 1)), device=real.device, dtype=real.dtype)  # (B, 1, ...)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)  # same shape as real
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)  # same shape as real
    return (grad.flatten(1).norm(2, dim=1) - 1).square().mean()


def r1_penalty(D, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018, eq. 9): E_x[||∇_x D(x)||²] on real data only. The paper's regulariser is
    (γ/2)·this; D minimises loss + (γ/2)·R1. Penalising D's slope on the data keeps D from overshooting there."""
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)  # same shape as real
    return grad.flatten(1).square().sum(1).mean()


LOSSES = {
    # name: (D loss, G loss)
    "minimax": (d_loss, g_loss_saturating),
    "non-saturating": (d_loss, g_loss_nonsaturating),
    "lsgan": (d_loss_lsgan, g_loss_lsgan),
    "hinge": (d_loss_hinge, g_loss_hinge),
    "wgan": (d_loss_wgan, g_loss_wgan),
}

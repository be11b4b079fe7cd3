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

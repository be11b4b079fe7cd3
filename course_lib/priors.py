"""Priors p(z) on a 2-D latent space, for the Adversarial Autoencoder (Makhzani et al. 2016, Fig. 2 and 4).

An AAE only ever *samples* its prior: the discriminator learns to tell prior samples from encoded codes, so
any distribution we can sample from will do, including one without a density formula (the swiss roll).

Each prior can also be sampled *conditioned on a label* (`labels=`): component k of the mixture, or the k-th
tenth of the swiss roll. That is the paper's §2.3, label information in the adversarial regularisation (Figs. 3
and 4), where the discriminator sees the label too and so pushes digit k into region k. (The paper's "supervised
AAE", §4, is another model: it gives the label to the decoder, to separate style from class.)

Dimension key: B batch, Z latent size (2 here), K mixture components / classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def _labels_or_uniform(n: int, k: int, labels: torch.Tensor | None, generator) -> torch.Tensor:
    if labels is None:
        return torch.randint(k, (n,), generator=generator)  # (B,)
    labels = torch.as_tensor(labels, dtype=torch.long).cpu()
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {tuple(labels.shape)}")
    if len(labels) and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"labels must lie in [0, {k}), got values in [{int(labels.min())}, {int(labels.max())}]")
    return labels


@dataclass(frozen=True)
class Gaussian:
    """p(z) = N(0, I)."""

    dim: int = 2
    name: str = "Gaussian"
    n_classes: int = 0  # no label structure

    def sample(self, n: int, generator: torch.Generator | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is not None:
            raise ValueError("the Gaussian prior has no components to condition on; use mixture() or swiss_roll()")
        return torch.randn(n, self.dim, generator=generator)  # (B, Z)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return -0.5 * (z ** 2).sum(-1) - 0.5 * self.dim * math.log(2 * math.pi)  # (B,)


@dataclass(frozen=True)
class GaussianMixture:
    """K equal-weight 2-D Gaussians, component k centred at angle 2πk/K on a circle of radius `radius`, elongated
    along the radius (std `radial_std`) and thin across it (std `tangential_std`), as in Makhzani et al. Fig. 2."""

    n_classes: int = 10
    radius: float = 1.4
    radial_std: float = 0.5
    tangential_std: float = 0.1
    name: str = "10-Gaussian mixture"
    dim: int = 2

    def angles(self) -> torch.Tensor:
        return torch.arange(self.n_classes) * (2 * math.pi / self.n_classes)  # (K,)

    def centers(self) -> torch.Tensor:
        a = self.angles()
        return self.radius * torch.stack([a.cos(), a.sin()], dim=1)  # (K, Z)

    def sample(self, n: int, generator: torch.Generator | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        k = _labels_or_uniform(n, self.n_classes, labels, generator)  # (B,)
        eps = torch.randn(n, 2, generator=generator)  # (B, Z)
        r = self.radius + self.radial_std * eps[:, 0]  # (B,) along the radius
        t = self.tangential_std * eps[:, 1]  # (B,) across it
        a = self.angles()[k]  # (B,)
        # rotate the point (r, t) by the component's angle
        return torch.stack([r * a.cos() - t * a.sin(), r * a.sin() + t * a.cos()], dim=1)  # (B, Z)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        a = self.angles()  # (K,)
        # coordinates of every z in every component's (radial, tangential) frame
        r = z[:, :1] * a.cos() + z[:, 1:] * a.sin()  # (B, K)
        t = -z[:, :1] * a.sin() + z[:, 1:] * a.cos()  # (B, K)
        log_comp = (-0.5 * ((r - self.radius) / self.radial_std) ** 2 - 0.5 * (t / self.tangential_std) ** 2
                    - math.log(2 * math.pi * self.radial_std * self.tangential_std))  # (B, K)
        return torch.logsumexp(log_comp, dim=1) - math.log(self.n_classes)  # (B,)


@dataclass(frozen=True)
class SwissRoll:
    """A 2-D swiss roll: u ~ U(0, 1), radius `scale`·√u, angle `turns`·2π·√u (uniform mass along the roll's area).
    Conditioned on label k, u ~ U(k/K, (k+1)/K): the k-th stretch of the roll. It has no closed-form density in
    z that we need: the AAE only samples it."""

    n_classes: int = 10
    scale: float = 3.0
    turns: float = 2.0
    name: str = "swiss roll"
    dim: int = 2

    def sample(self, n: int, generator: torch.Generator | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        k = _labels_or_uniform(n, self.n_classes, labels, generator)  # (B,)
        u = (k + torch.rand(n, generator=generator)) / self.n_classes  # (B,) uniform on [0, 1], or on stretch k
        s = u.sqrt()
        angle = self.turns * 2 * math.pi * s
        return self.scale * s[:, None] * torch.stack([angle.cos(), angle.sin()], dim=1)  # (B, Z)


def gaussian() -> Gaussian:
    return Gaussian()


def mixture(n_classes: int = 10) -> GaussianMixture:
    return GaussianMixture(n_classes=n_classes)


def swiss_roll(n_classes: int = 10) -> SwissRoll:
    return SwissRoll(n_classes=n_classes)


PRIORS = {"gaussian": gaussian, "mixture": mixture, "swiss-roll": swiss_roll}


def get_prior(name: str):
    key = name.strip().lower().replace("_", "-")
    if key not in PRIORS:
        raise KeyError(f"unknown prior {name!r}; priors: {', '.join(PRIORS)}")
    return PRIORS[key]()

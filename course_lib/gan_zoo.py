"""Chapter 03: one GAN step for every loss of the zoo, with regularisers and health diagnostics.

The step is chapter 01's (`train.d_step`, then `train.g_step`); what changes from one recipe to the next is data:

    d_loss / g_loss -- a pair from `losses.LOSSES` (minimax, non-saturating, lsgan, hinge, wgan)
    n_critic        -- D steps per G step (5 for WGAN-GP: the critic must stay close to its optimum)
    penalty         -- a weighted regulariser added to D's loss: λ·gradient_penalty (WGAN-GP) or (γ/2)·R1
    lr_G, lr_D      -- two time-scale update rule (TTUR, Heusel et al. 2017): D learns faster than G
    spectral_norm   -- every layer of D divided by its largest singular value (Miyato et al. 2018)

Diagnostics logged each step: D's mean raw score on real and fake batches, both losses and both players'
gradient norms; `plot_health` draws them from the log.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from . import losses, train


@dataclass(frozen=True)
class Recipe:
    name: str
    loss: str = "non-saturating"  # a key of losses.LOSSES
    n_critic: int = 1
    gp: float = 0.0  # λ of the WGAN-GP gradient penalty
    r1: float = 0.0  # γ of R1; D's loss gets (γ/2)·R1
    spectral_norm: bool = False
    lr_G: float = 1e-3
    lr_D: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    extra: dict = field(default_factory=dict)

    @property
    def d_loss(self) -> Callable:
        return losses.LOSSES[self.loss][0]

    @property
    def g_loss(self) -> Callable:
        return losses.LOSSES[self.loss][1]

    def penalty(self) -> Callable | None:
        """A function (D, real, fake) -> weighted regulariser, or None."""
        if self.gp and self.r1:
            return lambda D, real, fake: (self.gp * losses.gradient_penalty(D, real, fake)
                                          + 0.5 * self.r1 * losses.r1_penalty(D, real))
        if self.gp:
            return lambda D, real, fake: self.gp * losses.gradient_penalty(D, real, fake)
        if self.r1:
            return lambda D, real, fake: 0.5 * self.r1 * losses.r1_penalty(D, real)
        return None

    def optimizers(self, G: nn.Module, D: nn.Module):
        # WGAN-GP's paper uses Adam(β1 = 0, β2 = 0.9): momentum fights a critic that is re-fitted every step
        betas = (0.0, 0.9) if self.gp else self.betas
        return (torch.optim.Adam(G.parameters(), lr=self.lr_G, betas=betas),
                torch.optim.Adam(D.parameters(), lr=self.lr_D, betas=betas))


# The comparison of chapter 03 (toy MLPs on the 5x5 grid); `course train` has its own image-scale recipes.
TOY_RECIPES: dict[str, Recipe] = {r.name: r for r in [
    Recipe("minimax", loss="minimax"),
    Recipe("non-saturating", loss="non-saturating"),
    Recipe("LSGAN", loss="lsgan"),
    Recipe("hinge + SN", loss="hinge", spectral_norm=True),
    Recipe("WGAN-GP", loss="wgan", n_critic=5, gp=0.1, lr_G=1e-4, lr_D=1e-4),
    Recipe("NS + R1 + TTUR", loss="non-saturating", r1=1.0, lr_G=1e-4, lr_D=4e-4),
]}


def grad_norm(module: nn.Module) -> torch.Tensor:
    """The global L2 norm of the gradients currently held by `module`'s parameters."""
    grads = [p.grad.detach().float().norm() for p in module.parameters() if p.grad is not None]
    return torch.stack(grads).norm() if grads else torch.zeros(())


def zoo_step(G: nn.Module, D: nn.Module, opt_G, opt_D, batches, z_dim: int, *, d_loss: Callable, g_loss: Callable,
             n_critic: int = 1, penalty: Callable | None = None, amp=contextlib.nullcontext) -> dict[str, torch.Tensor]:
    """`n_critic` D steps (each on a fresh real batch), then one G step; returns losses, scores, gradient norms."""
    scores = {}
    for _ in range(n_critic):
        real = next(batches)
        z = torch.randn(real.shape[0], z_dim, device=real.device)  # (B, Z)
        with amp():
            fake = G(z)

        def loss_D(real_scores, fake_scores, real=real, fake=fake):
            scores["D_real"], scores["D_fake"] = real_scores.detach().float().mean(), fake_scores.detach().float().mean()
            reg = penalty(D, real, fake) if penalty is not None else 0.0  # the penalty detaches `fake` itself
            return d_loss(real_scores, fake_scores) + reg

        stats = train.d_step(D, real, fake, opt_D, loss_D, amp)
    stats = {"loss_D": stats["loss_D"], "grad_D": grad_norm(D), **scores}
    # G through the updated D, on the last fake batch (its graph to G is intact: D only saw fake.detach())
    stats |= train.g_step(D, fake, opt_G, g_loss, amp)
    stats["grad_G"] = grad_norm(G)
    return stats


def build_toy(recipe: Recipe, *, z_dim: int = 16, hidden: int = 128, dim: int = 2):
    """Chapter 01's MLPs (3 hidden layers); spectral norm on every layer of D when the recipe asks."""
    from .models.mlp import Discriminator, Generator

    G = Generator(z_dim=z_dim, out_shape=(dim,), hidden=(hidden,) * 3)
    D = Discriminator(in_shape=(dim,), hidden=(hidden,) * 3)
    if recipe.spectral_norm:
        for m in D.modules():
            if isinstance(m, nn.Linear):
                nn.utils.parametrizations.spectral_norm(m)
    return G, D


def train_toy(recipe: Recipe, mixture, *, steps: int, batch_size: int, seed: int = 0, z_dim: int = 16,
              log_every: int = 20, progress: bool = True):
    """Train the recipe's GAN on a 2-D mixture; returns (G, log rows). `steps` counts G steps."""
    from tqdm.auto import tqdm

    train.seed_everything(seed)
    G, D = build_toy(recipe, z_dim=z_dim, dim=mixture.dim)
    opt_G, opt_D = recipe.optimizers(G, D)
    g = torch.Generator().manual_seed(seed)
    batches = iter(lambda: mixture.sample(batch_size, generator=g), None)  # an endless stream of (B, 2)
    log = []
    for step in tqdm(range(1, steps + 1), desc=recipe.name, disable=not progress, mininterval=1.0, leave=False):
        stats = zoo_step(G, D, opt_G, opt_D, batches, z_dim, d_loss=recipe.d_loss, g_loss=recipe.g_loss,
                         n_critic=recipe.n_critic, penalty=recipe.penalty())
        if step % log_every == 0 or step == steps:
            log.append({"step": step, **{k: float(v) for k, v in stats.items()}})
    return G.eval(), log


def plot_health(log, title: str = "", axes=None):
    """Four panels from a training log: losses, D's scores on real / fake, gradient norms (log scale)."""
    import matplotlib.pyplot as plt

    rows = log.rows if hasattr(log, "rows") else log
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(13, 3.0))
    steps = [r["step"] for r in rows]
    for keys, ax, name in [(("loss_D", "loss_G"), axes[0], "losses"), (("D_real", "D_fake"), axes[1],
                           "D's mean score: real / fake"), (("grad_D", "grad_G"), axes[2], "gradient norms")]:
        for k in keys:
            ax.plot(steps, [r[k] for r in rows], label=k, lw=1)
        ax.set_title(f"{title}: {name}" if title else name, fontsize=9)
        ax.legend(fontsize=7)
        ax.set_xlabel("step", fontsize=8)
    axes[2].set_yscale("log")
    return axes[0].figure

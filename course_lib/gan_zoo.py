"""Chapter 03: one GAN step for every loss of the zoo, with regularisers and health diagnostics.

The step is chapter 01's (D on `fake.detach()`, then G through the frozen, updated D, each with `train.update`);
what changes from one recipe to the next is data:

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
from .models.blocks import sn


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
    betas: tuple[float, float] | None = None  # None: (0, 0.9) with a gradient penalty, else (0.5, 0.999)
    extra: dict = field(default_factory=dict)

    @property
    def d_loss(self) -> Callable:
        return losses.LOSSES[self.loss][0]

    @property
    def g_loss(self) -> Callable:
        return losses.LOSSES[self.loss][1]

    def penalty(self, rand: Callable[[int], torch.Tensor] | None = None) -> Callable | None:
        """A function (D, real, fake) -> weighted regulariser, or None. `rand(n)` draws the gradient penalty's
        (n, 1) interpolation weights ε (default: torch.rand; seed-batched runs draw each seed's own)."""
        def gp(D, real, fake):
            eps = None if rand is None else rand(real.shape[0]).view(-1, *([1] * (real.ndim - 1)))  # (B, 1, ...)
            return self.gp * losses.gradient_penalty(D, real, fake, eps=eps)

        if self.gp and self.r1:
            return lambda D, real, fake: gp(D, real, fake) + 0.5 * self.r1 * losses.r1_penalty(D, real)
        if self.gp:
            return gp
        if self.r1:
            return lambda D, real, fake: 0.5 * self.r1 * losses.r1_penalty(D, real)
        return None

    def optimizers(self, G: nn.Module, D: nn.Module):
        # WGAN-GP's paper uses Adam(β1 = 0, β2 = 0.9): momentum fights a critic that is re-fitted every step
        betas = self.betas or ((0.0, 0.9) if self.gp else (0.5, 0.999))
        return (torch.optim.Adam(G.parameters(), lr=self.lr_G, betas=betas),
                torch.optim.Adam(D.parameters(), lr=self.lr_D, betas=betas))


# The comparison of chapter 03 (toy MLPs on the 5x5 grid); `course train` has its own image-scale recipes.
# WGAN-GP follows the official toy code (gan_toy.py: λ = 0.1, "smaller lambda seems to help for toy tasks", 5 critic
# steps, Adam β = (0.5, 0.9)) except its learning rate: 1e-3 instead of 1e-4, since the course affords a few
# thousand G steps where that code runs 100,000.
TOY_RECIPES: dict[str, Recipe] = {r.name: r for r in [
    Recipe("minimax", loss="minimax"),
    Recipe("non-saturating", loss="non-saturating"),
    Recipe("LSGAN", loss="lsgan"),
    Recipe("hinge", loss="hinge"),
    Recipe("hinge + SN", loss="hinge", spectral_norm=True),
    Recipe("WGAN-GP", loss="wgan", n_critic=5, gp=0.1, lr_G=1e-3, lr_D=1e-3, betas=(0.5, 0.9)),
    Recipe("NS + R1 + TTUR", loss="non-saturating", r1=1.0, lr_G=2.5e-4, lr_D=1e-3),
]}


def grad_norm(module: nn.Module, seeds: int | None = None) -> torch.Tensor:
    """The global L2 norm of the gradients currently held by `module`'s parameters; with `seeds`, one norm per
    seed of a seed-batched module (every parameter's leading dimension is the seed): (S,)."""
    ps = [p.grad.detach().float() for p in module.parameters() if p.grad is not None]
    if seeds is None:
        return torch.stack([g.norm() for g in ps]).norm() if ps else torch.zeros(())
    return torch.stack([g.reshape(seeds, -1).norm(dim=1) for g in ps]).norm(dim=0) if ps else torch.zeros(seeds)


def seed_losses(loss: Callable, seeds: int, *scores: torch.Tensor) -> list[torch.Tensor]:
    """A loss of several seeds' scores (S·B rows) as each seed's own loss on its B rows: S scalars. Their sum
    gives each seed's weights the gradient they would receive alone."""
    return [loss(*(s.view(seeds, -1, *s.shape[1:])[k] for s in scores)) for k in range(seeds)]  # (S·B, .) -> (B, .)


def _descend_and_log(loss: Callable, seeds: int | None, *scores: torch.Tensor):
    """(the loss to descend, the value to log): one run's loss twice, or the seeds' sum and their (S,) losses."""
    if seeds is None:
        value = loss(*scores)
        return value, value.detach()
    per_seed = seed_losses(loss, seeds, *scores)
    return sum(per_seed), torch.stack([v.detach() for v in per_seed])  # (S,)


def _scaled(k: int, penalty: Callable) -> Callable:
    """k times the penalty: summed over k seeds, where `penalty` returns its mean over all seeds' rows."""
    return lambda D, real, fake: k * penalty(D, real, fake)


def zoo_step(G: nn.Module, D: nn.Module, opt_G, opt_D, batches, z_dim: int, *, d_loss: Callable, g_loss: Callable,
             n_critic: int = 1, penalty: Callable | None = None, amp=contextlib.nullcontext,
             seeds: int | None = None, sample_z: Callable[[int], torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """`n_critic` D steps (each on a fresh real batch), then one G step; returns losses, scores, gradient norms.

    The logged loss_D is D's whole loss, penalty included. With `seeds = S`, G and D are seed-batched
    (`models.mlp.SeedGenerator` / `SeedDiscriminator`) and a batch holds S·B rows: both players' losses are summed
    over seeds (so is the penalty: S times its mean over the S·B rows) and every statistic comes back per seed,
    shape (S,); the D loss logged is then the adversarial part, without the penalty. D_real / D_fake are D's mean
    raw scores (logits, or a critic's values). `sample_z(n)` draws the (n, Z) noise (default torch.randn)."""
    if penalty is not None and seeds is not None:
        penalty = _scaled(seeds, penalty)

    def mean(s):
        return s.detach().float().mean() if seeds is None else s.detach().float().view(seeds, -1).mean(1)  # (S,)

    for _ in range(n_critic):
        real = next(batches)
        z = sample_z(real.shape[0]) if sample_z else torch.randn(real.shape[0], z_dim, device=real.device)  # (B, Z)
        with amp():
            fake = G(z)  # (B, ...) like real
            real_scores = D(real)  # (B, 1)
            # detach: D's loss must move D only; G's graph is kept for G's step below
            fake_scores = D(fake.detach())  # (B, 1)
            reg = penalty(D, real, fake) if penalty is not None else 0.0  # the penalty detaches `fake` itself
            loss_adv, logged_D = _descend_and_log(d_loss, seeds, real_scores, fake_scores)
            loss_D = loss_adv + reg
        train.update(opt_D, loss_D)
    stats = {"loss_D": loss_D.detach() if seeds is None else logged_D, "grad_D": grad_norm(D, seeds),
             "D_real": mean(real_scores), "D_fake": mean(fake_scores)}
    # G through the updated, frozen D, on the last fake batch (its graph to G is intact: D only saw fake.detach())
    with amp(), train.frozen(D):
        loss_G, stats["loss_G"] = _descend_and_log(g_loss, seeds, D(fake))
    train.update(opt_G, loss_G)
    stats["grad_G"] = grad_norm(G, seeds)
    return stats


def build_toy(recipe: Recipe, *, z_dim: int = 16, hidden: int = 128, dim: int = 2):
    """Chapter 01's MLPs (3 hidden layers); spectral norm on every layer of D when the recipe asks."""
    from .models.mlp import Discriminator, Generator

    G = Generator(z_dim=z_dim, out_shape=(dim,), hidden=(hidden,) * 3)
    D = Discriminator(in_shape=(dim,), hidden=(hidden,) * 3)
    for m in D.modules():
        if isinstance(m, nn.Linear):
            sn(m, recipe.spectral_norm)
    return G, D


class SeedStreams:
    """One random stream per seed: `randn(n, *shape)` / `rand(n, *shape)` return (n, ...) with n = S·b, seed k's
    b rows drawn from seed k's own generator, so a seed's draws do not depend on the seeds beside it."""

    def __init__(self, seeds: list[int], offset: int):
        self.gens = [torch.Generator().manual_seed(offset + s) for s in seeds]

    def _draw(self, fn, n: int, *shape: int) -> torch.Tensor:
        b = n // len(self.gens)
        return torch.cat([fn(b, *shape, generator=g) for g in self.gens])  # (S·b, ...)

    def randn(self, n: int, *shape: int) -> torch.Tensor:
        return self._draw(torch.randn, n, *shape)

    def rand(self, n: int, *shape: int) -> torch.Tensor:
        return self._draw(torch.rand, n, *shape)


def build_toy_seeds(recipe: Recipe, seeds: list[int], *, z_dim: int = 16, hidden: int = 128, dim: int = 2):
    """`build_toy` for several seeds at once: seed-batched MLPs (models.mlp), spectral norm per seed."""
    from .models.mlp import SeedDiscriminator, SeedGenerator

    G = SeedGenerator(seeds=seeds, z_dim=z_dim, out_shape=(dim,), hidden=(hidden,) * 3)
    D = SeedDiscriminator(seeds=seeds, in_shape=(dim,), hidden=(hidden,) * 3, spectral_norm=recipe.spectral_norm)
    return G, D


def train_toy_seeds(recipe: Recipe, mixture, *, steps: int, batch_size: int, seeds=(0, 1, 2), z_dim: int = 16,
                    hidden: int = 128, log_every: int = 20, on_log: Callable | None = None, progress: bool = True):
    """Train the recipe's GAN on a 2-D mixture once per seed, all seeds as one batch; `steps` counts G steps.

    Seed k's run is the run `train_toy_seeds(..., seeds=[k])` makes alone (tested): its weights, data, noise and
    penalty weights come from its own generators. G maps (S·N, Z) to (S·N, 2) (see
    `sample_seeds`), D the seed-batched critic, logs[k] seed k's list of rows. Returns (G, D, logs);
    `on_log(step, G)` is called at every logged step."""
    from tqdm.auto import tqdm

    seeds = list(seeds)
    S = len(seeds)
    G, D = build_toy_seeds(recipe, seeds, z_dim=z_dim, hidden=hidden, dim=mixture.dim)
    opt_G, opt_D = recipe.optimizers(G, D)
    data_gens = [torch.Generator().manual_seed(s) for s in seeds]
    batches = iter(lambda: torch.cat([mixture.sample(batch_size, generator=g) for g in data_gens]), None)  # (S·B, 2)
    noise = SeedStreams(seeds, offset=2_000_003)
    eps = SeedStreams(seeds, offset=3_000_017)
    penalty = recipe.penalty(rand=eps.rand)
    logs: list[list[dict]] = [[] for _ in seeds]
    for step in tqdm(range(1, steps + 1), desc=f"{recipe.name} x{S} seeds", disable=not progress, mininterval=1.0,
                     leave=False):
        stats = zoo_step(G, D, opt_G, opt_D, batches, z_dim, d_loss=recipe.d_loss, g_loss=recipe.g_loss,
                         n_critic=recipe.n_critic, penalty=penalty, seeds=S, sample_z=lambda n: noise.randn(n, z_dim))
        if step % log_every == 0 or step == steps:
            for k in range(S):
                logs[k].append({"step": step, **{name: float(v[k]) for name, v in stats.items()}})
            if on_log is not None:
                on_log(step, G)
    return G.eval(), D, logs


@torch.no_grad()
def sample_seeds(G: nn.Module, n: int, *, seed: int = 1) -> torch.Tensor:
    """n samples from each seed's generator of a seed-batched G, the same z for every seed: (S, n, dim)."""
    S = len(G.seeds)
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed))  # (n, Z)
    return G(z.repeat(S, 1)).view(S, n, -1)  # (S·n, dim) -> (S, n, dim)


def plot_health(log, title: str = "", axes=None):
    """Three panels from a training log: losses, D's scores on real / fake, gradient norms (log scale)."""
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


def input_gradient_norms(D: nn.Module, x: torch.Tensor, seeds: int) -> torch.Tensor:
    """‖∇ₓD(x)‖ at each of seed-batched rows x (S·N, ...), as (S, N) (seeds = 1 for an ordinary D): how steep each seed's critic is where it is
    evaluated (a 1-Lipschitz critic has at most 1 everywhere)."""
    x = x.detach().requires_grad_(True)
    with train.frozen(D):
        (g,) = torch.autograd.grad(D(x).sum(), x)  # (S·N, d)
    return g.flatten(1).norm(dim=1).view(seeds, -1)  # (S, N)

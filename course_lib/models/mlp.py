"""MLP generator and discriminator, as in the original GAN paper (Goodfellow et al. 2014).

Used for the toy 1-D / 2-D distributions and for flattened MNIST in chapter 01.
Dimension key: B batch, Z latent size, X data size (prod of out_shape), H hidden width.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _mlp(sizes: list[int], act: nn.Module) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(a, b), act]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return layers


class Generator(nn.Module):
    """z ~ N(0, I) -> x. `tanh=True` bounds images to [-1, 1]; toy data is left unbounded."""

    def __init__(self, *, z_dim: int, out_shape: tuple[int, ...], hidden: tuple[int, ...] = (256, 256),
                 tanh: bool = False):
        super().__init__()
        self.z_dim, self.out_shape = z_dim, tuple(out_shape)
        layers = _mlp([z_dim, *hidden, math.prod(out_shape)], nn.ReLU())
        self.net = nn.Sequential(*layers, *([nn.Tanh()] if tanh else []))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.net(z)  # (B, X)
        return x.view(len(z), *self.out_shape)  # (B, *out_shape)


class Discriminator(nn.Module):
    """x -> one logit (not a probability: the losses take logits; D(x) = sigmoid(logit))."""

    def __init__(self, *, in_shape: tuple[int, ...], hidden: tuple[int, ...] = (256, 256), slope: float = 0.2):
        super().__init__()
        self.net = nn.Sequential(*_mlp([math.prod(in_shape), *hidden, 1], nn.LeakyReLU(slope)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))  # (B, X) -> (B, 1)


# ----------------------------------------------------------------------------------------------------------
# Several seeds as one batch (chapters 01 and 03). Every layer carries a leading seed dimension S: seed k's
# weights are slice k, and a batch of S·B rows is seed 0's B rows, then seed 1's, ... Layers are block-diagonal
# across seeds (a batched matmul), so seed k's outputs and gradients depend on seed k's weights and rows only;
# with the loss summed over seeds (`zoo_step(seeds=S)`), Adam (element-wise) trains each slice exactly as a
# model of one seed would be trained alone. `d_step`, `g_step` and `frozen(D)` are unchanged.
# Dimension key adds S seeds; a seed-batched tensor of rows is (S·B, X).
# ----------------------------------------------------------------------------------------------------------


class SeedLinear(nn.Module):
    """S independent `nn.Linear(d_in, d_out)` layers applied to their own B rows of an (S·B, d_in) batch.

    Seed k's weights are drawn from `torch.Generator().manual_seed(seeds[k])` with nn.Linear's default
    distribution, U(-1/√d_in, 1/√d_in), so they do not depend on which other seeds share the batch."""

    def __init__(self, d_in: int, d_out: int, *, generators: list[torch.Generator]):
        super().__init__()
        bound = 1 / math.sqrt(d_in)
        w = torch.stack([(torch.rand(d_out, d_in, generator=g) * 2 - 1) * bound for g in generators])  # (S, out, in)
        b = torch.stack([(torch.rand(d_out, generator=g) * 2 - 1) * bound for g in generators])  # (S, out)
        self.weight, self.bias = nn.Parameter(w), nn.Parameter(b)

    @property
    def n_seeds(self) -> int:
        return self.weight.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        S = self.n_seeds
        x = x.reshape(S, -1, x.shape[-1])  # (S·B, in) -> (S, B, in)
        y = torch.baddbmm(self.bias.unsqueeze(1), x, self.weight.transpose(1, 2))  # (S, B, out)
        return y.reshape(-1, y.shape[-1])  # (S·B, out)


class SeedSpectralNorm(nn.Module):
    """Spectral normalisation of each seed's (out, in) matrix separately: W_k / σ(W_k), σ estimated by one step of
    power iteration per training-mode forward pass (Miyato et al. 2018, Alg. 1; the order of
    `nn.utils.parametrizations.spectral_norm`: v <- Wᵀu/‖Wᵀu‖, u <- Wv/‖Wv‖, σ = uᵀWv). PyTorch's own
    parametrisation would treat the (S, out, in) tensor as one (S·out, in) matrix."""

    def __init__(self, weight: torch.Tensor, *, generators: list[torch.Generator], n_power_iterations: int = 1,
                 eps: float = 1e-12):
        super().__init__()
        S, d_out, d_in = weight.shape
        self.n_power_iterations, self.eps = n_power_iterations, eps
        u = torch.stack([torch.randn(d_out, generator=g) for g in generators])  # (S, out)
        v = torch.stack([torch.randn(d_in, generator=g) for g in generators])  # (S, in)
        self.register_buffer("_u", nn.functional.normalize(u, dim=1, eps=eps))
        self.register_buffer("_v", nn.functional.normalize(v, dim=1, eps=eps))
        self._power_method(weight.detach(), 15)  # as PyTorch does on registration

    @torch.no_grad()
    def _power_method(self, W: torch.Tensor, iters: int) -> None:
        for _ in range(iters):
            # in place, like PyTorch: the buffers are updated, never part of the graph
            self._v.copy_(nn.functional.normalize(torch.einsum("sou,so->su", W, self._u), dim=1, eps=self.eps))
            self._u.copy_(nn.functional.normalize(torch.einsum("sou,su->so", W, self._v), dim=1, eps=self.eps))

    def forward(self, W: torch.Tensor) -> torch.Tensor:
        if self.training:
            self._power_method(W.detach(), self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()  # clones: autograd must not see the next in-place update
        sigma = torch.einsum("so,sou,su->s", u, W, v)  # (S,)
        return W / sigma[:, None, None]


def _seed_mlp(sizes: list[int], act: nn.Module, generators) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [SeedLinear(a, b, generators=generators), act]
    layers.append(SeedLinear(sizes[-2], sizes[-1], generators=generators))
    return layers


def init_generators(seeds: list[int], player: int) -> list[torch.Generator]:
    """One generator per seed for a player's initial weights (player 0: G, 1: D), independent of the others."""
    return [torch.Generator().manual_seed(1_000_003 * player + s) for s in seeds]


class SeedGenerator(nn.Module):
    """`Generator` for several seeds at once: (S·B, Z) -> (S·B, *out_shape); seed k's rows use seed k's weights."""

    def __init__(self, *, seeds: list[int], z_dim: int, out_shape: tuple[int, ...], hidden: tuple[int, ...] = (256, 256)):
        super().__init__()
        self.seeds, self.z_dim, self.out_shape = list(seeds), z_dim, tuple(out_shape)
        self.net = nn.Sequential(*_seed_mlp([z_dim, *hidden, math.prod(out_shape)], nn.ReLU(),
                                            init_generators(self.seeds, 0)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(len(z), *self.out_shape)  # (S·B, *out_shape)


class SeedDiscriminator(nn.Module):
    """`Discriminator` for several seeds at once: (S·B, X) -> (S·B, 1) logits; `spectral_norm=True` normalises
    every layer of every seed by its own largest singular value."""

    def __init__(self, *, seeds: list[int], in_shape: tuple[int, ...], hidden: tuple[int, ...] = (256, 256),
                 slope: float = 0.2, spectral_norm: bool = False):
        super().__init__()
        self.seeds = list(seeds)
        gens = init_generators(self.seeds, 1)
        self.net = nn.Sequential(*_seed_mlp([math.prod(in_shape), *hidden, 1], nn.LeakyReLU(slope), gens))
        if spectral_norm:
            from torch.nn.utils import parametrize

            for m in self.net:
                if isinstance(m, SeedLinear):
                    parametrize.register_parametrization(m, "weight", SeedSpectralNorm(m.weight, generators=gens))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))  # (S·B, X) -> (S·B, 1)

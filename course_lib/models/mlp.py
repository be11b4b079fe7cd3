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

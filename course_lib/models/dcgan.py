"""DCGAN (Radford, Metz & Chintala 2016): the five architecture guidelines, each one switchable for ablations.

    1. strided convolutions (D) and fractionally-strided ones (G) instead of pooling: the network learns its
       own down- and up-sampling;
    2. BatchNorm in both G and D (not on G's output nor D's input): it keeps every layer's activations
       normalised, so gradients flow through deep stacks and G does not collapse to one point early on;
    3. no fully connected hidden layers: z is projected to a small feature map, D ends in a convolution;
    4. ReLU in G, Tanh at its output (bounded images in [-1, 1], like the data);
    5. LeakyReLU(0.2) in D: gradients also flow for negative pre-activations, back to G.

Dimension key: B batch, Z latent size, C image channels, H/W image side, w base width (channels).
The first feature map is S0×S0 with S0 = 7 for 28×28 images (MNIST), 4 for 32×32 and 64×64.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from . import blocks


def _start_and_ups(image_size: int) -> tuple[int, int]:
    """(S0, number of ×2 up-samplings) so that S0 · 2^ups = image_size."""
    for s0 in (4, 7):
        ups, side = 0, s0
        while side < image_size:
            side, ups = 2 * side, ups + 1
        if side == image_size:
            return s0, ups
    raise ValueError(f"DCGAN supports sides 4·2^k or 7·2^k (28, 32, 64, ...), got {image_size}")


def _norm2d(c: int, batchnorm: bool) -> nn.Module:
    return nn.BatchNorm2d(c) if batchnorm else nn.Identity()


class Generator(nn.Module):
    """z (B, Z) -> x (B, C, H, W) in [-1, 1]."""

    def __init__(self, *, z_dim: int = 100, channels: int = 1, image_size: int = 28, width: int = 64,
                 batchnorm: bool = True):
        super().__init__()
        self.z_dim = z_dim
        s0, ups = _start_and_ups(image_size)
        c = width * 2 ** (ups - 1)  # widest at the start, halved at each up-sampling
        # guideline 3: z is the input of a convolution (a "projection" to S0×S0), not of a dense hidden layer
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, c, s0, 1, 0, bias=not batchnorm),
                                   _norm2d(c, batchnorm), nn.ReLU(True)]  # (B, c, S0, S0)
        for _ in range(ups - 1):
            # guideline 1: a stride-2 transposed convolution doubles the side; 2 + 4 (kernel) - 2 (pad) = exact x2
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=not batchnorm),
                       _norm2d(c // 2, batchnorm), nn.ReLU(True)]  # (B, c/2, 2S, 2S)
            c //= 2
        # guideline 4: Tanh output, no BatchNorm on the last layer
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]  # (B, C, H, W)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])  # (B, Z, 1, 1) -> (B, C, H, W)


class Discriminator(nn.Module):
    """x (B, C, H, W) -> one logit (B, 1). `spectral_norm` wraps every layer (chapter 03, Miyato et al. 2018)."""

    def __init__(self, *, channels: int = 1, image_size: int = 28, width: int = 64, batchnorm: bool = True,
                 spectral_norm: bool = False, leaky: float = 0.2):
        super().__init__()
        s0, ups = _start_and_ups(image_size)
        sn = functools.partial(blocks.sn, enabled=spectral_norm)
        # guideline 2: no BatchNorm on D's input layer; guideline 5: LeakyReLU(0.2)
        layers: list[nn.Module] = [sn(nn.Conv2d(channels, width, 4, 2, 1)), nn.LeakyReLU(leaky, True)]  # (B, w, H/2, W/2)
        c = width
        for _ in range(ups - 1):
            # guideline 1: stride 2 halves the side; no pooling
            layers += [sn(nn.Conv2d(c, 2 * c, 4, 2, 1, bias=not batchnorm)), _norm2d(2 * c, batchnorm),
                       nn.LeakyReLU(leaky, True)]  # (B, 2c, S/2, S/2)
            c *= 2
        # guideline 3: the last layer is a convolution over the whole S0×S0 map, not a dense layer
        layers += [sn(nn.Conv2d(c, 1, s0, 1, 0)), nn.Flatten()]  # (B, 1)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, 1)


def init_weights(m: nn.Module) -> None:
    """DCGAN's initialisation: convolution weights ~ N(0, 0.02²), BatchNorm scales ~ N(1, 0.02²) (std 0.02),
    biases 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def build(*, z_dim: int = 100, channels: int = 1, image_size: int = 28, width: int = 64, batchnorm: bool = True,
          spectral_norm: bool = False) -> tuple[Generator, Discriminator]:
    """G and D with DCGAN's initialisation. `batchnorm=False` is the ablation of guideline 2 (in both players)."""
    G = Generator(z_dim=z_dim, channels=channels, image_size=image_size, width=width, batchnorm=batchnorm)
    D = Discriminator(channels=channels, image_size=image_size, width=width, batchnorm=batchnorm and not spectral_norm,
                      spectral_norm=spectral_norm)
    G.apply(init_weights)
    if not spectral_norm:  # spectral norm re-scales the weights itself; N(0, 0.02²) would only slow it down
        D.apply(init_weights)
    return G, D


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between latents (White 2016): stays on the shell where N(0, I) samples live,
    unlike the straight line whose midpoint has a norm ~√½ too small. z0, z1 (Z,), t (T,) -> (T, Z)."""
    omega = torch.arccos((z0 / z0.norm()).dot(z1 / z1.norm()).clamp(-1, 1))
    so = torch.sin(omega)
    t = t[:, None]  # (T, 1)
    if so.abs() < 1e-6:
        return (1 - t) * z0 + t * z1  # (T, Z)
    return torch.sin((1 - t) * omega) / so * z0 + torch.sin(t * omega) / so * z1  # (T, Z)

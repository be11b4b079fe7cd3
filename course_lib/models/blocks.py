"""The ResNet blocks of SNGAN (Miyato et al. 2018) that SAGAN (Zhang et al. 2019) builds on, and spectral norm.

Both chapters' networks (`resnet_gan` for `course train sngan` / `wgan-gp`, `sagan` for chapter 06) are stacks of
these two blocks; they differ in where attention sits, whether G is spectrally normalised, and class conditioning.

Dimension key: B batch, Ci / Co channels in / out, H, W side of the input map, K classes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def sn(module: nn.Module, enabled: bool = True) -> nn.Module:
    """Spectral normalisation W / sigma(W), sigma estimated by one power iteration per forward pass."""
    return spectral_norm(module) if enabled else module


class Norm(nn.Module):
    """BatchNorm; with n_classes > 0, conditional BatchNorm: gain and bias are looked up from the class."""

    def __init__(self, channels: int, n_classes: int = 0):
        super().__init__()
        self.n_classes = n_classes
        self.bn = nn.BatchNorm2d(channels, affine=n_classes == 0)
        if n_classes:
            self.gain = nn.Embedding(n_classes, channels)
            self.bias = nn.Embedding(n_classes, channels)
            nn.init.ones_(self.gain.weight), nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = self.bn(x)
        if self.n_classes:
            x = x * self.gain(y)[:, :, None, None] + self.bias(y)[:, :, None, None]  # (B, C, H, W)
        return x


class GBlock(nn.Module):
    """BN-ReLU-upsample-conv3-BN-ReLU-conv3, plus an upsample-conv1 shortcut: (B, Ci, H, W) -> (B, Co, size, size),
    size = 2H unless given (28 x 28 images need 7 -> 14 -> 28 from 3 -> 7). Labels y feed conditional BatchNorm."""

    def __init__(self, cin: int, cout: int, *, n_classes: int = 0, spectral: bool = True):
        super().__init__()
        self.n1, self.n2 = Norm(cin, n_classes), Norm(cout, n_classes)
        self.c1 = sn(nn.Conv2d(cin, cout, 3, padding=1), spectral)
        self.c2 = sn(nn.Conv2d(cout, cout, 3, padding=1), spectral)
        self.skip = sn(nn.Conv2d(cin, cout, 1), spectral)

    def forward(self, x: torch.Tensor, size: int | None = None, y: torch.Tensor | None = None) -> torch.Tensor:
        size = size or 2 * x.shape[-1]
        h = self.c1(F.interpolate(F.relu(self.n1(x, y)), size=(size, size)))  # (B, Co, size, size), nearest
        h = self.c2(F.relu(self.n2(h, y)))  # (B, Co, size, size)
        return h + self.skip(F.interpolate(x, size=(size, size)))  # (B, Co, size, size)


class DBlock(nn.Module):
    """ReLU-conv3-ReLU-conv3 (-avgpool), plus a shortcut. `first`: no ReLU on the raw image. The shortcut is a 1x1
    convolution always (`learnable_skip=True`, SAGAN) or only where the shape changes (None, SNGAN: identity
    otherwise)."""

    def __init__(self, cin: int, cout: int, *, down: bool, first: bool = False, spectral: bool = True,
                 learnable_skip: bool | None = True):
        super().__init__()
        self.down, self.first = down, first
        self.c1 = sn(nn.Conv2d(cin, cout, 3, padding=1), spectral)
        self.c2 = sn(nn.Conv2d(cout, cout, 3, padding=1), spectral)
        learnable = learnable_skip or down or cin != cout
        self.skip = sn(nn.Conv2d(cin, cout, 1), spectral) if learnable else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c1(x if self.first else F.relu(x))  # (B, Co, H, W)
        h = self.c2(F.relu(h))  # (B, Co, H, W)
        if not self.down:
            return h + self.skip(x)  # (B, Co, H, W)
        # pool(h) + pool(conv1x1(x)) computed as pool(h) + conv1x1(pool(x)): average pooling is linear and a 1x1
        # convolution acts on each position alone, so the two commute; the shortcut then runs on 4x fewer positions
        return F.avg_pool2d(h, 2) + self.skip(F.avg_pool2d(x, 2))  # (B, Co, H/2, W/2)

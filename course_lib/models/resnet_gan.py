"""ResNet generator and discriminator for 32×32 images (Miyato et al. 2018, SNGAN; Gulrajani et al. 2017, WGAN-GP).

G: z -> dense to a 4×4 map -> three up-sampling residual blocks -> BN, ReLU, 3×3 conv, Tanh.
D: an "optimised" first block, one down-sampling block, two plain blocks, ReLU, global sum pooling, a dense
   layer to one score. `spectral_norm=True` wraps every layer of D (SNGAN); WGAN-GP uses the same D without it.
Dimension key: B batch, Z latent, C channels, H/W side, w width.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _sn(m: nn.Module, on: bool) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(m) if on else m


class GBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(c_in), nn.BatchNorm2d(c_out)
        self.conv1, self.conv2 = nn.Conv2d(c_in, c_out, 3, 1, 1), nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.skip = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x):
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2)  # (B, c_in, 2H, 2W)
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))  # (B, c_out, 2H, 2W)
        return h + self.skip(F.interpolate(x, scale_factor=2))  # (B, c_out, 2H, 2W)


class DBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, *, down: bool, first: bool = False, sn: bool = True):
        super().__init__()
        self.down, self.first = down, first
        self.conv1, self.conv2 = _sn(nn.Conv2d(c_in, c_out, 3, 1, 1), sn), _sn(nn.Conv2d(c_out, c_out, 3, 1, 1), sn)
        self.skip = _sn(nn.Conv2d(c_in, c_out, 1), sn) if (down or c_in != c_out) else None

    def forward(self, x):
        h = x if self.first else F.relu(x)  # the first block sees the image: no activation before it
        h = self.conv2(F.relu(self.conv1(h)))  # (B, c_out, H, W)
        if self.down:
            h = F.avg_pool2d(h, 2)  # (B, c_out, H/2, W/2)
        s = self.skip(x) if self.skip is not None else x  # a 1x1 conv commutes with average pooling
        return h + (F.avg_pool2d(s, 2) if self.down else s)  # (B, c_out, H/2, W/2) or (B, c_out, H, W)


class Generator(nn.Module):
    def __init__(self, *, z_dim: int = 128, channels: int = 3, width: int = 256):
        super().__init__()
        self.z_dim, self.width = z_dim, width
        self.fc = nn.Linear(z_dim, 4 * 4 * width)
        self.blocks = nn.Sequential(GBlock(width, width), GBlock(width, width), GBlock(width, width))
        self.out = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh())

    def forward(self, z):
        h = self.fc(z).view(len(z), self.width, 4, 4)  # (B, w, 4, 4)
        return self.out(self.blocks(h))  # (B, C, 32, 32)


class Discriminator(nn.Module):
    def __init__(self, *, channels: int = 3, width: int = 128, spectral_norm: bool = True):
        super().__init__()
        w = width
        self.blocks = nn.Sequential(
            DBlock(channels, w, down=True, first=True, sn=spectral_norm),  # (B, w, 16, 16)
            DBlock(w, w, down=True, sn=spectral_norm),  # (B, w, 8, 8)
            DBlock(w, w, down=False, sn=spectral_norm),  # (B, w, 8, 8)
            DBlock(w, w, down=False, sn=spectral_norm),  # (B, w, 8, 8)
        )
        self.fc = _sn(nn.Linear(w, 1), spectral_norm)

    def forward(self, x):
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))  # (B, w): global sum pooling
        return self.fc(h)  # (B, 1)


def build(*, z_dim: int = 128, channels: int = 3, g_width: int = 256, d_width: int = 128,
          spectral_norm: bool = True) -> tuple[Generator, Discriminator]:
    return (Generator(z_dim=z_dim, channels=channels, width=g_width),
            Discriminator(channels=channels, width=d_width, spectral_norm=spectral_norm))

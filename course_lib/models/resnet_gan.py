"""ResNet generator and discriminator for 32×32 images (Miyato et al. 2018, SNGAN; Gulrajani et al. 2017, WGAN-GP).

G: z -> dense to a 4×4 map -> three up-sampling residual blocks -> BN, ReLU, 3×3 conv, Tanh.
D: an "optimised" first block, one down-sampling block, two plain blocks, ReLU, global sum pooling, a dense
   layer to one score. `spectral_norm=True` wraps every layer of D (SNGAN); WGAN-GP uses the same D without it.
The blocks (`models.blocks`) are the ones SAGAN builds on.
Dimension key: B batch, Z latent, C channels, H/W side, w width.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from .blocks import DBlock, GBlock, sn


class Generator(nn.Module):
    def __init__(self, *, z_dim: int = 128, channels: int = 3, width: int = 256):
        super().__init__()
        self.z_dim, self.width = z_dim, width
        self.fc = nn.Linear(z_dim, 4 * 4 * width)
        self.blocks = nn.Sequential(*[GBlock(width, width, spectral=False) for _ in range(3)])  # 4 -> 32
        self.out = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh())

    def forward(self, z):
        h = self.fc(z).view(len(z), self.width, 4, 4)  # (B, w, 4, 4)
        return self.out(self.blocks(h))  # (B, C, 32, 32)


class Discriminator(nn.Module):
    def __init__(self, *, channels: int = 3, width: int = 128, spectral_norm: bool = True):
        super().__init__()
        w, kw = width, dict(spectral=spectral_norm, learnable_skip=None)  # SNGAN: a 1x1 shortcut only where needed
        self.blocks = nn.Sequential(
            DBlock(channels, w, down=True, first=True, **kw),  # (B, w, 16, 16)
            DBlock(w, w, down=True, **kw),  # (B, w, 8, 8)
            DBlock(w, w, down=False, **kw),  # (B, w, 8, 8): identity shortcut
            DBlock(w, w, down=False, **kw),  # (B, w, 8, 8)
        )
        self.fc = sn(nn.Linear(w, 1), spectral_norm)

    def forward(self, x):
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))  # (B, w): global sum pooling
        return self.fc(h)  # (B, 1)


def build(*, z_dim: int = 128, channels: int = 3, g_width: int = 256, d_width: int = 128,
          spectral_norm: bool = True) -> tuple[Generator, Discriminator]:
    return (Generator(z_dim=z_dim, channels=channels, width=g_width),
            Discriminator(channels=channels, width=d_width, spectral_norm=spectral_norm))

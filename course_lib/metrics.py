"""Evaluation metrics.

Mode coverage on toy mixtures (chapters 01 and 03), following the protocol of VEEGAN (Srivastava et al. 2017)
and PacGAN (Lin et al. 2018): each generated sample is assigned to its nearest mode; it is *high quality* when
it lies within `n_sigma` = 3 standard deviations of that mode's centre; a mode is *recovered* when it holds at
least `min_share` of its fair share (N / K) of the high-quality samples. With the default min_share = 0.2, a mode
of the 8-ring must receive 2.5 % of the samples, a mode of the 5x5 grid 0.8 %: a few stray points do not count.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ModeCoverage:
    modes: int  # modes recovered
    total: int  # modes in the mixture
    high_quality: float  # fraction of samples within n_sigma of their nearest mode
    counts: torch.Tensor  # (K,) high-quality samples per mode

    def __str__(self) -> str:
        return f"{self.modes}/{self.total} modes, {100 * self.high_quality:.1f}% high-quality samples"


@torch.no_grad()
def mode_coverage(samples: torch.Tensor, centers: torch.Tensor, std: float, *, n_sigma: float = 3.0,
                  min_share: float = 0.2) -> ModeCoverage:
    """Modes recovered and fraction of high-quality samples, for samples (N, d) of a mixture with `centers` (K, d)."""
    samples, centers = samples.detach().float().cpu(), centers.float().cpu()
    n, k = len(samples), len(centers)
    if n == 0:
        raise ValueError("mode_coverage needs at least one sample")
    dist = torch.cdist(samples, centers)  # (N, K)
    nearest_d, nearest = dist.min(dim=1)  # (N,), (N,)
    good = nearest_d <= n_sigma * std  # (N,)
    counts = torch.bincount(nearest[good], minlength=k)  # (K,)
    recovered = int((counts >= min_share * n / k).sum())
    return ModeCoverage(recovered, k, float(good.float().mean()), counts)

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


# ----------------------------------------------------------------------------------------------------------
# Sample quality on features: Fréchet distance, KID, precision / recall
#
# All of them compare two sets of *features* (N, F) computed by one feature network (Inception-v3 with the FID
# weights, or the course's own classifier, see course_lib.features). A number means nothing without the network
# that produced its features, and numbers from two networks are never comparable: print it with its name,
# "FID (Inception)" or "FD (course classifier)".
# ----------------------------------------------------------------------------------------------------------


def sqrtm_psd(a: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix, by eigendecomposition.

    Round-off makes the smallest eigenvalues of a near-singular covariance slightly negative; they are clipped to
    0, so the result is always finite (scipy's general `sqrtm` returns complex values or NaN there).
    """
    a = 0.5 * (a + a.T)  # symmetrise: a covariance is symmetric up to round-off
    vals, vecs = torch.linalg.eigh(a)  # (F,), (F, F)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T  # (F, F)


def _mean_cov(feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = feats.detach().to("cpu", torch.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"features must be (N, F) with N >= 2, got shape {tuple(feats.shape)}")
    return x.mean(0), torch.cov(x.T)  # (F,), (F, F)


def frechet_distance_gaussians(mu_a: torch.Tensor, cov_a: torch.Tensor, mu_b: torch.Tensor,
                               cov_b: torch.Tensor) -> float:
    """d² = ||mu_a - mu_b||² + Tr(cov_a + cov_b - 2 (cov_a cov_b)^{1/2}), the Fréchet (2-Wasserstein) distance².

    Tr((A B)^{1/2}) = Tr((A^{1/2} B A^{1/2})^{1/2}): the right-hand matrix is symmetric PSD, so its square root
    is the sum of the square roots of its eigenvalues, which stays real and finite for singular covariances.
    """
    mu_a, mu_b, cov_a, cov_b = (t.to(torch.float64) for t in (mu_a, mu_b, cov_a, cov_b))
    root_a = sqrtm_psd(cov_a)  # (F, F)
    middle = root_a @ cov_b @ root_a  # (F, F)
    tr_sqrt = torch.linalg.eigvalsh(0.5 * (middle + middle.T)).clamp_min(0).sqrt().sum()
    d2 = (mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * tr_sqrt
    return max(float(d2), 0.0)


def frechet_distance(feats_a: torch.Tensor, feats_b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, F) and (M, F) (Heusel et al. 2017).

    With Inception pool3 features of 50k images this is FID; with any other network it is an "FD (network)".
    """
    mu_a, cov_a = _mean_cov(feats_a)
    mu_b, cov_b = _mean_cov(feats_b)
    return frechet_distance_gaussians(mu_a, cov_a, mu_b, cov_b)


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """k(x, y) = (x·y / F + 1)³, the kernel of KID (Bińkowski et al. 2018)."""
    return (x @ y.T / x.shape[1] + 1) ** 3  # (N, M)


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Unbiased MMD² with the cubic polynomial kernel:
    1/(m(m-1)) Σ_{i≠j} k(x_i, x_j) + 1/(n(n-1)) Σ_{i≠j} k(y_i, y_j) - 2/(mn) Σ_{i,j} k(x_i, y_j)."""
    m, n = len(x), len(y)
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)  # (m,m) (n,n) (m,n)
    return ((kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
            + (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
            - 2 * kxy.mean())


def kid(feats_a: torch.Tensor, feats_b: torch.Tensor, *, subsets: int = 10, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance: mean and std of the unbiased MMD² over `subsets` random subsets (without
    replacement within a subset) of `subset_size` features from each set, clipped to the sample sizes.

    Unlike FID, its estimator is unbiased: it does not depend on the sample size in expectation, and it can
    be slightly negative when the two distributions are equal.
    """
    a = feats_a.detach().to("cpu", torch.float64)
    b = feats_b.detach().to("cpu", torch.float64)
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ValueError(f"KID needs at least 2 features per set, got {len(a)} and {len(b)}")
    g = torch.Generator().manual_seed(seed)
    values = torch.stack([
        mmd2_unbiased(a[torch.randperm(len(a), generator=g)[:size]], b[torch.randperm(len(b), generator=g)[:size]])
        for _ in range(subsets)
    ])  # (subsets,)
    std = float(values.std()) if subsets > 1 else 0.0
    return float(values.mean()), std


def _kth_nn_radius(x: torch.Tensor, k: int, chunk: int = 4096) -> torch.Tensor:
    """Distance from each row of x to its k-th nearest neighbour in x, itself excluded. (N,)"""
    if len(x) <= k:
        raise ValueError(f"k-NN radii with k={k} need more than {k} points, got {len(x)}")
    out = []
    for i in range(0, len(x), chunk):
        d = torch.cdist(x[i:i + chunk], x)  # (chunk, N)
        out.append(d.kthvalue(k + 1, dim=1).values)  # k+1: the point itself is at distance 0
    return torch.cat(out)


def _inside_balls(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor,
                  chunk: int = 4096) -> torch.Tensor:
    """(P, C) boolean: points[p] lies in the closed ball of centre c and radius radii[c]."""
    return torch.cat([torch.cdist(points[i:i + chunk], centres) <= radii for i in range(0, len(points), chunk)])


def _as_points(x: torch.Tensor) -> torch.Tensor:
    return x.detach().to("cpu", torch.float32).flatten(1)  # (N, F)


@torch.no_grad()
def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) on features (N, F) and (M, F).

    The real manifold is the union of balls around each real feature with radius its k-th nearest real
    neighbour; precision is the fraction of fakes inside it (quality). Recall swaps the roles: the fraction of
    reals inside the fake manifold (diversity).
    """
    real, fake = _as_points(real), _as_points(fake)
    precision = _inside_balls(fake, real, _kth_nn_radius(real, k)).any(1).float().mean()
    recall = _inside_balls(real, fake, _kth_nn_radius(fake, k)).any(1).float().mean()
    return float(precision), float(recall)

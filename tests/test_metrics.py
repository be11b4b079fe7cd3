"""The evaluation suite against cases with known answers."""

from __future__ import annotations

import math

import pytest
import torch

from course_lib import metrics


def _random_orthogonal(f: int, g: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(f, f, generator=g, dtype=torch.float64))
    return q


def _samples_with_moments(n: int, mu: torch.Tensor, cov: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """n samples whose *empirical* mean and covariance (unbiased) are exactly mu and cov."""
    z = torch.randn(n, len(mu), generator=g, dtype=torch.float64)
    z = z - z.mean(0)
    white = torch.linalg.cholesky(torch.cov(z.T))  # cov(z) = L Lᵀ
    z = torch.linalg.solve_triangular(white, z.T, upper=False).T  # cov(z) = I
    return z @ torch.linalg.cholesky(cov).T + mu


def test_sqrtm_psd_squares_back_and_survives_singular_matrices():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(20, 8, generator=g, dtype=torch.float64)
    cov = a @ a.T  # rank 8 of 20: singular
    cov[0, 1] += 1e-13  # round-off asymmetry
    root = metrics.sqrtm_psd(cov)
    assert torch.isfinite(root).all()
    torch.testing.assert_close(root @ root, 0.5 * (cov + cov.T), atol=1e-9, rtol=1e-9)


def test_frechet_distance_closed_form_64d():
    """Covariances with shared eigenvectors: Tr((AB)^½) = Σ √(a_i b_i), so d² = |Δμ|² + Σ (√a_i - √b_i)²."""
    g = torch.Generator().manual_seed(1)
    f = 64
    q = _random_orthogonal(f, g)
    a = torch.rand(f, generator=g, dtype=torch.float64) * 2 + 0.1
    b = torch.rand(f, generator=g, dtype=torch.float64) * 2 + 0.1
    cov_a, cov_b = q @ torch.diag(a) @ q.T, q @ torch.diag(b) @ q.T
    mu_a, mu_b = torch.randn(f, generator=g, dtype=torch.float64), torch.randn(f, generator=g, dtype=torch.float64)
    want = float((mu_a - mu_b).square().sum() + (a.sqrt() - b.sqrt()).square().sum())
    got = metrics.frechet_distance_gaussians(mu_a, cov_a, mu_b, cov_b)
    assert abs(got - want) / want <= 1e-4
    # the same through features whose empirical moments are exactly those Gaussians'
    xa, xb = _samples_with_moments(500, mu_a, cov_a, g), _samples_with_moments(700, mu_b, cov_b, g)
    got = metrics.frechet_distance(xa.float().double(), xb)
    assert abs(got - want) / want <= 1e-4


def test_frechet_distance_general_covariances_match_scipy():
    linalg = pytest.importorskip("scipy.linalg")
    g = torch.Generator().manual_seed(2)
    f = 16
    ma, mb = torch.randn(f, f, generator=g, dtype=torch.float64), torch.randn(f, f, generator=g, dtype=torch.float64)
    cov_a, cov_b = ma @ ma.T / f + 0.1 * torch.eye(f), mb @ mb.T / f + 0.1 * torch.eye(f)
    mu_a, mu_b = torch.zeros(f), torch.ones(f) * 0.3
    root = linalg.sqrtm(cov_a.numpy() @ cov_b.numpy()).real
    want = float((mu_a - mu_b).square().sum()) + float(cov_a.trace() + cov_b.trace()) - 2 * float(root.trace())
    got = metrics.frechet_distance_gaussians(mu_a, cov_a, mu_b, cov_b)
    assert got == pytest.approx(want, rel=1e-8)


def test_frechet_distance_is_finite_for_near_singular_covariances():
    g = torch.Generator().manual_seed(3)
    base = torch.randn(100, 4, generator=g)
    feats_a = base @ torch.randn(4, 64, generator=g)  # rank 4 in 64-d, fewer samples than dimensions
    feats_b = torch.randn(100, 4, generator=g) @ torch.randn(4, 64, generator=g)
    d = metrics.frechet_distance(feats_a, feats_b)
    assert math.isfinite(d) and d > 0
    assert metrics.frechet_distance(feats_a, feats_a) == pytest.approx(0.0, abs=1e-6 * d)


def test_fd_and_kid_near_zero_for_one_distribution_and_positive_for_shifted():
    g = torch.Generator().manual_seed(4)
    a, b = torch.randn(4000, 8, generator=g), torch.randn(4000, 8, generator=g)
    shifted = torch.randn(4000, 8, generator=g) + 0.5
    fd_same, fd_shift = metrics.frechet_distance(a, b), metrics.frechet_distance(a, shifted)
    assert fd_same < 0.02
    assert fd_shift == pytest.approx(8 * 0.25, rel=0.1)  # |Δμ|² = 8 · 0.5²
    kid_same, kid_same_std = metrics.kid(a, b, subset_size=500)
    kid_shift, _ = metrics.kid(a, shifted, subset_size=500)
    assert abs(kid_same) < 3 * kid_same_std + 1e-3
    assert kid_shift > 20 * max(abs(kid_same), kid_same_std)


def test_mmd2_unbiased_matches_a_hand_computation():
    g = torch.Generator().manual_seed(5)
    x, y = torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(4, 3, generator=g, dtype=torch.float64)

    def k(u, v):
        return (float(u @ v) / 3 + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(5) for j in range(5) if i != j) / (5 * 4)
    yy = sum(k(y[i], y[j]) for i in range(4) for j in range(4) if i != j) / (4 * 3)
    xy = sum(k(x[i], y[j]) for i in range(5) for j in range(4)) / (5 * 4)
    assert float(metrics.mmd2_unbiased(x, y)) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


def test_kid_is_unbiased_its_mean_does_not_depend_on_the_subset_size():
    """A biased estimator (e.g. FD, or MMD² with the diagonal kept) drifts with the sample size; KID must not."""
    g = torch.Generator().manual_seed(6)
    pool_a = torch.randn(20000, 4, generator=g, dtype=torch.float64)
    pool_b = torch.randn(20000, 4, generator=g, dtype=torch.float64) * 1.2 + 0.2
    small, _ = metrics.kid(pool_a, pool_b, subsets=400, subset_size=20)
    large, _ = metrics.kid(pool_a, pool_b, subsets=20, subset_size=500)
    same_small, same_std = metrics.kid(pool_a, pool_a.flip(0), subsets=400, subset_size=20)
    assert small == pytest.approx(large, rel=0.15)
    # for equal distributions the mean is ~0, not a positive small-sample bias
    assert abs(same_small) < 3 * same_std / math.sqrt(400) + 1e-9


def test_kid_clips_the_subset_size():
    g = torch.Generator().manual_seed(7)
    mean, std = metrics.kid(torch.randn(30, 5, generator=g), torch.randn(50, 5, generator=g), subset_size=1000)
    assert math.isfinite(mean) and math.isfinite(std)
    with pytest.raises(ValueError):
        metrics.kid(torch.randn(1, 5), torch.randn(50, 5))


def _grid(n: int = 10) -> torch.Tensor:
    i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    return torch.stack([i.flatten(), j.flatten()], 1).float()  # (n², 2), row-major: rows 0-4 come first


def test_precision_recall_on_hand_made_point_clouds():
    real = _grid()  # 10 x 10 unit grid
    fake = torch.cat([real[:50], real[:50] + 100])  # half on the top rows of the data, half far away
    precision, recall = metrics.precision_recall(real, fake, k=3)
    assert precision == pytest.approx(0.5)  # the far half is outside every real ball
    # fake balls have radius 1 (√2 at corners): rows 0-4 are fakes, row 5 is 1 away, row 6 is 2 away
    assert recall == pytest.approx(0.6)
    assert metrics.precision_recall(real, real, k=3) == (1.0, 1.0)
    p, r = metrics.precision_recall(real, real + 1000, k=3)
    assert p == 0.0 and r == 0.0


def test_density_and_coverage_on_hand_made_points():
    real = torch.arange(10.0).unsqueeze(1)  # 0..9 on a line; k=2 radii: 1 inside, 2 at both ends
    fake = torch.tensor([[4.5], [0.5], [-1.5], [100.0]])
    # 4.5 is in the balls of 4 and 5; 0.5 in those of 0 and 1; -1.5 in that of 0 (radius 2); 100 in none
    density, coverage = metrics.density_coverage(real, fake, k=2)
    assert density == pytest.approx(5 / (2 * 4))
    assert coverage == pytest.approx(4 / 10)
    precision, _ = metrics.precision_recall(real, fake, k=2)
    assert precision == pytest.approx(3 / 4)


def test_mode_coverage_is_still_there():
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    samples = torch.cat([torch.zeros(50, 2), torch.full((50, 2), 50.0)])
    cov = metrics.mode_coverage(samples, centers, std=0.1)
    assert cov.modes == 1 and cov.high_quality == pytest.approx(0.5)

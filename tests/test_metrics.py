import torch

from course_lib import data
from course_lib.metrics import mode_coverage


def test_all_modes_recovered_from_the_true_distribution():
    ring = data.ring(std=0.02)
    cov = mode_coverage(ring.sample(8000, torch.Generator().manual_seed(0)), ring.centers, ring.std)
    assert cov.modes == 8 and cov.total == 8
    assert cov.high_quality > 0.98  # 3 sigma in 2-D holds 98.9 % of a Gaussian's mass
    assert int(cov.counts.sum()) == round(cov.high_quality * 8000)


def test_one_mode_when_collapsed():
    grid = data.grid(std=0.05)
    collapsed = grid.centers[7] + 0.05 * torch.randn(1000, 2, generator=torch.Generator().manual_seed(1))
    cov = mode_coverage(collapsed, grid.centers, grid.std)
    assert cov.modes == 1 and cov.total == 25
    assert cov.counts[7] == cov.counts.sum()


def test_no_mode_and_no_quality_far_from_the_data():
    ring = data.ring()
    cov = mode_coverage(torch.full((500, 2), 10.0), ring.centers, ring.std)
    assert cov.modes == 0 and cov.high_quality == 0.0


def test_stray_samples_do_not_count_as_a_mode():
    ring = data.ring(std=0.02)
    samples = torch.cat([ring.centers[0].expand(995, 2), ring.centers[1].expand(5, 2)])  # 0.5 % on mode 1
    cov = mode_coverage(samples, ring.centers, ring.std)
    assert cov.modes == 1  # mode 1 holds 5 samples, under a fifth of its fair share (1000 / 8 / 5 = 25)
    assert cov.high_quality == 1.0

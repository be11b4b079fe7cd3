"""NIQE (chapter 10's no-reference realism measure): the distribution fits recover known shapes, and the score
ranks blurred and noisy images below pristine ones of the kind the natural model was fitted on."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_lib import image_metrics as im


def ggd_samples(alpha: float, n: int, g: torch.Generator, scale: float = 1.0) -> torch.Tensor:
    """Generalised Gaussian samples: |x| = scale * G^(1/alpha), G ~ Gamma(1/alpha), random sign."""
    gam = torch.distributions.Gamma(torch.tensor(1 / alpha, dtype=torch.float64), 1.0)
    torch.manual_seed(int(torch.randint(1 << 30, (1,), generator=g)))
    mag = gam.sample((n,)) ** (1 / alpha)
    sign = torch.where(torch.rand(n, generator=g, dtype=torch.float64) < 0.5, -1.0, 1.0)
    return scale * sign * mag


@pytest.mark.parametrize("alpha", [0.8, 1.0, 2.0, 3.0])
def test_ggd_fit_recovers_the_shape(alpha):
    v = ggd_samples(alpha, 200_000, torch.Generator().manual_seed(0))[None]  # (1, n)
    a, var = im._ggd_fit(v)
    assert a.item() == pytest.approx(alpha, rel=0.05)
    assert var.item() == pytest.approx(v.square().mean().item())


def test_aggd_fit_recovers_the_two_sides():
    g = torch.Generator().manual_seed(1)
    v = ggd_samples(1.5, 200_000, g).abs()
    # an AGGD's mass on each side is proportional to that side's scale: 0.5 left, 2.0 right -> 20 % / 80 %
    v = torch.cat([-0.5 * v[:40_000], 2.0 * v[40_000:]])[None]
    alpha, mean, lvar, rvar = im._aggd_fit(v)[0]
    assert alpha.item() == pytest.approx(1.5, rel=0.1)
    assert (rvar / lvar).item() == pytest.approx(16.0, rel=0.05)
    assert mean.item() > 0  # mass pushed to the right


def test_mscn_of_a_constant_image_is_zero():
    m, sigma = im.mscn(torch.full((1, 1, 32, 32), 100.0, dtype=torch.float64))
    assert m.abs().max() < 1e-6 and sigma.abs().max() < 1e-4


def pink_noise(n: int, size: int, seed: int) -> torch.Tensor:
    """Images with a 1/f amplitude spectrum, the best-known statistic of natural images: (n, 3, size, size)."""
    g = torch.Generator().manual_seed(seed)
    f = torch.fft.fftfreq(size).abs()
    radius = torch.sqrt(f[:, None] ** 2 + f[None, :] ** 2).clamp_min(1 / size)
    spec = torch.randn(n, 1, size, size, generator=g, dtype=torch.complex64) / radius
    x = torch.fft.ifft2(spec).real
    x = (x - x.mean((-2, -1), keepdim=True)) / x.std((-2, -1), keepdim=True)
    return (0.5 + 0.15 * x).clamp(0, 1).expand(-1, 3, -1, -1).double()  # grey, as RGB in [0, 1]


def test_niqe_ranks_blur_and_noise_below_pristine_images():
    model = im.niqe_model(list(pink_noise(8, 192, seed=0)), patch=48)
    test = list(pink_noise(3, 192, seed=1))
    blurred = [F.avg_pool2d(F.interpolate(t[None], scale_factor=0.25, mode="bilinear"), 1)[0] for t in test]
    blurred = [F.interpolate(b[None], size=(192, 192), mode="bicubic", align_corners=False)[0].clamp(0, 1)
               for b in blurred]
    noisy = [(t + 0.1 * torch.randn(t.shape, generator=torch.Generator().manual_seed(2), dtype=t.dtype)).clamp(0, 1)
             for t in test]
    q_pristine, q_blur, q_noise = im.niqe(test, model), im.niqe(blurred, model), im.niqe(noisy, model)
    assert q_pristine < q_blur and q_pristine < q_noise
    assert q_pristine == pytest.approx(im.niqe(test, model))  # deterministic


def test_niqe_rejects_images_smaller_than_a_patch():
    model = im.niqe_model(list(pink_noise(2, 96, seed=0)), patch=48)
    with pytest.raises(ValueError, match="at least 48 x 48"):
        im.niqe(torch.rand(3, 40, 40, dtype=torch.float64), model)


def test_grid_pattern_sees_a_periodic_error_and_not_image_content():
    g = torch.Generator().manual_seed(0)
    hr = torch.rand(2, 3, 64, 64, generator=g)
    noisy = (hr + 0.02 * torch.randn(hr.shape, generator=g)).clamp(0, 1)  # an error with no period
    grid = hr.clone()
    grid[..., ::4, ::4] += 0.02  # one pixel in every 4 x 4 block brighter
    assert (im.grid_pattern(noisy, hr) < 0.5).all()
    assert (im.grid_pattern(grid, hr) > 1.0).all()
    assert torch.allclose(im.grid_pattern(hr, hr), torch.zeros(2))

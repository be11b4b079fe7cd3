"""SRGAN chapter: PSNR / SSIM on Y with the border cropped, sub-pixel shapes, losses, the two steps, SR data,
and the chapter 10 checks (pass on solutions, fail on wrong answers and stubs)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import data, image_metrics, sr_data
from course_lib.checks import ch10
from course_lib.course.exercises import ExerciseNotDone
from course_lib.models import srgan



def test_psnr_hand_computed_and_properties():
    x = torch.rand(2, 1, 16, 16)
    assert torch.isinf(image_metrics.psnr(x, x)).all()
    torch.testing.assert_close(image_metrics.psnr(x, x + 0.1), torch.full((2,), 20.0), atol=1e-4, rtol=0)
    y = x.clone()
    y[0, 0, 3, 4] += 0.5  # MSE = 0.25 / 256 in image 0
    assert image_metrics.psnr(x[:1], y[:1]).item() == pytest.approx(10 * math.log10(256 / 0.25), abs=1e-4)


def test_ssim_properties():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, 24, 24, generator=g)
    torch.testing.assert_close(image_metrics.ssim(x, x), torch.ones(2))
    # a constant shift changes only the luminance term: l = (2 mu (mu + c) + C1) / (mu² + (mu + c)² + C1) < 1
    s = image_metrics.ssim(x, x + 0.2)
    assert (s < 1).all() and (s > 0.8).all()
    noisy = (x + 0.3 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    assert (image_metrics.ssim(x, noisy) < s).all()
    # hand-computed on constant images (zero variance): SSIM = (2 a b + C1) / (a² + b² + C1)
    a, b, c1 = 0.4, 0.6, 0.01 ** 2
    got = image_metrics.ssim(torch.full((1, 1, 11, 11), a), torch.full((1, 1, 11, 11), b))
    assert got.item() == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-5)


def test_crop_border_and_y_channel_quality():
    x = torch.arange(2 * 3 * 10 * 12, dtype=torch.float32).reshape(2, 3, 10, 12)
    c = image_metrics.crop_border(x, 2)
    assert c.shape == (2, 3, 6, 8) and torch.equal(c[..., 0, 0], x[..., 2, 2])
    assert image_metrics.crop_border(x, 0) is x
    hr = torch.rand(1, 3, 20, 20)
    sr = hr.clone()
    sr[..., :2, :] = 0  # damage only the 2-pixel border: invisible after a crop of 4
    p, s = image_metrics.sr_quality(sr, hr, border=4)
    assert torch.isinf(p).all() and s.item() == pytest.approx(1.0)
    # grey images: Y = (16 + 219 v) / 255, so a shift dv in RGB is 219/255 dv in Y
    p, _ = image_metrics.sr_quality(torch.full((1, 3, 20, 20), 0.5), torch.full((1, 3, 20, 20), 0.6), border=4)
    assert p.item() == pytest.approx(-20 * math.log10(0.1 * 219 / 255), abs=1e-3)


def test_pixel_shuffle_shapes_in_srresnet():
    G = srgan.SRResNet(width=8, n_blocks=2, scale=4)
    lr = torch.randn(2, 3, 6, 7)
    assert G(lr).shape == (2, 3, 24, 28)
    up = G.up[0]
    assert up.conv(torch.randn(1, 8, 6, 7)).shape == (1, 32, 6, 7)
    assert up(torch.randn(1, 8, 6, 7)).shape == (1, 8, 12, 14)
    assert srgan.SRResNet(width=8, n_blocks=1, scale=2)(lr).shape == (2, 3, 12, 14)
    with pytest.raises(ValueError):
        srgan.SRResNet(scale=3)


def test_icnr_makes_each_subpixel_convolution_nearest_neighbour_upsampling_at_init():
    torch.manual_seed(0)
    up = srgan.UpsampleBlock(8)
    h = torch.randn(2, 8, 5, 6)
    out = up.shuffle(up.conv(h))  # (2, 8, 10, 12)
    torch.testing.assert_close(out, F.interpolate(out[..., ::2, ::2], scale_factor=2))  # equal 2x2 blocks
    plain = srgan.UpsampleBlock(8, icnr=False)
    out = plain.shuffle(plain.conv(h))
    assert not torch.allclose(out, F.interpolate(out[..., ::2, ::2], scale_factor=2))  # a checkerboard at init


def test_niqe_natural_model_is_fitted_once_and_cached(tmp_path, monkeypatch):
    try:
        sr_data.load_hr_images("set5")
    except data.DataMissingError:
        pytest.skip("Set5 not present under the data root")
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    model = sr_data.niqe_natural_model("set5", patch=64)
    assert model["mu"].shape == (36,) and model["cov"].shape == (36, 36)
    assert (tmp_path / "features" / "niqe-set5-p64.pt").exists()
    again = sr_data.niqe_natural_model("set5", patch=64)
    torch.testing.assert_close(again["cov"], model["cov"])


def test_bicubic_skip_means_zero_residual_gives_bicubic():
    G = srgan.SRResNet(width=8, n_blocks=1, scale=4)
    nn.init.zeros_(G.tail.weight), nn.init.zeros_(G.tail.bias)
    lr = torch.rand(1, 3, 8, 8) * 2 - 1
    torch.testing.assert_close(G(lr), sr_data.upsample_bicubic(lr, 4))


def test_discriminator_any_size():
    D = srgan.Discriminator(width=4)
    assert D(torch.randn(3, 3, 48, 48)).shape == (3, 1)
    assert D(torch.randn(2, 3, 96, 64)).shape == (2, 1)


def test_losses_on_known_inputs():
    hr, sr = torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.5)
    assert srgan.content_loss(sr, hr).item() == pytest.approx(0.25)
    phi = nn.Identity()
    assert srgan.relative_perceptual_loss(phi, hr + 2, hr + 1).item() == pytest.approx(1.0)  # (2-1)² / 1²
    assert srgan.relative_perceptual_loss(phi, hr + 1, hr + 1).item() == 0.0


def test_srgan_step_moves_each_player_with_its_own_optimizer():
    torch.manual_seed(0)
    G, D = srgan.SRResNet(width=8, n_blocks=1), srgan.Discriminator(width=4)
    phi = srgan.RotationNet(width=4).eval().requires_grad_(False)
    opt_G, opt_D = torch.optim.SGD(G.parameters(), lr=0.1), torch.optim.SGD(D.parameters(), lr=0.1)
    hr = torch.rand(4, 3, 16, 16) * 2 - 1
    lr = sr_data.downsample(hr, 4)
    g0 = [p.clone() for p in G.parameters()]
    d0 = [p.clone() for p in D.parameters()]
    phi0 = [p.clone() for p in phi.parameters()]
    stats = srgan.srgan_step(G, D, phi, opt_G, opt_D, lr, hr)
    assert set(stats) == {"loss_D", "loss_G", "mse", "perc", "adv"}
    assert any(not torch.equal(a, b) for a, b in zip(g0, G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, D.parameters()))  # D's own optimizer moved it
    assert all(torch.equal(a, b) for a, b in zip(phi0, phi.parameters()))  # the feature network is fixed
    # D's step alone must not touch G: run D's half by hand with the same detach
    g1 = [p.clone() for p in G.parameters()]
    from course_lib import losses
    loss_D = losses.d_loss(D(hr), D(G(lr).detach()))
    opt_D.zero_grad(), loss_D.backward(), opt_D.step()
    assert all(p.grad is None or torch.equal(a, p) for a, p in zip(g1, G.parameters()))


def test_pretrain_lowers_mse():
    torch.manual_seed(0)
    G = srgan.SRResNet(width=8, n_blocks=1)
    opt = torch.optim.Adam(G.parameters(), lr=1e-3)
    hr = torch.rand(4, 3, 16, 16) * 2 - 1
    lr = sr_data.downsample(hr, 4)
    first = srgan.pretrain_step(G, opt, lr, hr)["mse"]
    for _ in range(30):
        last = srgan.pretrain_step(G, opt, lr, hr)["mse"]
    assert last < first


def test_rotations_labels():
    x = torch.arange(4.0).reshape(1, 1, 2, 2)
    xs, k = srgan.rotations(x)
    assert k.tolist() == [0, 1, 2, 3]
    torch.testing.assert_close(xs[1:2], torch.rot90(x, 1, dims=(-2, -1)))


def test_sr_data_modcrop_downsample_crops():
    img = torch.rand(3, 50, 43) * 2 - 1
    hr = sr_data.modcrop(img, 4)[None]
    assert hr.shape == (1, 3, 48, 40)
    assert sr_data.downsample(hr, 4).shape == (1, 3, 12, 10)
    with pytest.raises(ValueError):
        sr_data.downsample(img[None], 4)
    flat = torch.full((1, 3, 16, 16), 0.3)  # a constant image stays constant through bicubic resampling
    torch.testing.assert_close(sr_data.upsample_bicubic(sr_data.downsample(flat, 4), 4), flat)
    c = sr_data.random_crops([img, img[:, :20, :20]], 10, 24, seed=0)
    assert c.shape == (10, 3, 24, 24)
    torch.testing.assert_close(c, sr_data.random_crops([img, img[:, :20, :20]], 10, 24, seed=0))


def test_missing_set_raises_a_clear_error(tmp_path):
    with pytest.raises(data.DataMissingError, match="CSet5"):
        sr_data.load_hr_images("set5", root=tmp_path)


def test_bicubic_baseline_on_set5_matches_the_literature():
    try:
        set5 = sr_data.load_hr_images("set5")
    except data.DataMissingError:
        pytest.skip("Set5 not present under the data root")
    r = srgan.evaluate({"bicubic": lambda lr: sr_data.upsample_bicubic(lr, 4)}, set5, 4)["bicubic"]
    assert r["psnr"].mean().item() == pytest.approx(28.42, abs=0.1)  # the published x4 bicubic PSNR (Y)


def _psnr_solution(x, y):
    return 10 * torch.log10(1.0 / (x - y).double().square().flatten(1).mean(1))


def _pixel_shuffle_solution(x, r):
    B, C, h, w = x.shape
    c = C // (r * r)
    return x.reshape(B, c, r, r, h, w).permute(0, 1, 4, 2, 5, 3).reshape(B, c, h * r, w * r)


def stub(*args):
    raise NotImplementedError


def test_psnr_check():
    ch10.psnr(_psnr_solution)
    ch10.psnr(image_metrics.psnr)
    with pytest.raises(ExerciseNotDone):
        ch10.psnr(stub)
    for wrong in (lambda x, y: 10 * torch.log10(1.0 / (x - y).double().square().flatten(1).mean(1).sqrt()),
                  lambda x, y: 10 * torch.log10(1.0 / (x - y).double().square().mean()).expand(len(x)),
                  lambda x, y: 20 * torch.log10(1.0 / (x - y).double().square().flatten(1).mean(1))):
        with pytest.raises(AssertionError):
            ch10.psnr(wrong)


def test_pixel_shuffle_check():
    ch10.pixel_shuffle(_pixel_shuffle_solution)
    with pytest.raises(ExerciseNotDone):
        ch10.pixel_shuffle(stub)
    swapped = lambda x, r: _pixel_shuffle_solution(x, r).transpose(-1, -2).reshape(x.shape[0], -1, x.shape[2] * r, x.shape[3] * r)  # noqa: E731
    for wrong in (swapped,
                  lambda x, r: x.reshape(x.shape[0], -1, x.shape[2] * r, x.shape[3] * r),  # a plain reshape
                  lambda x, r: _pixel_shuffle_solution(x, 2)):  # r ignored (fails, or cannot even reshape)
        with pytest.raises((AssertionError, RuntimeError)):
            ch10.pixel_shuffle(wrong)

"""U-Net skips, PatchGAN receptive field, the Pix2Pix step, paired data and PSNR / SSIM (chapter 09)."""

import math

import pytest
import torch
import torch.nn.functional as F

from course_lib import data, image_metrics, paired
from course_lib.models import pix2pix


@pytest.mark.parametrize("depth,sizes", [(3, [8, 16, 24, 40]), (5, [32, 64, 96]), (8, [256])])
def test_unet_output_size_equals_input_size(depth, sizes):
    G = pix2pix.UNet(in_channels=2, out_channels=3, depth=depth, width=4)
    for s in sizes:
        assert G(torch.zeros(2, 2, s, s)).shape == (2, 3, s, s)
    assert G(torch.zeros(1, 2, sizes[0], 2 * sizes[0])).shape[-2:] == (sizes[0], 2 * sizes[0])


@pytest.mark.parametrize("bad", [28, 30, 100])
def test_unet_rejects_sizes_it_cannot_halve_with_a_clear_error(bad):
    G = pix2pix.UNet(in_channels=1, out_channels=1, depth=5, width=4)
    with pytest.raises(pix2pix.SizeError, match=r"multiples of 2\*\*5 = 32; got"):
        G(torch.zeros(1, 1, bad, 32))


def test_unet_skips_change_the_architecture_and_carry_detail():
    torch.manual_seed(0)
    unet = pix2pix.UNet(in_channels=1, out_channels=1, depth=4, width=4, dropout=0.0)
    encdec = pix2pix.UNet(in_channels=1, out_channels=1, depth=4, width=4, skips=False, dropout=0.0)
    assert sum(p.numel() for p in unet.parameters()) > sum(p.numel() for p in encdec.parameters())
    # through the skips, an output pixel depends on input pixels a bottleneck-only path mixes with everything;
    # the first decoder layer's input channels double where a skip is concatenated
    assert unet.up[1][1].in_channels == 2 * encdec.up[1][1].in_channels
    assert unet.up[3][1].in_channels == encdec.up[3][1].in_channels  # the innermost layer has no skip


def test_skips_carry_information_around_the_bottleneck():
    """Decoding from the bottleneck alone (every skip zeroed) reproduces the encoder-decoder, not the U-Net."""
    torch.manual_seed(0)
    for skips in (False, True):
        G = pix2pix.UNet(in_channels=1, out_channels=1, depth=3, width=4, skips=skips, dropout=0.0).eval()
        x = torch.randn(2, 1, 8, 8)
        feats, h = [], x
        for down in G.down:
            h = down(h)
            feats.append(h)
        h = G.up[2](feats[2])
        h = G.up[1](torch.cat([h, 0 * feats[1]], 1) if skips else h)
        out = G.up[0](torch.cat([h, 0 * feats[0]], 1) if skips else h)
        assert torch.allclose(out, G(x), atol=1e-6) == (not skips)


def test_patchgan_receptive_field_is_70_for_the_standard_configuration():
    D = pix2pix.PatchGAN(in_channels=6, n_layers=3)
    assert pix2pix.receptive_field(D) == 70
    assert pix2pix.receptive_field_measured(D, x_channels=3, size=256) == 70
    assert D(torch.zeros(1, 3, 256, 256), torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)


@pytest.mark.parametrize("n_layers,rf", [(1, 16), (2, 34), (3, 70)])
def test_receptive_field_formula_matches_measurement(n_layers, rf):
    D = pix2pix.PatchGAN(in_channels=2, width=4, n_layers=n_layers)
    assert pix2pix.receptive_field(D) == rf == pix2pix.receptive_field_measured(D, x_channels=1, size=160)


def test_receptive_field_hand_cases():
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3), torch.nn.ReLU(), torch.nn.Conv2d(1, 1, 3))
    assert pix2pix.receptive_field(net) == 5
    assert pix2pix.receptive_field(torch.nn.Conv2d(1, 1, 3, dilation=2)) == 5
    assert pix2pix.receptive_field(torch.nn.Sequential(torch.nn.Conv2d(1, 1, 2, 2), torch.nn.Conv2d(1, 1, 2, 2))) == 4


def test_pix2pix_step_losses_and_ablation_modes():
    torch.manual_seed(0)
    x, y = torch.rand(4, 1, 16, 16) * 2 - 1, torch.rand(4, 1, 16, 16) * 2 - 1
    G = pix2pix.UNet(in_channels=1, out_channels=1, depth=4, width=4, dropout=0.0)
    D = pix2pix.PatchGAN(in_channels=2, width=4, n_layers=1)
    opt_G, opt_D = pix2pix.optimizers(G, D)
    with torch.no_grad():
        l1_before = (G(x) - y).abs().mean()
    stats = pix2pix.pix2pix_step(G, D, opt_G, opt_D, x, y, lam=100.0)
    torch.testing.assert_close(stats["L1"], l1_before)
    torch.testing.assert_close(stats["loss_G"], stats["loss_G_gan"] + 100.0 * stats["L1"])
    # L1 only: no discriminator, the adversarial term is zero
    stats = pix2pix.pix2pix_step(G, None, opt_G, None, x, y, lam=1.0)
    assert float(stats["loss_G_gan"]) == 0.0 and "loss_D" not in stats
    # D's loss is half the cross-entropy of the patch logits
    r, f = torch.randn(2, 1, 3, 3), torch.randn(2, 1, 3, 3)
    torch.testing.assert_close(pix2pix.d_loss_pix2pix(r, f),
                               0.5 * (F.softplus(-r).mean() + F.softplus(f).mean()))


def test_l1_only_training_reduces_l1():
    torch.manual_seed(0)
    x = torch.rand(8, 1, 16, 16) * 2 - 1
    y = -x  # an easy deterministic mapping
    G = pix2pix.UNet(in_channels=1, out_channels=1, depth=4, width=8, dropout=0.0)
    opt_G, _ = pix2pix.optimizers(G, None, lr=1e-3)
    first = pix2pix.pix2pix_step(G, None, opt_G, None, x, y)["L1"]
    for _ in range(30):
        last = pix2pix.pix2pix_step(G, None, opt_G, None, x, y)["L1"]
    assert last < 0.5 * first


# ----------------------------------------------------------------------------------------------------------
# paired data
# ----------------------------------------------------------------------------------------------------------


def test_sobel_edges_are_binary_deterministic_and_on_the_step():
    img = -torch.ones(1, 1, 8, 8)
    img[..., :, 4:] = 1.0  # a vertical step between columns 3 and 4
    e = paired.sobel_edges(img)
    assert set(e.unique().tolist()) <= {-1.0, 1.0}
    cols = (e[0, 0] > 0).any(0).nonzero().flatten().tolist()
    assert cols == [3, 4]  # only the two columns beside the step
    assert (paired.sobel_edges(-torch.ones(1, 1, 8, 8)) == -1).all()  # a flat image has no edges
    torch.testing.assert_close(paired.sobel_edges(img), e)


def test_pad_and_crop_round_trip():
    x = torch.randn(3, 1, 28, 28)
    p = paired.pad_to(x, 32)
    assert p.shape == (3, 1, 32, 32) and (p[..., :2, :] == -1).all()
    torch.testing.assert_close(paired.crop_to(p, 28), x)


def test_edges_to_image_pairs_from_real_data():
    x, y = paired.edges_to_image("fashion-mnist", train=False, n=16)
    assert x.shape == y.shape == (16, 1, 32, 32)
    assert y.min() >= -1 and y.max() <= 1
    torch.testing.assert_close(x, paired.sobel_edges(y))
    x2, y2 = paired.edges_to_image("fashion-mnist", train=False, n=16)
    torch.testing.assert_close(y, y2)  # the same subset every call


def test_side_by_side_pairs_load_and_split():
    files = paired.pair_files("facades")
    assert len(files) >= 10 and files[0].name == "1.jpg"
    x, y = paired.load_side_by_side("facades", size=32, n=5)
    assert x.shape == y.shape == (5, 3, 32, 32)
    assert x.min() >= -1 and x.max() <= 1 and not torch.allclose(x, y)


def test_split_pair_takes_the_right_half_as_input():
    img = torch.zeros(3, 4, 8, dtype=torch.uint8)
    img[:, :, 4:] = 255  # right half white
    x, y = paired.split_pair(img, size=4)
    assert torch.allclose(x, torch.ones_like(x)) and torch.allclose(y, -torch.ones_like(y))


def test_missing_pairs_raise_a_clear_error(tmp_path):
    with pytest.raises(data.DataMissingError, match="facades.tar.gz") as e:
        paired.load_side_by_side("facades", root=tmp_path)
    assert str(tmp_path / "facades" / "train") in str(e.value)


# ----------------------------------------------------------------------------------------------------------
# PSNR / SSIM
# ----------------------------------------------------------------------------------------------------------


def test_psnr_known_values():
    x = torch.zeros(2, 1, 4, 4)
    y = x.clone()
    y[0] += 0.1  # MSE 0.01 -> 20 dB
    y[1, 0, 0, 0] = 1.0  # MSE 1/16 -> 10 log10(16)
    torch.testing.assert_close(image_metrics.psnr(y, x), torch.tensor([20.0, 10 * math.log10(16)]))
    assert torch.isinf(image_metrics.psnr(x, x)).all()


def _ssim_reference(x, y, k=11, sigma=1.5, c1=0.01 ** 2, c2=0.03 ** 2):
    """SSIM window by window, written from the paper's definitions."""
    w = image_metrics.gaussian_window(k, sigma)
    H, W = x.shape
    vals = []
    for i in range(H - k + 1):
        for j in range(W - k + 1):
            a, b = x[i:i + k, j:j + k].double(), y[i:i + k, j:j + k].double()
            ma, mb = (w * a).sum(), (w * b).sum()
            va, vb = (w * (a - ma) ** 2).sum(), (w * (b - mb) ** 2).sum()
            cov = (w * (a - ma) * (b - mb)).sum()
            vals.append(((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
    return torch.stack(vals).mean()


def test_ssim_matches_a_window_by_window_reference():
    torch.manual_seed(0)
    x = torch.rand(1, 1, 14, 13)
    y = (x + 0.2 * torch.randn_like(x)).clamp(0, 1)
    got = image_metrics.ssim(x, y)
    assert abs(float(got[0]) - float(_ssim_reference(x[0, 0], y[0, 0]))) < 1e-5
    torch.testing.assert_close(image_metrics.ssim(x, x), torch.ones(1))
    assert float(image_metrics.ssim(x, 1 - x)[0]) < 0  # anti-correlated structure
    with pytest.raises(ValueError, match="at least"):
        image_metrics.ssim(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8))


def test_rgb_to_y_bt601():
    white, black = torch.ones(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)
    torch.testing.assert_close(image_metrics.rgb_to_y(white), torch.full((1, 1, 2, 2), 235 / 255))
    torch.testing.assert_close(image_metrics.rgb_to_y(black), torch.full((1, 1, 2, 2), 16 / 255))


@pytest.mark.parametrize("test_batch_stats", [False, True])
def test_translate_output_depends_on_its_own_input_only_and_leaves_G_unchanged(test_batch_stats):
    torch.manual_seed(0)
    G = pix2pix.UNet(in_channels=1, out_channels=1, depth=3, width=4, dropout=0.0)
    G(torch.randn(8, 1, 8, 8))  # some running statistics
    before = {k: v.clone() for k, v in G.state_dict().items()}
    x = torch.randn(6, 1, 8, 8)
    others = torch.cat([x[:1], 5 * torch.randn(5, 1, 8, 8)])  # the same first image among other ones
    a = pix2pix.translate(G, x, batch_size=6, test_batch_stats=test_batch_stats)
    b = pix2pix.translate(G, others, batch_size=6, test_batch_stats=test_batch_stats)
    torch.testing.assert_close(a[0], b[0])
    for k, v in G.state_dict().items():
        torch.testing.assert_close(v, before[k])
    assert G.training


def test_translate_keeps_dropout_on():
    torch.manual_seed(0)
    G = pix2pix.UNet(in_channels=1, out_channels=1, depth=4, width=4, dropout=0.5).eval()
    x = torch.randn(2, 1, 16, 16)
    assert not torch.allclose(pix2pix.translate(G, x), pix2pix.translate(G, x))
    assert not G.training  # mode restored


def test_jitter_crops_and_mirrors_input_and_target_together():
    x = torch.linspace(-1, 1, 16).expand(2, 1, 16, 16).contiguous()  # a horizontal ramp
    xj, yj = paired.jitter(x, x.clone(), load_size=20, generator=torch.Generator().manual_seed(0))
    assert xj.shape == yj.shape == x.shape
    torch.testing.assert_close(xj, yj)  # the same window, the same flip
    flipped = [bool(xj[i, 0, 0, 0] > xj[i, 0, 0, -1]) for i in range(2)]
    xs = [paired.jitter(x[:1], x[:1], load_size=20, generator=torch.Generator().manual_seed(s))[0] for s in range(20)]
    assert len({round(float(t[0, 0, 0, 0]), 4) for t in xs}) > 2  # the crop and the flip vary with the seed
    assert isinstance(flipped[0], bool)


def test_lr_factor_constant_then_linear_to_zero():
    steps = 100
    assert [pix2pix.lr_factor(s, steps) for s in (0, 25, 49)] == [1.0, 1.0, 1.0]
    assert pix2pix.lr_factor(50, steps) == 1.0 and pix2pix.lr_factor(75, steps) == 0.5
    assert pix2pix.lr_factor(99, steps) == pytest.approx(0.02) and pix2pix.lr_factor(100, steps) == 0.0

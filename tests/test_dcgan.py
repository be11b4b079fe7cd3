"""DCGAN: the guidelines hold in the built networks; shapes for 28, 32 and 64 pixels; slerp."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_lib.models import dcgan


@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3), (64, 3)])
def test_shapes_and_output_range(size, channels):
    G, D = dcgan.build(z_dim=16, channels=channels, image_size=size, width=4)
    x = G(torch.randn(5, 16))
    assert x.shape == (5, channels, size, size)
    assert x.abs().max() <= 1  # Tanh
    assert D(x).shape == (5, 1)


def test_the_guidelines_hold():
    G, D = dcgan.build(width=4)
    layers = list(G.modules()) + list(D.modules())
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d, nn.Linear)) for m in layers)  # 1 and 3
    assert not any(isinstance(m, nn.LeakyReLU) for m in G.modules())  # 4: ReLU in G
    assert not any(isinstance(m, nn.ReLU) for m in D.modules())  # 5: LeakyReLU in D
    assert isinstance(G.net[-1], nn.Tanh) and not isinstance(G.net[-2], nn.BatchNorm2d)  # no BN on G's output
    assert isinstance(D.net[1], nn.LeakyReLU)  # no BN on D's input layer
    assert sum(isinstance(m, nn.BatchNorm2d) for m in layers) == 3
    G0, D0 = dcgan.build(width=4, batchnorm=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in list(G0.modules()) + list(D0.modules()))


def test_init_and_spectral_norm():
    G, D = dcgan.build(width=8)
    w = G.net[3].weight.detach()
    assert abs(float(w.std()) - 0.02) < 0.005 and abs(float(w.mean())) < 0.005
    _, D_sn = dcgan.build(width=8, spectral_norm=True)
    convs = [m for m in D_sn.modules() if isinstance(m, nn.Conv2d)]
    assert all(nn.utils.parametrize.is_parametrized(m) for m in convs)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D_sn.modules())
    D_sn.train()
    for _ in range(30):  # power iteration converges: the largest singular value of each reshaped weight -> 1
        D_sn(torch.randn(2, 1, 28, 28))
    sigma = torch.linalg.matrix_norm(convs[1].weight.detach().flatten(1), ord=2)
    assert float(sigma) == pytest.approx(1.0, rel=0.05)


def test_unsupported_size_is_a_clear_error():
    with pytest.raises(ValueError, match="28, 32, 64"):
        dcgan.Generator(image_size=30)


def test_slerp_endpoints_and_norm():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(64, generator=g), torch.randn(64, generator=g)
    path = dcgan.slerp(z0, z1, torch.linspace(0, 1, 5))
    torch.testing.assert_close(path[0], z0)
    torch.testing.assert_close(path[-1], z1)
    # equal norms at the ends stay equal along the arc (a straight line would dip in the middle)
    z1 = z1 / z1.norm() * z0.norm()
    norms = dcgan.slerp(z0, z1, torch.linspace(0, 1, 7)).norm(dim=1)
    torch.testing.assert_close(norms, torch.full((7,), float(z0.norm())))
    assert float(((z0 + z1) / 2).norm()) < 0.9 * float(z0.norm())

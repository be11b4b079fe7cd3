import math
from pathlib import Path

import pytest
import torch

from course_lib import data
from course_lib.paths import REPO_ROOT


def test_data_root_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_ROOT", str(tmp_path))
    assert data.data_root() == tmp_path.resolve()
    monkeypatch.delenv("COURSE_DATA_ROOT")
    assert data.data_root() == REPO_ROOT / "data"


def test_missing_dataset_is_one_clear_error(tmp_path):
    with pytest.raises(data.DataMissingError) as e:
        data.load_images("fashion-mnist", root=tmp_path)
    msg = str(e.value)
    assert "'fashion-mnist'" in msg
    assert str(tmp_path / "FashionMNIST") in msg  # where it looked
    assert "course data fetch fashion-mnist" in msg  # how to get it
    assert "COURSE_DATA_ROOT" in msg


def test_partial_dataset_names_the_missing_files(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte").write_bytes(b"")
    with pytest.raises(data.DataMissingError, match="raw/t10k-images-idx3-ubyte"):
        data.check_dataset("mnist", tmp_path)


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(KeyError, match="mnist"):
        data.load_images("imagenet-21k")


def test_mnist_loads_as_real_images_in_range():
    x, y = data.load_images("mnist", train=False, n=500)
    assert x.shape == (500, 1, 28, 28) and x.dtype == torch.float32
    assert x.min() == -1.0 and x.max() == 1.0
    assert set(y.tolist()) == set(range(10))
    # real digits, not noise: most pixels are background (-1), and the subset is the same every call
    assert (x == -1).float().mean() > 0.7
    x2, _ = data.load_images("mnist", train=False, n=500)
    assert torch.equal(x, x2)


def test_fetch_failure_says_what_to_place_where(tmp_path, monkeypatch):
    import torchvision

    class Offline(torchvision.datasets.MNIST):
        def __init__(self, *a, **k):
            raise OSError("network unreachable")

    monkeypatch.setattr(torchvision.datasets, "MNIST", Offline)
    with pytest.raises(data.DataMissingError) as e:
        data.fetch("mnist", root=tmp_path)
    msg = str(e.value)
    assert str(tmp_path / "MNIST" / "raw") in msg and "train-images-idx3-ubyte.gz" in msg


def test_batches_cover_an_epoch_and_resume_exactly():
    x = torch.arange(10).float()
    b = data.Batches(x, batch_size=5, seed=0)
    epoch = torch.cat([next(b), next(b)])
    assert sorted(epoch.tolist()) == list(range(10))  # each item once per epoch
    state = b.state_dict()
    ahead = [next(b) for _ in range(3)]
    b2 = data.Batches(x, batch_size=5, seed=123)
    b2.load_state_dict(state)
    for want in ahead:
        assert torch.equal(next(b2), want)
    with pytest.raises(ValueError):
        data.Batches(x, batch_size=11)


def test_toy_mixtures():
    ring = data.ring(modes=8, radius=2.0)
    assert torch.allclose(ring.centers.norm(dim=1), torch.full((8,), 2.0))
    grid = data.grid(side=5, spacing=2.0)
    assert grid.centers.shape == (25, 2) and grid.centers.min() == -4 and grid.centers.max() == 4
    s = grid.sample(20_000, torch.Generator().manual_seed(0))
    assert torch.allclose(s.mean(0), torch.zeros(2), atol=0.05)
    # 1-D density integrates to one and matches the closed form at a centre
    m = data.mixture_1d((-2.0, 2.0), std=0.5)
    xs = torch.linspace(-8, 8, 20_001).unsqueeze(1)
    assert math.isclose(torch.trapezoid(m.pdf(xs), xs[:, 0]).item(), 1.0, rel_tol=1e-4)
    peak = 0.5 / (0.5 * math.sqrt(2 * math.pi))  # the other component adds ~1e-14 at x = 2
    assert math.isclose(m.pdf(torch.tensor([[2.0]])).item(), peak, rel_tol=1e-6)


def test_weights_are_optional_but_required_ones_fail_clearly(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    assert data.find_weights("vgg19") is None
    with pytest.raises(data.DataMissingError, match="vgg19-dcbb9e9d.pth"):
        data.require_weights("vgg19")
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "vgg19-dcbb9e9d.pth").write_bytes(b"x")
    assert data.find_weights("vgg19") == Path(tmp_path / "weights" / "vgg19-dcbb9e9d.pth")

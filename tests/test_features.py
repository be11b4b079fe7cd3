"""Feature networks: the course classifier (trained, cached, reloaded) and the FID Inception loader."""

from __future__ import annotations

import pytest
import torch

from course_lib import data, features


def test_classifier_trains_caches_reloads_and_leaves_the_rng_alone(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))  # an empty cache, whatever the notebooks trained before
    torch.manual_seed(123)
    net = features.course_classifier("mnist", steps=30, device="cpu")
    after = torch.rand(3)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(3), after), "training the classifier must not move the caller's RNG stream"
    out = capsys.readouterr().out
    assert "trained" in out and "test accuracy" in out
    assert 0.2 < net.test_accuracy <= 1.0  # 30 steps: far from perfect, far above chance (0.1)
    assert features.classifier_path("mnist", 30).exists()

    again = features.course_classifier("mnist", steps=30, device="cpu")
    assert "loaded" in capsys.readouterr().out
    assert again.test_accuracy == net.test_accuracy
    x, _ = data.load_images("mnist", train=False, n=8)
    torch.testing.assert_close(features.extract_features(again, x), features.extract_features(net, x))


def test_extract_features_is_batch_invariant_and_on_cpu():
    net = features.CourseClassifier(channels=1)
    x = torch.rand(10, 1, 28, 28) * 2 - 1
    a, b = features.extract_features(net, x, batch_size=3), features.extract_features(net, x, batch_size=256)
    assert a.shape == (10, 128) and a.device.type == "cpu"
    torch.testing.assert_close(a, b)
    assert net.training  # its mode is restored


def test_names_say_which_network():
    net = features.CourseClassifier(channels=1)
    assert features.fd_name(net) == "FD (course classifier)"
    assert features.kid_name(net) == "KID (course classifier)"
    feats = torch.randn(50, 4)
    s = features.score(net, feats, feats + 1, kid_subset=40, verbose=False)
    assert s["fd"] == pytest.approx(4.0, rel=1e-5) and s["kid"] > 0


def test_inception_missing_weights_raise_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_ROOT", str(tmp_path))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(data.DataMissingError, match="inception-fid"):
        features.inception(device="cpu")
    # the fallback is the course classifier, never silently Inception
    monkeypatch.setattr(features, "course_classifier", lambda dataset, device=None: "classifier")
    assert features.feature_network("mnist") == "classifier"


def test_inception_loads_a_weights_file_and_gives_pool3_features(tmp_path, monkeypatch):
    """The loading path with a stand-in file of the right architecture (the real weights are not on the test
    machines): 2048-d pool3 features for grayscale 28x28 images and colour 32x32 ones."""
    monkeypatch.setenv("COURSE_DATA_ROOT", str(tmp_path))
    arch = features.fid_inception_architecture()
    (tmp_path / "weights").mkdir()
    torch.save(arch.state_dict(), tmp_path / "weights" / data.WEIGHTS["inception-fid"][0])
    net = features.inception(device="cpu")
    assert features.fd_name(net) == "FID (Inception)"
    f1 = features.extract_features(net, torch.rand(2, 1, 28, 28) * 2 - 1)
    f3 = features.extract_features(net, torch.rand(1, 3, 32, 32) * 2 - 1)
    assert f1.shape == (2, 2048) and f3.shape == (1, 2048) and torch.isfinite(f1).all()

"""Feature networks for the sample-quality metrics (course_lib.metrics).

Two networks, never mixed and never compared:

    Inception -- Inception-v3 with the standard FID weights (pool3, 2048-d). Used when the weights file is
                 present (or downloaded where the network allows). Numbers: "FID (Inception)", "KID (Inception)".
    course classifier -- a small CNN the course trains on the dataset's training set and caches under
                 runs/classifiers/. Numbers: "FD (course classifier)", "KID (course classifier)".

A Fréchet distance is only as meaningful as the features: Inception features make it comparable with papers;
a classifier trained on MNIST is the right lens for MNIST digits, but its values have their own scale.
Both modules take images in [-1, 1], shape (N, C, H, W), and expose `.features(x) -> (N, F)`.

Dimension key: N images, C channels, H/W height/width, F feature size, K classes.
"""

from __future__ import annotations

import sys

import torch
import torch.nn.functional as F
from torch import nn

from . import data
from .checkpoint import load_checkpoint, save_checkpoint
from .scale import get_scale

# ----------------------------------------------------------------------------------------------------------
# The course classifier
# ----------------------------------------------------------------------------------------------------------


class CourseClassifier(nn.Module):
    """Three small convolutions (two strided), pooling to 4×4 and a 128-d feature layer, then K logits.
    Small on purpose: it trains in a minute on a laptop CPU and reaches ~98% on MNIST."""

    label = "course classifier"

    def __init__(self, *, channels: int, n_classes: int = 10, width: int = 16, feat_dim: int = 128):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(channels, w, 3, 1, 1), nn.ReLU(),  # (N, w, H, W)
            nn.Conv2d(w, 2 * w, 3, 2, 1), nn.ReLU(),  # (N, 2w, H/2, W/2)
            nn.Conv2d(2 * w, 4 * w, 3, 2, 1), nn.ReLU(),  # (N, 4w, H/4, W/4)
            nn.AdaptiveAvgPool2d(4), nn.Flatten(),  # (N, 4w·16)
            nn.Linear(4 * w * 16, feat_dim), nn.ReLU(),  # (N, F)
        )
        self.head = nn.Linear(feat_dim, n_classes)  # (N, K)
        self.test_accuracy = float("nan")
        self.dataset = ""

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)  # (N, F)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))  # (N, K)


def classifier_steps() -> int:
    """Training steps of the course classifier at the current scale (a classifier needs fewer than a GAN)."""
    return min(get_scale().image_steps, 5_000)


def n_test_images() -> int:
    """Held-out images on which the classifier's accuracy is measured : min(max(n_eval, 1000), 10000)."""
    return min(max(get_scale().n_eval, 1_000), 10_000)


def classifier_path(dataset: str, steps: int):
    return data.runs_dir() / "classifiers" / f"{data._canonical(dataset)}-steps{steps}.pt"


@torch.no_grad()
def accuracy(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 512) -> float:
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    correct = sum(int((net(images[i:i + batch_size].to(device)).argmax(1).cpu() == labels[i:i + batch_size]).sum())
                  for i in range(0, len(images), batch_size))
    net.train(was_training)
    return correct / len(images)


def train_classifier(dataset: str, *, steps: int, batch_size: int = 64, lr: float = 2e-3, n_train: int | None = None,
                     device=None, seed: int = 0, progress: bool = True) -> CourseClassifier:
    """Train a CourseClassifier with Adam and cross-entropy; measure its accuracy on the whole test set."""
    from tqdm.auto import tqdm

    from .train import get_device

    device = torch.device(device) if device is not None else get_device()
    info = data.DATASETS[data._canonical(dataset)]
    x, y = data.load_images(info.name, train=True, n=n_train)  # (N, C, H, W), (N,)
    batches = data.Batches(x.to(device), y.to(device), batch_size=min(batch_size, len(x)), seed=seed)
    # fork_rng: training the feature network must not shift the random stream of the caller's experiment
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        net = CourseClassifier(channels=info.channels, n_classes=len(info.classes)).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        for _ in tqdm(range(steps), desc=f"course classifier ({info.name})", disable=not progress,
                      mininterval=1.0, leave=False):
            xb, yb = next(batches)  # (B, C, H, W), (B,)
            loss = F.cross_entropy(net(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    x_test, y_test = data.load_images(info.name, train=False, n=n_test_images())
    net.test_accuracy, net.dataset = accuracy(net, x_test, y_test), info.name
    return net.eval()


def course_classifier(dataset: str, *, device=None, steps: int | None = None, retrain: bool = False,
                      verbose: bool = True) -> CourseClassifier:
    """The course's classifier for `dataset`: loaded from runs/classifiers/ when cached, else trained (budget
    from the scale), cached, and its test accuracy printed."""
    from .train import get_device

    device = torch.device(device) if device is not None else get_device()
    steps = classifier_steps() if steps is None else steps
    info = data.DATASETS[data._canonical(dataset)]
    path = classifier_path(info.name, steps)
    with torch.random.fork_rng(devices=[]):  # building it must not move the caller's random stream either
        net = CourseClassifier(channels=info.channels, n_classes=len(info.classes))
    if path.exists() and not retrain:
        state = load_checkpoint(path, models={"classifier": net}, restore_rng=False)
        net.test_accuracy, net.dataset = float(state["extra"]["test_accuracy"]), info.name
        net = net.to(device).eval()
        if verbose:
            print(f"course classifier ({info.name}, {steps} steps): loaded {path.name}, "
                  f"test accuracy {100 * net.test_accuracy:.2f}%")
        return net
    net = train_classifier(info.name, steps=steps, n_train=get_scale().n_train, device=device)
    save_checkpoint(path, step=steps, models={"classifier": net},
                    extra={"test_accuracy": net.test_accuracy, "dataset": info.name})
    if verbose:
        print(f"course classifier ({info.name}, {steps} steps): trained, "
              f"test accuracy {100 * net.test_accuracy:.2f}% on {n_test_images()} test images (cached in {path})")
    return net


# ----------------------------------------------------------------------------------------------------------
# Inception-v3 with the FID weights
# ----------------------------------------------------------------------------------------------------------

FID_WEIGHTS_URL = ("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
                   "pt_inception-2015-12-05-6726825d.pth")


class InceptionFeatures(nn.Module):
    """The FID Inception-v3 (TensorFlow's 2015 graph, ported by pytorch-fid): images resized bilinearly to
    299×299, grayscale repeated to 3 channels, pool3 features (N, 2048)."""

    label = "Inception"

    def __init__(self, state_dict: dict):
        super().__init__()
        net = fid_inception_architecture()
        net.load_state_dict(state_dict)
        net.dropout, net.fc = nn.Identity(), nn.Identity()  # stop at pool3
        self.net = net.eval().requires_grad_(False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float().expand(-1, 3, -1, -1)  # (N, 3, H, W): grayscale repeated
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)  # (N, 3, 299, 299)
        return self.net(x)  # (N, 2048)

    forward = features


def fid_inception_architecture() -> nn.Module:
    """torchvision's Inception-v3 with the blocks patched to match TensorFlow's FID graph (no weights)."""
    from pytorch_fid import inception as pf  # the FID variants of the Inception blocks

    net = pf._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    net.Mixed_5b = pf.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = pf.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = pf.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = pf.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = pf.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = pf.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = pf.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = pf.FIDInceptionE_1(1280)
    net.Mixed_7c = pf.FIDInceptionE_2(2048)
    return net


def inception(*, device=None, download: bool = False) -> InceptionFeatures:
    """Inception-v3 with the FID weights, from a file in data.weights_dirs(); with `download`, fetched where
    the network allows. Raises data.DataMissingError (what, where looked, how to get it) otherwise."""
    from .train import get_device

    device = torch.device(device) if device is not None else get_device()
    path = data.find_weights("inception-fid")
    if path is None and download:
        target = data.weights_dirs()[0]
        try:
            target.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(FID_WEIGHTS_URL, str(target / data.WEIGHTS["inception-fid"][0]))
            path = data.find_weights("inception-fid")
        except Exception as e:  # no network, proxy, disk: all end in the same clear message
            print(f"could not download the FID Inception weights ({type(e).__name__}: {e})", file=sys.stderr)
    if path is None:
        data.require_weights("inception-fid")  # raises DataMissingError with the full message
    return InceptionFeatures(torch.load(path, map_location="cpu", weights_only=True)).to(device)


def feature_network(dataset: str, *, prefer_inception: bool = True, device=None) -> nn.Module:
    """Inception when its weights are present (and `prefer_inception`), else the course classifier."""
    if prefer_inception and data.find_weights("inception-fid") is not None:
        return inception(device=device)
    return course_classifier(dataset, device=device)


# ----------------------------------------------------------------------------------------------------------
# Features and labelled scores
# ----------------------------------------------------------------------------------------------------------


@torch.no_grad()
def apply_batched(net: nn.Module, x: torch.Tensor, batch_size: int = 256, fn=None) -> torch.Tensor:
    """`fn` (default: `net` itself) on `x` in batches, in eval mode on net's device; float32 on the CPU. net's
    train / eval mode is restored afterwards."""
    device = next(net.parameters()).device
    was_training = net.training
    net.eval()
    try:
        out = [(fn or net)(x[i:i + batch_size].to(device)).float().cpu() for i in range(0, len(x), batch_size)]
    finally:
        net.train(was_training)
    return torch.cat(out)


def extract_features(net: nn.Module, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """net.features on `images` (N, C, H, W) in [-1, 1], in batches on net's device; (N, F) float32 on CPU."""
    return apply_batched(net, images, batch_size, net.features)  # (N, F)


def fd_name(net: nn.Module) -> str:
    """'FID (Inception)' for Inception features; 'FD (<network>)' for any other network."""
    return "FID (Inception)" if net.label == "Inception" else f"FD ({net.label})"


def kid_name(net: nn.Module) -> str:
    return f"KID ({net.label})"


def score(net: nn.Module, real_feats: torch.Tensor, fake_feats: torch.Tensor, *, what: str = "samples",
          kid_subset: int = 1000, verbose: bool = True) -> dict[str, float]:
    """FD and KID of `fake_feats` against `real_feats` (both from `net`), printed with the network's name."""
    from . import metrics

    fd = metrics.frechet_distance(real_feats, fake_feats)
    kid_mean, kid_std = metrics.kid(real_feats, fake_feats, subset_size=kid_subset)
    if verbose:
        print(f"{what:<28} {fd_name(net)}: {fd:9.3f}   {kid_name(net)}: {kid_mean:.4f} ± {kid_std:.4f}")
    return {"fd": fd, "kid": kid_mean, "kid_std": kid_std}


__all__ = ["CourseClassifier", "InceptionFeatures", "course_classifier", "inception", "feature_network",
           "extract_features", "fd_name", "kid_name", "score", "accuracy", "train_classifier"]

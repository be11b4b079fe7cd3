"""Data: where it lives, the real datasets, and the toy distributions of the early chapters.

Real datasets load through torchvision in its own folder layout under the *data root*:
$COURSE_DATA_ROOT if set, else `data/` in the repository. A missing dataset raises `DataMissingError`,
which names the dataset, the folder looked in and the command that fetches it. Nothing here ever
substitutes random data for a real dataset.

Images come back as one float tensor in [-1, 1], shape (N, C, H, W), so a training loop slices batches on
the device instead of running a per-sample Python transform (see `Batches`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .paths import REPO_ROOT
from .errors import CourseError

ENV_VAR = "COURSE_DATA_ROOT"


class DataMissingError(CourseError, FileNotFoundError):
    """A dataset (or weights file) the course needs is not on disk."""


class UnknownDatasetError(CourseError, KeyError):
    """A dataset name the course does not know (a KeyError, as a lookup in DATASETS would raise)."""

    def __str__(self) -> str:  # the message itself, not KeyError's repr of it
        return str(self.args[0])


def data_root() -> Path:
    """$COURSE_DATA_ROOT if set, else `data/` in the repository."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser().resolve() if env else REPO_ROOT / "data"


# ----------------------------------------------------------------------------------------------------------
# Real image datasets (torchvision layout)
# ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DatasetInfo:
    name: str
    tv_class: str  # torchvision.datasets class name
    folder: str  # folder torchvision uses under the root
    files: tuple[str, ...]  # files that must exist under root/folder
    channels: int
    size: int
    classes: tuple[str, ...]


_MNIST_FILES = ("raw/train-images-idx3-ubyte", "raw/train-labels-idx1-ubyte",
                "raw/t10k-images-idx3-ubyte", "raw/t10k-labels-idx1-ubyte")

DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo("mnist", "MNIST", "MNIST", _MNIST_FILES, 1, 28, tuple(str(i) for i in range(10))),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist", "FashionMNIST", "FashionMNIST", _MNIST_FILES, 1, 28,
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")),
    "cifar10": DatasetInfo(
        "cifar10", "CIFAR10", "cifar-10-batches-py",
        ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"), 3, 32,
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")),
}


def _canonical(name: str) -> str:
    key = name.strip().lower().replace("_", "-")
    key = {"fashionmnist": "fashion-mnist", "fmnist": "fashion-mnist", "cifar-10": "cifar10"}.get(key, key)
    if key not in DATASETS:
        raise UnknownDatasetError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    return key


def _missing_message(info: DatasetInfo, root: Path, missing: list[str]) -> str:
    where = root / info.folder
    return (
        f"dataset {info.name!r} is missing from the data root {root}.\n"
        f"  looked in: {where}\n"
        f"  missing:   {', '.join(missing)}\n"
        f"  fetch it:  course data fetch {info.name}\n"
        f"  or point the course at a copy you already have: export {ENV_VAR}=/path/to/data "
        f"(torchvision's layout: {info.folder}/...)"
    )


def _unpack_gz(folder: Path, files: tuple[str, ...]) -> None:
    """MNIST-style files may be stored only as .gz (as downloaded); torchvision reads them unpacked."""
    import gzip
    import shutil

    for rel in files:
        target = folder / rel
        gz = target.with_name(target.name + ".gz")
        if not target.exists() and gz.exists():
            tmp = target.with_name(target.name + ".part")
            try:
                with gzip.open(gz, "rb") as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except OSError as e:
                raise DataMissingError(
                    f"{gz} is present but could not be unpacked next to itself ({e}). "
                    f"Copy the folder somewhere writable and set {ENV_VAR} to it."
                ) from e
            os.replace(tmp, target)


def check_dataset(name: str, root: Path | None = None) -> Path:
    """Return the dataset's folder, or raise DataMissingError saying what is missing and how to get it."""
    info = DATASETS[_canonical(name)]
    root = Path(root) if root is not None else data_root()
    folder = root / info.folder
    if folder.is_dir():
        _unpack_gz(folder, info.files)
    missing = [f for f in info.files if not (folder / f).exists()]
    if missing:
        raise DataMissingError(_missing_message(info, root, missing))
    return folder


def dataset_present(name: str, root: Path | None = None) -> bool:
    info = DATASETS[_canonical(name)]
    root = Path(root) if root is not None else data_root()
    folder = root / info.folder
    return all((folder / f).exists() or (folder / (f + ".gz")).exists() for f in info.files)


def load_images(name: str, *, train: bool = True, n: int | None = None, root: Path | None = None,
                seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A real dataset as tensors: images (N, C, H, W) float32 in [-1, 1] and labels (N,) int64.

    `n` takes a seeded random subset (the same one every call), so a scale can train on fewer images.
    """
    import torchvision

    info = DATASETS[_canonical(name)]
    root = Path(root) if root is not None else data_root()
    check_dataset(info.name, root)
    ds = getattr(torchvision.datasets, info.tv_class)(str(root), train=train, download=False)
    x = torch.as_tensor(ds.data)  # uint8: (N, H, W) for MNIST-likes, (N, H, W, C) for CIFAR
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)  # (N, C, H, W)
    y = torch.as_tensor(ds.targets, dtype=torch.long)  # (N,)
    if n is not None and n < len(x):
        idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
        x, y = x[idx], y[idx]
    x = x.float().div_(127.5).sub_(1.0)  # [0, 255] -> [-1, 1]
    return x.contiguous(), y


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1], for display: a normalised image must be un-normalised before imshow."""
    return (x.clamp(-1, 1) + 1) / 2


def fetch(name: str, root: Path | None = None) -> Path:
    """Download a dataset into the data root with torchvision. On failure, say exactly what to place where."""
    import torchvision

    info = DATASETS[_canonical(name)]
    root = Path(root) if root is not None else data_root()
    if dataset_present(info.name, root):
        return check_dataset(info.name, root)
    root.mkdir(parents=True, exist_ok=True)
    cls = getattr(torchvision.datasets, info.tv_class)
    try:
        for train in (True, False):
            cls(str(root), train=train, download=True)
    except Exception as e:  # network errors come in many types; all end the same way
        urls = _resource_urls(cls)
        sub = Path(info.files[0]).parent  # MNIST-likes keep their files in raw/; CIFAR's archive sits in the root
        target = root / info.folder / sub if str(sub) != "." else root
        raise DataMissingError(
            f"could not download {info.name!r} ({type(e).__name__}: {e}).\n"
            f"  Download these files elsewhere and place them, as they are, in {target}:\n"
            + "".join(f"    {u}\n" for u in urls)
            + f"  then run `course data fetch {info.name}` again to check and unpack them\n"
            f"  (or set {ENV_VAR} to a folder that already holds {info.folder}/)"
        ) from e
    return check_dataset(info.name, root)


def _resource_urls(cls) -> list[str]:
    mirrors = getattr(cls, "mirrors", None)
    resources = getattr(cls, "resources", None)
    if mirrors and resources:
        return [f"{mirrors[0]}{fname}" for fname, _ in resources]
    if getattr(cls, "url", None):
        return [cls.url]
    return [f"see torchvision.datasets.{cls.__name__}"]


class Batches:
    """Shuffled mini-batches from an in-memory tensor, epoch after epoch, forever.

    Indexing a tensor that already sits on the device is the fastest loader there is for datasets that fit in
    memory; the shuffling generator is part of `state_dict()` so a resumed run sees the same batches.
    """

    def __init__(self, *tensors: torch.Tensor, batch_size: int, seed: int = 0, drop_last: bool = True):
        n = len(tensors[0])
        if any(len(t) != n for t in tensors):
            raise ValueError("all tensors must have the same first dimension")
        if batch_size > n:
            raise ValueError(f"batch_size {batch_size} is larger than the dataset ({n} items)")
        self.tensors, self.batch_size, self.drop_last = tensors, batch_size, drop_last
        self.g = torch.Generator().manual_seed(seed)
        self.perm, self.pos = torch.randperm(n, generator=self.g), 0

    def __iter__(self):
        return self

    def __next__(self):
        n = len(self.perm)
        if self.pos + self.batch_size > n:
            self.perm, self.pos = torch.randperm(n, generator=self.g), 0
        idx = self.perm[self.pos:self.pos + self.batch_size].to(self.tensors[0].device)
        self.pos += self.batch_size
        out = tuple(t[idx] for t in self.tensors)
        return out if len(out) > 1 else out[0]

    def state_dict(self) -> dict:
        return {"g": self.g.get_state(), "perm": self.perm, "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.g.set_state(state["g"])
        self.perm, self.pos = state["perm"], int(state["pos"])


# ----------------------------------------------------------------------------------------------------------
# Toy distributions (chapters 01 and 03)
# ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mixture:
    """An equal-weight Gaussian mixture with isotropic components: the toy data of the GAN chapters."""

    centers: torch.Tensor  # (K, d)
    std: float

    @property
    def dim(self) -> int:
        return self.centers.shape[1]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        k = torch.randint(len(self.centers), (n,), generator=generator)  # (n,)
        noise = torch.randn(n, self.dim, generator=generator)  # (n, d)
        return self.centers[k] + self.std * noise  # (n, d)

    def batches(self, batch_size: int, seed: int = 0):
        """An endless, seeded stream of batches (B, d)."""
        g = torch.Generator().manual_seed(seed)
        while True:
            yield self.sample(batch_size, g)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) for x of shape (n, d): log-mean-exp over the components."""
        d2 = torch.cdist(x.double(), self.centers.double()).pow(2)  # (n, K)
        log_comp = -d2 / (2 * self.std ** 2) - self.dim * math.log(self.std * math.sqrt(2 * math.pi))
        return (torch.logsumexp(log_comp, dim=1) - math.log(len(self.centers))).to(x.dtype)  # (n,)

    def pdf(self, x: torch.Tensor) -> torch.Tensor:
        return self.log_prob(x).exp()


def ring(modes: int = 8, radius: float = 2.0, std: float = 0.02) -> Mixture:
    """`modes` Gaussians evenly spaced on a circle (the 8-Gaussian ring of Metz et al. 2017 / PacGAN)."""
    angle = torch.arange(modes) * (2 * math.pi / modes)
    return Mixture(torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1), std)


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> Mixture:
    """side x side Gaussians on a square grid centred at 0 (the 5x5 grid of VEEGAN / PacGAN)."""
    axis = (torch.arange(side) - (side - 1) / 2) * spacing
    gx, gy = torch.meshgrid(axis, axis, indexing="ij")
    return Mixture(torch.stack([gx.flatten(), gy.flatten()], dim=1), std)


def mixture_1d(means: tuple[float, ...] = (-2.0, 2.0), std: float = 0.5) -> Mixture:
    """A 1-D Gaussian mixture: the data of the optimal-discriminator experiment."""
    return Mixture(torch.tensor(means, dtype=torch.float32).unsqueeze(1), std)


# ----------------------------------------------------------------------------------------------------------
# Optional pretrained weights (used when present, never required)
# ----------------------------------------------------------------------------------------------------------

WEIGHTS: dict[str, tuple[str, str]] = {
    # name: (file name, what it is for)
    "inception-fid": ("pt_inception-2015-12-05-6726825d.pth", "Inception-v3 with the standard FID weights"),
    "vgg19": ("vgg19-dcbb9e9d.pth", "VGG-19 (ImageNet) for perceptual losses"),
}


def weights_dirs() -> list[Path]:
    """Where optional weights are looked for: <data root>/weights, then torch hub's checkpoint folder."""
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    return [data_root() / "weights", hub]


def find_weights(name: str) -> Path | None:
    fname = WEIGHTS[name][0]
    for d in weights_dirs():
        if (d / fname).exists():
            return d / fname
    return None


def require_weights(name: str) -> Path:
    path = find_weights(name)
    if path is None:
        fname, what = WEIGHTS[name]
        raise DataMissingError(
            f"weights {name!r} ({what}) are missing.\n"
            f"  looked for {fname} in: {', '.join(str(d) for d in weights_dirs())}\n"
            f"  get them where the network allows (torchvision / pytorch-fid publish them) and place the file in "
            f"{weights_dirs()[0]}")
    return path


def runs_dir() -> Path:
    """Where training runs write checkpoints, logs and samples: $COURSE_RUNS_DIR, else `runs/` in the repo."""
    env = os.environ.get("COURSE_RUNS_DIR")
    return Path(env).expanduser().resolve() if env else REPO_ROOT / "runs"

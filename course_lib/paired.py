"""Paired datasets for image-to-image translation (chapter 09): (x, y) = (condition, target), both in [-1, 1].

Two sources, both real data, both offline:

1. Side-by-side pairs in the layout of the pix2pix datasets (Isola et al. 2017): one JPEG per pair, the photo in
   the left half and its label map (or edge map) in the right half, under `<data root>/facades/<split>/*.jpg`.
   The CMP Facades set has 400 training pairs of 512 x 256; the task is label map -> photo (right -> left).
2. A task derived from a real dataset by a deterministic transform: Sobel edges of Fashion-MNIST (or MNIST)
   -> the image itself, padded from 28 to 32 pixels so a U-Net can halve it five times.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from .data import ENV_VAR, DataMissingError, data_root, load_images

FACADES_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz"


# ----------------------------------------------------------------------------------------------------------
# Side-by-side JPEG pairs (facades)
# ----------------------------------------------------------------------------------------------------------


def pair_files(name: str = "facades", split: str = "train", root: Path | None = None) -> list[Path]:
    """The pair files of `<root>/<name>/<split>/*.jpg`, sorted by number; DataMissingError when there are none."""
    root = Path(root) if root is not None else data_root()
    folder = root / name / split
    files = sorted(folder.glob("*.jpg"), key=lambda p: (len(p.stem), p.stem))
    if not files:
        raise DataMissingError(
            f"paired dataset {name!r} ({split} split) is missing from the data root {root}.\n"
            f"  looked in: {folder} (for *.jpg)\n"
            f"  expected:  {name}/{split}/1.jpg, 2.jpg, ... each a photo (left half) and its label map (right "
            f"half) side by side, e.g. 512 x 256 for facades\n"
            f"  get it:    curl -O {FACADES_URL} && tar -xzf facades.tar.gz -C {root}\n"
            f"  or point the course at a copy you already have: export {ENV_VAR}=/path/to/data")
    return files


def split_pair(img: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (3, H, 2W) side-by-side image -> (right half, left half) as float (3, size, size) in [-1, 1].

    Each half is resized to size x size, as the pix2pix data loader does (it does not keep the aspect ratio).
    """
    W = img.shape[-1] // 2
    halves = torch.stack([img[:, :, W:2 * W], img[:, :, :W]]).float()  # (2, 3, H, W): right, left
    halves = F.interpolate(halves, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    halves = (halves / 127.5 - 1).clamp(-1, 1)  # (2, 3, size, size)
    return halves[0], halves[1]


def load_side_by_side(name: str = "facades", *, split: str = "train", size: int = 256, n: int | None = None,
                      root: Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairs (x, y) = (right half, left half) = (label map, photo) for facades: (N, 3, size, size) each.

    `n` keeps the first n files (in numeric order), so every call sees the same pairs.
    """
    import numpy as np
    from PIL import Image

    files = pair_files(name, split, root)[:n]
    xs, ys = [], []
    for f in files:  # decoding a JPEG is per file; everything after it is batched
        with Image.open(f) as im:
            img = torch.from_numpy(np.asarray(im.convert("RGB")).copy()).permute(2, 0, 1)  # (3, H, 2W) uint8
        x, y = split_pair(img, size)
        xs.append(x), ys.append(y)
    return torch.stack(xs), torch.stack(ys)  # (N, 3, size, size) each


# ----------------------------------------------------------------------------------------------------------
# A derived task: edges -> image
# ----------------------------------------------------------------------------------------------------------

SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def sobel_edges(images: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Binary edge maps of images (B, 1, H, W) in [-1, 1]: +1 where the Sobel gradient magnitude (of the image
    in [0, 1]) exceeds `threshold`, -1 elsewhere. Deterministic, so the pairs are the same on every machine."""
    u = (images + 1) / 2  # (B, 1, H, W) in [0, 1]
    k = torch.stack([SOBEL_X, SOBEL_X.T]).unsqueeze(1).to(u)  # (2, 1, 3, 3): d/dx, d/dy
    g = F.conv2d(F.pad(u, (1, 1, 1, 1), mode="replicate"), k)  # (B, 2, H, W)
    mag = g.square().sum(dim=1, keepdim=True).sqrt()  # (B, 1, H, W)
    return torch.where(mag > threshold, 1.0, -1.0)


def jitter(x: torch.Tensor, y: torch.Tensor, *, load_size: int = 286, generator: torch.Generator | None = None
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's augmentation of a batch of pairs (B, C, S, S): resize to load_size x load_size, crop a random
    S x S window (the same window for input and target, and for the batch: at the paper's batch size of 1 that is
    one window per pair), and mirror each pair left-right with probability 1/2 (input and target together)."""
    S = x.shape[-1]
    g = generator
    both = torch.cat([x, y], 1)  # (B, Cx + Cy, S, S): input and target move together
    both = F.interpolate(both, size=(load_size, load_size), mode="bicubic", align_corners=False).clamp(-1, 1)
    top, left = (int(torch.randint(load_size - S + 1, (1,), generator=g)) for _ in range(2))
    both = both[..., top:top + S, left:left + S]  # (B, Cx + Cy, S, S)
    flip = (torch.rand(len(both), generator=g) < 0.5).to(both.device).view(-1, 1, 1, 1)
    both = torch.where(flip, both.flip(-1), both)
    return both[:, :x.shape[1]], both[:, x.shape[1]:]


def pad_to(images: torch.Tensor, size: int, value: float = -1.0) -> torch.Tensor:
    """Pad (B, C, H, W) evenly on all sides to (B, C, size, size) with the background value."""
    H, W = images.shape[-2:]
    top, left = (size - H) // 2, (size - W) // 2
    return F.pad(images, (left, size - W - left, top, size - H - top), value=value)  # (B, C, size, size)


def crop_to(images: torch.Tensor, size: int) -> torch.Tensor:
    """Undo `pad_to`: the central size x size window."""
    H, W = images.shape[-2:]
    top, left = (H - size) // 2, (W - size) // 2
    return images[..., top:top + size, left:left + size]


def edges_to_image(name: str = "fashion-mnist", *, train: bool = True, n: int | None = None, size: int = 32,
                   threshold: float = 0.5, root: Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairs (x, y) = (edges, image) from a real dataset, each (N, 1, size, size) in [-1, 1]."""
    images, _ = load_images(name, train=train, n=n, root=root)  # (N, 1, 28, 28)
    y = pad_to(images, size)  # (N, 1, size, size)
    return sobel_edges(y, threshold), y

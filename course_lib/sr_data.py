"""Super-resolution data (chapter 10): high-resolution images and their 4x bicubic-downsampled inputs.

The benchmark sets live under `<data root>/sr/` as folders of PNGs: `CSet5`, `CSet14`, `CBSD68` (the colour
versions of Set5, Set14 and BSD68), and any folder of the user's (e.g. DIV2K's `DIV2K_train_HR`) can be named by
path. The low-resolution input is always *made* from the high-resolution image, as in the SRGAN paper:

    HR  = the image cropped to a multiple of the scale factor ("modcrop")
    LR  = bicubic downsampling of HR by the scale factor, with antialiasing (MATLAB's imresize does the same)

Train on crops of one pool (BSD68 here, DIV2K at full scale) and evaluate on another (Set5, Set14).
Images are float tensors in [-1, 1]; whole images keep their own size, so they come as lists of (3, H, W).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from .data import ENV_VAR, DataMissingError, data_root

SETS = {"set5": "CSet5", "set14": "CSet14", "bsd68": "CBSD68"}
DIV2K_URL = "https://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_train_HR.zip"


def sr_folder(name: str, root: Path | None = None) -> Path:
    """The folder of a named set (set5, set14, bsd68) under <root>/sr/, or `name` itself when it is a folder."""
    if Path(name).is_dir():
        return Path(name)
    root = Path(root) if root is not None else data_root()
    key = name.strip().lower()
    if key not in SETS:
        raise KeyError(f"unknown super-resolution set {name!r}; known: {', '.join(SETS)}, or a folder of PNGs")
    return root / "sr" / SETS[key]


def load_hr_images(name: str, *, n: int | None = None, root: Path | None = None) -> list[torch.Tensor]:
    """The high-resolution images of a set, sorted by file name: a list of (3, H, W) float tensors in [-1, 1]."""
    import numpy as np
    from PIL import Image

    folder = sr_folder(name, root)
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".png", ".bmp", ".jpg", ".jpeg"))
    if not files:
        raise DataMissingError(
            f"super-resolution set {name!r} is missing.\n"
            f"  looked in: {folder} (for *.png)\n"
            f"  expected:  sr/CSet5, sr/CSet14, sr/CBSD68 under the data root (the standard benchmark PNGs), or "
            f"a folder of high-resolution images such as DIV2K ({DIV2K_URL})\n"
            f"  or point the course at a copy you already have: export {ENV_VAR}=/path/to/data")
    out = []
    for f in files[:n]:  # decoding is per file; everything after it is batched
        with Image.open(f) as im:
            arr = np.asarray(im.convert("RGB")).copy()
        out.append(torch.from_numpy(arr).permute(2, 0, 1).float().div_(127.5).sub_(1.0))  # (3, H, W)
    return out


def modcrop(img: torch.Tensor, scale: int) -> torch.Tensor:
    """Crop (..., H, W) at the bottom / right so that H and W are multiples of `scale`."""
    H, W = img.shape[-2:]
    return img[..., :H - H % scale, :W - W % scale]


def bicubic_resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bicubic resize of (B, C, H, W) with antialiasing (a = -0.5, as MATLAB's imresize), clamped to [-1, 1]."""
    return F.interpolate(x, size=size, mode="bicubic", antialias=True, align_corners=False).clamp(-1, 1)


def downsample(hr: torch.Tensor, scale: int = 4) -> torch.Tensor:
    """LR = bicubic downsampling of HR (B, C, H, W) by `scale` -> (B, C, H/scale, W/scale)."""
    H, W = hr.shape[-2:]
    if H % scale or W % scale:
        raise ValueError(f"HR side {H}x{W} is not a multiple of the scale {scale}: modcrop it first")
    return bicubic_resize(hr, (H // scale, W // scale))


def upsample_bicubic(lr: torch.Tensor, scale: int = 4) -> torch.Tensor:
    """The baseline every SR method is compared with: bicubic upsampling (B, C, h, w) -> (B, C, h·s, w·s)."""
    h, w = lr.shape[-2:]
    return bicubic_resize(lr, (h * scale, w * scale))


def random_crops(images: list[torch.Tensor], n: int, size: int, *, seed: int = 0, augment: bool = True) -> torch.Tensor:
    """n HR training crops (n, 3, size, size) from random images at random places; with `augment`, each randomly
    flipped and rotated by a multiple of 90 degrees (the eight symmetries of the square, the usual SR
    augmentation; a network that must tell orientations apart is trained without it)."""
    g = torch.Generator().manual_seed(seed)
    usable = [im for im in images if min(im.shape[-2:]) >= size]
    if not usable:
        raise ValueError(f"no image is at least {size} pixels on its shorter side")
    which = torch.randint(len(usable), (n,), generator=g)
    crops = []
    for i in which.tolist():  # setup only: training then indexes this tensor
        im = usable[i]
        top = int(torch.randint(im.shape[-2] - size + 1, (1,), generator=g))
        left = int(torch.randint(im.shape[-1] - size + 1, (1,), generator=g))
        crops.append(im[:, top:top + size, left:left + size])
    x = torch.stack(crops)  # (n, 3, size, size)
    if not augment:
        return x.contiguous()
    flip = torch.rand(n, generator=g) < 0.5
    x[flip] = x[flip].flip(-1)
    k = torch.randint(4, (n,), generator=g)
    for r in range(1, 4):  # rotate each quarter of the batch as a group
        x[k == r] = torch.rot90(x[k == r], r, dims=(-2, -1))
    return x.contiguous()


def niqe_natural_model(name: str = "bsd68", *, patch: int = 96) -> dict:
    """NIQE's natural model (image_metrics.niqe_model) fitted on the HR images of a set, cached under
    <runs dir>/features/ (fitting reads every image; the model is 36 means and a 36 x 36 covariance)."""
    from .data import runs_dir, to_unit
    from .image_metrics import niqe_model

    cache = runs_dir() / "features" / f"niqe-{Path(name).name.lower()}-p{patch}.pt"
    if cache.exists():
        return torch.load(cache, weights_only=True)
    model = niqe_model([to_unit(x) for x in load_hr_images(name)], patch=patch)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    torch.save(model, tmp)
    tmp.replace(cache)  # atomic: a reader never sees half a file
    return model

"""Full-reference image quality: PSNR and SSIM (chapters 09 and 10).

Inputs are batches (B, C, H, W) with values in [0, 1] (`data.to_unit` maps the course's [-1, 1] images there);
every function returns one value per image, shape (B,), so a caller can average or inspect the spread.
Super-resolution papers report both on the luma channel Y of YCbCr (`rgb_to_y`); say which one you used.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """PSNR = 10 log10(MAX^2 / MSE), per image, in dB (inf for identical images)."""
    mse = (x.double() - y.double()).square().flatten(1).mean(dim=1)  # (B,)
    return (10 * torch.log10(data_range ** 2 / mse)).float()


def gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """The normalised 2-D Gaussian of Wang et al. (2004): (size, size), summing to 1."""
    t = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-t ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return torch.outer(g, g)  # (size, size)


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0, window: int = 11,
         sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """Mean SSIM per image (Wang, Bovik, Sheikh, Simoncelli 2004, eq. 13), averaged over channels.

        SSIM(x, y) = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2))

    with local statistics under an 11 x 11 Gaussian window (sigma 1.5), C1 = (k1 L)^2, C2 = (k2 L)^2, computed
    at the positions where the window fits inside the image ("valid"), as in the authors' reference code.
    """
    B, C, H, W = x.shape
    if min(H, W) < window:
        raise ValueError(f"SSIM with a {window} x {window} window needs images at least that large; got {H} x {W}")
    x, y = x.double(), y.double()
    w = gaussian_window(window, sigma).to(x.device).expand(C, 1, window, window)  # (C, 1, k, k)
    blur = lambda t: F.conv2d(t, w, groups=C)  # noqa: E731  (B, C, H-k+1, W-k+1)
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x ** 2
    var_y = blur(y * y) - mu_y ** 2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    return s.flatten(1).mean(dim=1).float()  # (B,)


def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """Luma Y of ITU-R BT.601 as MATLAB's rgb2ycbcr computes it, for RGB (B, 3, H, W) in [0, 1] -> (B, 1, H, W)
    in [16/255, 235/255]. This is the channel on which super-resolution PSNR / SSIM are reported."""
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return (16.0 + 65.481 * r + 128.553 * g + 24.966 * b) / 255.0  # (B, 1, H, W)


def crop_border(x: torch.Tensor, border: int) -> torch.Tensor:
    """Drop `border` pixels on every side of (B, C, H, W). SR papers crop `scale` pixels (4 for x4) before PSNR /
    SSIM, because the reconstruction there depends on pixels outside the image."""
    return x[..., border:x.shape[-2] - border, border:x.shape[-1] - border] if border > 0 else x


def sr_quality(sr: torch.Tensor, hr: torch.Tensor, border: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(PSNR dB, SSIM), each (B,), as super-resolution tables report them: RGB in [0, 1] -> luma Y
    (`rgb_to_y`), `border` pixels cropped on every side, then PSNR and SSIM on Y."""
    y_sr, y_hr = crop_border(rgb_to_y(sr), border), crop_border(rgb_to_y(hr), border)  # (B, 1, H-2b, W-2b)
    return psnr(y_sr, y_hr), ssim(y_sr, y_hr)

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


# ----------------------------------------------------------------------------------------------------------
# No-reference quality: NIQE (Mittal, Soundararajan, Bovik 2013), fitted on the course's own natural images
# ----------------------------------------------------------------------------------------------------------
#
# NIQE describes an image by the statistics of its mean-subtracted, contrast-normalised (MSCN) coefficients,
#     MSCN = (I - mu) / (sigma + 1),   mu, sigma = local mean and std under a 7 x 7 Gaussian (sigma 7/6),
# which are close to Gaussian for natural photographs and drift away under blur, noise and artefacts. Each
# P x P patch gives 18 numbers per scale (two scales): a generalised Gaussian fit of the MSCN values (shape,
# variance) and an asymmetric one of the products of neighbouring MSCN values in four directions (shape, mean,
# left and right variance). A multivariate Gaussian (mu_n, Sigma_n) fitted to the patches of pristine images is
# the "natural" model; an image's NIQE is the distance of its patches' Gaussian (mu_t, Sigma_t) from it,
#     NIQE = sqrt((mu_n - mu_t)^T ((Sigma_n + Sigma_t) / 2)^+ (mu_n - mu_t)),   lower = more natural.
# It needs no reference image and no trained network: the natural model is fitted here, on whatever pristine
# images the caller passes (the published model was fitted on 125 other photographs, so the values are not
# comparable with published NIQE numbers; say which images the model came from).

_GAMMAS = torch.arange(0.2, 10.0005, 0.001, dtype=torch.float64)  # the grid of shapes the reference code searches


def _gfun(a: torch.Tensor) -> torch.Tensor:
    return torch.exp(torch.lgamma(a))


_R_GGD = _gfun(1 / _GAMMAS) * _gfun(3 / _GAMMAS) / _gfun(2 / _GAMMAS) ** 2  # (G,): E[x^2] / E[|x|]^2 per shape
_R_AGGD = 1 / _R_GGD  # (G,): E[|x|]^2 / E[x^2]


def _ggd_fit(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised Gaussian fit by moment matching, per row of v (P, n): (shape alpha, variance), each (P,)."""
    g, r_gam = _GAMMAS.to(v.device), _R_GGD.to(v.device)  # (G,) each
    var = v.square().mean(1)  # (P,)
    rho = var / v.abs().mean(1).square()  # (P,)
    alpha = g[(rho[:, None] - r_gam).abs().argmin(1)]  # (P,)
    return alpha, var


def _aggd_fit(v: torch.Tensor) -> torch.Tensor:
    """Asymmetric generalised Gaussian fit per row of v (P, n) -> (P, 4): shape, mean, left var, right var."""
    g, r_gam = _GAMMAS.to(v.device), _R_AGGD.to(v.device)  # (G,) each
    neg, pos = (v < 0).double(), (v > 0).double()
    left = (v.square() * neg).sum(1).div(neg.sum(1).clamp_min(1)).sqrt()  # (P,)
    right = (v.square() * pos).sum(1).div(pos.sum(1).clamp_min(1)).sqrt()
    gh = left / right.clamp_min(1e-12)
    rhat = v.abs().mean(1).square() / v.square().mean(1).clamp_min(1e-12)
    rnorm = rhat * (gh ** 3 + 1) * (gh + 1) / (gh ** 2 + 1) ** 2
    alpha = g[(rnorm[:, None] - r_gam).square().argmin(1)]  # (P,)
    mean = (right - left) * _gfun(2 / alpha) / _gfun(1 / alpha) * (_gfun(1 / alpha) / _gfun(3 / alpha)).sqrt()
    return torch.stack([alpha, mean, left ** 2, right ** 2], 1)  # (P, 4)


def mscn(gray: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """MSCN coefficients and the local std of a grey image (1, 1, H, W) on the 0-255 scale, both (1, 1, H, W)."""
    t = torch.arange(7, dtype=torch.float64) - 3
    g = torch.exp(-t ** 2 / (2 * (7 / 6) ** 2))
    g = (g / g.sum()).to(gray)  # (7,): the 7 x 7 Gaussian is separable, so blur rows, then columns

    def blur(t):
        t = F.conv2d(F.pad(t, (3, 3, 3, 3), mode="replicate"), g.view(1, 1, 1, 7))  # (1, 1, H + 6, W)
        return F.conv2d(t, g.view(1, 1, 7, 1))  # (1, 1, H, W)

    mu = blur(gray)
    sigma = (blur(gray * gray) - mu * mu).abs().sqrt()
    return (gray - mu) / (sigma + 1), sigma


def _patches(t: torch.Tensor, p: int) -> torch.Tensor:
    """(1, 1, H, W) with H, W multiples of p -> (P, p, p), row-major over the patch grid."""
    return t[0, 0].unfold(0, p, p).unfold(1, p, p).reshape(-1, p, p)  # (P, p, p)


def _scale_features(m: torch.Tensor, p: int) -> torch.Tensor:
    """The 18 NIQE features of every p x p patch of an MSCN map (1, 1, H, W) -> (P, 18)."""
    x = _patches(m, p)  # (P, p, p)
    alpha, var = _ggd_fit(x.flatten(1))
    feats = [alpha[:, None], var[:, None]]
    for shift in ((0, 1), (1, 0), (1, 1), (-1, 1)):  # horizontal, vertical, two diagonals (circular, per patch)
        feats.append(_aggd_fit((x * torch.roll(x, shift, dims=(1, 2))).flatten(1)))
    return torch.cat(feats, 1)  # (P, 18)


def niqe_features(image: torch.Tensor, patch: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
    """Patch features (P, 36) of one RGB image (3, H, W) in [0, 1], on its luma Y (0-255), and each patch's
    sharpness (mean local std, (P,)). The image is cropped to a multiple of the patch size."""
    if patch % 2:
        raise ValueError("the patch side must be even (the second scale halves it)")
    y = rgb_to_y(image[None].double()) * 255  # (1, 1, H, W)
    H, W = (y.shape[-2] // patch) * patch, (y.shape[-1] // patch) * patch
    if H == 0 or W == 0:
        raise ValueError(f"NIQE needs images at least {patch} x {patch}; got {tuple(image.shape[-2:])}")
    y = y[..., :H, :W]
    m1, sigma = mscn(y)
    half = F.interpolate(y, scale_factor=0.5, mode="bicubic", antialias=True, align_corners=False)  # (1, 1, H/2, W/2)
    m2, _ = mscn(half)
    feats = torch.cat([_scale_features(m1, patch), _scale_features(m2, patch // 2)], 1)  # (P, 36)
    return feats, _patches(sigma, patch).flatten(1).mean(1)  # (P, 36), (P,)


def niqe_model(images, patch: int = 96, sharpness: float = 0.75) -> dict:
    """The natural model: the Gaussian of the patch features of pristine images (a list of (3, H, W) in [0, 1]),
    keeping, as the reference code does, only each image's patches at least `sharpness` times as sharp as its
    sharpest one."""
    kept = []
    for img in images:  # images differ in size
        f, s = niqe_features(img, patch)
        kept.append(f[s > sharpness * s.max()])
    f = torch.cat(kept)  # (P, 36)
    f = f[torch.isfinite(f).all(1)]
    return {"mu": f.mean(0), "cov": torch.cov(f.T), "patch": patch, "n_patches": len(f)}


def niqe(images, model: dict) -> float:
    """NIQE of a set of RGB images (a list of (3, H, W) in [0, 1], or one image): the distance of the Gaussian of
    all their patches from the natural model. Lower is more natural. One image gives one score per image; pass
    several to pool their patches (a set's score; more stable for small images with few patches)."""
    images = [images] if torch.is_tensor(images) and images.ndim == 3 else list(images)
    f = torch.cat([niqe_features(img, model["patch"])[0] for img in images])  # (P, 36)
    f = f[torch.isfinite(f).all(1)]
    if len(f) < 2:
        raise ValueError("NIQE needs at least two patches: pass larger images, several images, or a smaller patch")
    d = model["mu"] - f.mean(0)  # (36,)
    cov = (model["cov"] + torch.cov(f.T)) / 2  # (36, 36)
    return float((d @ torch.linalg.pinv(cov) @ d).sqrt())


def grid_pattern(sr: torch.Tensor, hr: torch.Tensor, period: int = 4) -> torch.Tensor:
    """Strength of a periodic (checkerboard) error, per image, in grey levels (of 255): the error SR - HR on
    luma Y is averaged over every position with the same (row mod period, column mod period) and the spread
    (std) of those period² means is returned. Image content averages out over the positions; a pattern that
    repeats every `period` pixels, as sub-pixel or transposed-convolution upsampling by `period` leaves, does
    not. RGB (B, 3, H, W) in [0, 1] -> (B,)."""
    err = (rgb_to_y(sr.double()) - rgb_to_y(hr.double()))[:, 0] * 255  # (B, H, W)
    B, H, W = err.shape
    err = err[:, :H - H % period, :W - W % period]
    phases = err.reshape(B, H // period, period, W // period, period).mean(dim=(1, 3))  # (B, period, period)
    return phases.flatten(1).std(dim=1).float()  # (B,)

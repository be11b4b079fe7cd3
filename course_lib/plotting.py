"""Figures the chapters share: image grids, loss curves, 2-D samples over a density."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from .data import to_unit  # noqa: F401  (re-exported: un-normalise before imshow)


def close(fig) -> None:
    plt.close(fig)


def image_grid(x: torch.Tensor, nrow: int = 8, title: str | None = None, ax=None, normalized: bool = True):
    """Show a batch (B, C, H, W) as one grid. `normalized`: x is in [-1, 1] and is mapped to [0, 1]."""
    import torchvision

    x = x.detach().float().cpu()
    x = to_unit(x) if normalized else x.clamp(0, 1)
    g = torchvision.utils.make_grid(x, nrow=nrow, padding=2, pad_value=1.0)  # (C, H', W')
    if ax is None:
        fig, ax = plt.subplots(figsize=(min(12, 1.1 * nrow), min(12, 1.1 * ((len(x) + nrow - 1) // nrow))))
    ax.imshow(g.permute(1, 2, 0).squeeze(-1).numpy(), cmap="gray" if g.shape[0] == 1 else None,
              vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax.figure


def loss_curves(log, keys=("loss_D", "loss_G"), ax=None, title: str | None = None, smooth: int = 1):
    """Plot series from a RunLog (or a list of rows) against the step."""
    rows = log.rows if hasattr(log, "rows") else log
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.2))
    for k in keys:
        pts = [(r["step"], r[k]) for r in rows if k in r]
        if not pts:
            continue
        s, v = zip(*pts)
        v = torch.tensor(v, dtype=torch.float64)
        if smooth > 1 and len(v) >= smooth:
            v = torch.nn.functional.avg_pool1d(v[None, None], smooth, 1).flatten()
            s = s[smooth - 1:]
        ax.plot(s, v.tolist(), label=k)
    ax.set_xlabel("step")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return ax.figure


def scatter_2d(samples: torch.Tensor, mixture=None, ax=None, title: str | None = None, lim: float | None = None,
               s: float = 2.0):
    """2-D samples as points, over the contour of `mixture`'s density when given."""
    x = samples.detach().float().cpu()
    if ax is None:
        fig, ax = plt.subplots(figsize=(4, 4))
    if lim is None:
        ref = mixture.centers if mixture is not None else x
        lim = float(ref.abs().max()) * 1.25 + 0.5
    if mixture is not None:
        t = torch.linspace(-lim, lim, 200)
        gx, gy = torch.meshgrid(t, t, indexing="xy")
        logp = mixture.log_prob(torch.stack([gx.flatten(), gy.flatten()], 1)).reshape(200, 200)
        ax.contourf(gx.numpy(), gy.numpy(), logp.clamp(min=-30).numpy(), levels=12, cmap="Blues", alpha=0.6)
    ax.scatter(x[:, 0].numpy(), x[:, 1].numpy(), s=s, c="tab:orange", alpha=0.6, linewidths=0)
    square_axes(ax, lim, title)
    return ax.figure


def square_axes(ax, lim: float, title: str | None = None) -> None:
    """A bare square [-lim, lim]^2 panel, for 2-D samples and latent codes."""
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)

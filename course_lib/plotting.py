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


def flow_diagram(boxes: dict, arrows, *, ax=None, title: str | None = None, size=(7.0, 3.0)):
    """A model's data flow: labelled boxes and arrows between them.

    boxes:  {key: (x, y, label)}, centres in axes units (0..1); a key starting with "loss" is drawn as a loss
            (rounded, shaded), any other as a tensor or a network.
    arrows: [(src, dst, label)], drawn from box edge to box edge; label ("" for none) sits at the midpoint.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    style = dict(ha="center", va="center", fontsize=9)
    patches = {}
    for key, (x, y, label) in boxes.items():
        loss = key.startswith("loss")
        t = ax.text(x, y, label, transform=ax.transAxes, zorder=3, **style,
                    bbox=dict(boxstyle="round,pad=0.4" if loss else "square,pad=0.4",
                              fc="#fde9c9" if loss else "#e8eef7", ec="#555555", lw=1.0))
        patches[key] = t
    ax.figure.canvas.draw()  # lays the boxes out, so each arrow can stop at its box's edge
    to_axes = ax.transAxes.inverted()
    extent = {k: (to_axes.transform(t.get_bbox_patch().get_window_extent().get_points()) if t.get_bbox_patch()
                else to_axes.transform(t.get_window_extent().get_points())) for k, t in patches.items()}

    def edge(key, dx, dy):
        """Where the ray from box `key`'s centre in direction (dx, dy) leaves the box."""
        (x0, y0), (x1, y1) = extent[key]
        hw, hh = (x1 - x0) / 2, (y1 - y0) / 2
        t = min(hw / abs(dx) if dx else float("inf"), hh / abs(dy) if dy else float("inf"))
        x, y, _ = boxes[key]
        return x + t * dx, y + t * dy

    for src, dst, label in arrows:
        if src not in boxes or dst not in boxes:
            raise KeyError(f"flow_diagram: arrow {src!r} -> {dst!r} names a box that is not in `boxes`")
        (x0, y0, _), (x1, y1, _) = boxes[src], boxes[dst]
        dx, dy = x1 - x0, y1 - y0
        ax.annotate("", xy=edge(dst, -dx, -dy), xytext=edge(src, dx, dy), xycoords="axes fraction",
                    textcoords="axes fraction", arrowprops=dict(arrowstyle="-|>", color="#333333", lw=1.1,
                                                                 shrinkA=1, shrinkB=1), zorder=2)
        if label:
            ax.text((x0 + x1) / 2, (y0 + y1) / 2, label, transform=ax.transAxes, fontsize=8, color="#7a2e00",
                    ha="center", va="center", zorder=4, bbox=dict(fc="white", ec="none", pad=0.5, alpha=0.85))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax

"""Devices, seeding, the two-player step, and `train_gan`: that step on the one long-run loop (`loop.fit`).

The step is the lesson, so it is written out in two plain functions, on two primitives:

    d_step -- D ascends V(D, G) on a real batch and a *detached* fake batch
    g_step -- G descends its loss through the *updated*, *frozen* D
    update(opt, loss) -- clear the gradients, backward, step: one player's update
    frozen(D)         -- D's weights get no gradient inside the block (G's step)

Every GAN step of the package (pix2pix, SRGAN, the adversarial MAE, a critic with a penalty) is these four.

`train_gan` hands that step to `loop.fit`, which adds what a long run needs (a progress bar, a metrics log,
sample grids, checkpoints and resume); the step runs under bf16 autocast on CUDA. It is the same step at every
scale.
"""

from __future__ import annotations

import contextlib
import functools
import random
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from . import losses
from .runlog import RunLog

# ----------------------------------------------------------------------------------------------------------
# Devices and precision
# ----------------------------------------------------------------------------------------------------------


def get_device(prefer: str | None = None) -> torch.device:
    """CUDA if present, else Apple MPS, else CPU (or the device named by `prefer`)."""
    if prefer:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def bf16_supported(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu"  # CPU kernels exist, but are slow: autocast() below keeps CPU in fp32


def autocast(device: torch.device) -> Callable[[], contextlib.AbstractContextManager]:
    """A factory of autocast contexts: bf16 on CUDA, a no-op elsewhere (fp32 is faster on CPU)."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return functools.partial(torch.autocast, device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA


def set_threads(n: int | None = None) -> int:
    """Use the cores this process may run on, unless $OMP_NUM_THREADS says otherwise; returns the count."""
    import os

    if n is None and os.environ.get("OMP_NUM_THREADS", "").isdigit():
        n = int(os.environ["OMP_NUM_THREADS"])
    if n is None:
        n = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
    torch.set_num_threads(n)
    return n


# ----------------------------------------------------------------------------------------------------------
# The two-player step
# ----------------------------------------------------------------------------------------------------------


def update(opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One gradient step of the parameters `opt` holds: clear their old gradients, backward, step."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


@contextlib.contextmanager
def frozen(*modules: nn.Module | None):
    """The modules' parameters stop requiring gradients inside the block. G's step needs the gradient of D's
    output with respect to D's *input* only, so backward skips D's weight gradients. `None` is skipped (a step
    run without D, as pix2pix's L1-only ablation)."""
    for m in modules:
        if m is not None and not isinstance(m, nn.Module):
            raise TypeError(f"frozen() takes the modules themselves, got {type(m).__name__}: pass D, not a "
                            "function of it")
    params = [p for m in modules if m is not None for p in m.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def d_step(D: nn.Module, real: torch.Tensor, fake: torch.Tensor, opt_D: torch.optim.Optimizer,
           loss: Callable = losses.d_loss, amp=contextlib.nullcontext) -> dict[str, torch.Tensor]:
    """One update of D: minimise -V(D, G) = -E[log D(x)] - E[log(1 - D(G(z)))]. `D` may be any callable of a
    batch, e.g. `partial(D, y=y)` for a conditional D: nothing is frozen here."""
    with amp():
        real_logits = D(real)  # (B, 1)
        # detach: this loss must move D only; without it backward() would also fill G's gradients
        fake_logits = D(fake.detach())  # (B, 1)
        loss_D = loss(real_logits, fake_logits)
    update(opt_D, loss_D)
    return {"loss_D": loss_D.detach(),
            "D_real": torch.sigmoid(real_logits.detach().float()).mean(),
            "D_fake": torch.sigmoid(fake_logits.detach().float()).mean()}


def g_step(D: nn.Module, fake: torch.Tensor, opt_G: torch.optim.Optimizer,
           loss: Callable = losses.g_loss_nonsaturating, amp=contextlib.nullcontext) -> dict[str, torch.Tensor]:
    """One update of G through the current D, frozen: gradients flow through D to G, D's weights get none.
    A G loss with more terms (an L1 or content loss) or a D with a condition writes the same three lines:
    `with amp(), frozen(D): loss_G = ...`, then `update(opt_G, loss_G)`."""
    with amp(), frozen(D):
        loss_G = loss(D(fake))
    update(opt_G, loss_G)
    return {"loss_G": loss_G.detach()}


def gan_step(G: nn.Module, D: nn.Module, opt_G: torch.optim.Optimizer, opt_D: torch.optim.Optimizer,
             real: torch.Tensor, z_dim: int, *, d_loss: Callable = losses.d_loss,
             g_loss: Callable = losses.g_loss_nonsaturating, amp=contextlib.nullcontext) -> dict[str, torch.Tensor]:
    """D step on (real, G(z)), then G step on the same fake batch through the updated D."""
    z = torch.randn(real.shape[0], z_dim, device=real.device)  # (B, Z)
    with amp():
        fake = G(z)  # same shape as real
    stats = d_step(D, real, fake, opt_D, d_loss, amp)
    stats |= g_step(D, fake, opt_G, g_loss, amp)
    return stats


# ----------------------------------------------------------------------------------------------------------
# A long run: the same step, with progress, a log, samples and checkpoints
# ----------------------------------------------------------------------------------------------------------


def train_gan(G: nn.Module, D: nn.Module, opt_G: torch.optim.Optimizer, opt_D: torch.optim.Optimizer,
              batches, *, steps: int, z_dim: int, d_loss: Callable = losses.d_loss,
              g_loss: Callable = losses.g_loss_nonsaturating, run_dir: Path | str | None = None,
              log_every: int = 50, ckpt_every: int | None = None, sample_every: int | None = None,
              progress: bool = True, desc: str = "GAN",
              on_step: Callable[[int], None] | None = None) -> RunLog:
    """Train for `steps` GAN steps through the one long-run loop (`loop.fit`). With `run_dir`, resume from
    `run_dir/checkpoint.pt` if it exists, save there every `ckpt_every` steps and at the end, log to
    `run_dir/metrics.jsonl` and save sample grids of a fixed z to `run_dir/samples/`.

    `batches` yields real batches and may have `state_dict()` / `load_state_dict()` (see data.Batches), which
    the checkpoint carries so a resumed run sees the same data order as an uninterrupted one.
    """
    from . import loop

    device = next(G.parameters()).device
    amp = autocast(device)
    fixed_z = torch.randn(64, z_dim, generator=torch.Generator().manual_seed(1234)).to(device)  # (64, Z)

    def step(real):
        return gan_step(G, D, opt_G, opt_D, real, z_dim, d_loss=d_loss, g_loss=g_loss, amp=amp)

    def sample(path):
        save_samples(G, fixed_z, path)

    log = loop.fit(step, batches, steps=steps, models={"G": G, "D": D}, optimizers={"G": opt_G, "D": opt_D},
                   run_dir=run_dir, device=device, log_every=log_every, ckpt_every=ckpt_every, sample=sample,
                   sample_every=sample_every, progress=progress, desc=desc, eval_at_end=False, verbose=False,
                   on_step=on_step)
    return log


@torch.no_grad()
def save_samples(G: nn.Module, z: torch.Tensor, path: Path) -> None:
    """Save G(z) as an image grid (images) or a scatter plot (2-D points)."""
    from . import plotting

    was_training = G.training
    G.eval()
    x = G(z).float().cpu()
    G.train(was_training)
    path.parent.mkdir(parents=True, exist_ok=True)
    if x.ndim == 4:
        import torchvision

        torchvision.utils.save_image(plotting.to_unit(x), path, nrow=8)
    else:
        fig = plotting.scatter_2d(x)
        fig.savefig(path, dpi=80)
        plotting.close(fig)

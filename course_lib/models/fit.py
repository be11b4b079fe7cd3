"""One loop for the models whose step is not a plain GAN step (autoencoders, AAE, VAE, VAE-GAN).

It is `train.train_gan` with the step passed in: the step function (written out in the model's module, and in
the notebook) does the lesson; this loop only adds a progress bar, the metrics log, sample grids, and
checkpoints with resume (the same `checkpoint` and `runlog` machinery as every other run).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ..checkpoint import load_checkpoint, save_checkpoint
from ..runlog import RunLog


def fit(step_fn: Callable[[torch.Tensor], dict], batches, *, steps: int, models: dict[str, nn.Module],
        optimizers: dict[str, torch.optim.Optimizer], device: torch.device | str = "cpu",
        run_dir: Path | str | None = None, log_every: int = 50, ckpt_every: int | None = None,
        sample_fn: Callable[[Path], None] | None = None, sample_every: int | None = None,
        progress: bool = True, desc: str = "train") -> RunLog:
    """Call `step_fn(batch)` for `steps` batches of `batches` (which yields x or (x, y) and may have
    state_dict / load_state_dict, like data.Batches). `step_fn` returns a dict of scalar tensors, logged every
    `log_every` steps. With `run_dir`: resume from run_dir/checkpoint.pt when it exists, save every
    `ckpt_every` steps and at the end, log to run_dir/metrics.jsonl, and call `sample_fn(path)` every
    `sample_every` steps to write a figure under run_dir/samples/."""
    from tqdm.auto import tqdm

    run_dir = Path(run_dir) if run_dir is not None else None
    ckpt = run_dir / "checkpoint.pt" if run_dir is not None else None
    log = RunLog(run_dir / "metrics.jsonl" if run_dir is not None else None)
    start = 0
    if ckpt is not None and ckpt.exists():
        state = load_checkpoint(ckpt, models=models, optimizers=optimizers, map_location=device)
        start = state["step"]
        if hasattr(batches, "load_state_dict") and "batches" in state["extra"]:
            batches.load_state_dict(state["extra"]["batches"])
        log.truncate(start)

    for m in models.values():
        m.train()
    bar = tqdm(range(start, steps), initial=start, total=steps, desc=desc, disable=not progress, unit="step",
               mininterval=1.0)
    for step in bar:
        batch = next(batches)
        batch = tuple(t.to(device, non_blocking=True) for t in batch) if isinstance(batch, tuple) \
            else batch.to(device, non_blocking=True)
        stats = step_fn(batch)
        done = step + 1
        if done % log_every == 0 or done == steps:
            row = {k: float(v) for k, v in stats.items()}
            log.log(done, **row)
            bar.set_postfix({k: f"{v:.3f}" for k, v in list(row.items())[:3]}, refresh=False)
        if run_dir is not None and sample_fn is not None and sample_every and (done % sample_every == 0
                                                                                or done == steps):
            sample_fn(run_dir / "samples" / f"step_{done:07d}.png")
        if ckpt is not None and ((ckpt_every and done % ckpt_every == 0) or done == steps):
            extra = {"batches": batches.state_dict()} if hasattr(batches, "state_dict") else {}
            save_checkpoint(ckpt, step=done, models=models, optimizers=optimizers, extra=extra)
    bar.close()
    for m in models.values():
        m.eval()
    return log

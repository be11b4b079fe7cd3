"""The one long-run loop: every `course train` recipe, `train.train_gan` and the notebooks' long runs call `fit`.

The step function passed in is the lesson (a GAN step, an ELBO step, a policy-gradient step...): it takes one
batch and returns a dict of scalar tensors. `fit` is the plumbing around it, the same for every model:

    resume      -- from run_dir/checkpoint.pt through `checkpoint.resume`: weights, optimizers, RNG states, the
                   data order (batches.state_dict), the best metric so far; the log is cut back to that step,
                   and the checkpoint's extra["resumed_from"] lists the steps the run was resumed at
    progress    -- a tqdm bar with the step function's first statistics
    log         -- run_dir/metrics.jsonl (`runlog.RunLog`) every `log_every` steps and at the end
    samples     -- `sample(path)` every `sample_every` steps, under run_dir/samples/
    evaluation  -- `evaluate(step) -> dict` every `eval_every` steps, logged; with `best`, the checkpoint of the
                   best value of that metric is kept as run_dir/best.pt
    lr schedule -- `lr(step) -> factor`: each parameter group's learning rate is its base rate times the factor
    checkpoints -- every `ckpt_every` steps and at the end (atomic, see `checkpoint`)
    DDP         -- only the main process logs, samples and saves; `prepare` wraps models for torchrun

`prepare` does what full scale adds around the models without touching the step: channels_last, torch.compile,
DistributedDataParallel. bf16 autocast is the `amp` factory (`train.autocast`) the step receives, since only
the step knows which lines run under it (backward never does). `fit_phases` runs several named phases (e.g.
pre-training then adversarial training), each a `fit` with its own checkpoint folder, so a run resumes inside
any phase and a finished phase is not redone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from . import distributed
from .checkpoint import resume, save_checkpoint
from .runlog import RunLog


def prepare(models: dict[str, nn.Module], device: torch.device, *, channels_last: bool = False,
            compile: bool = False) -> dict[str, nn.Module]:
    """The models a step should call: moved to `device`, channels_last (in place), wrapped in DDP under
    torchrun, then compiled. Checkpoints unwrap them (`checkpoint._unwrap`), so the saved weights are the plain
    modules'. The plain modules in `models` stay usable for sampling and evaluation."""
    out = {}
    for name, m in models.items():
        m.to(device)
        if channels_last:
            m.to(memory_format=torch.channels_last)
        w = distributed.wrap(m, device)
        out[name] = torch.compile(w) if compile else w
    return out


def _to(batch, device):
    if device is None:
        return batch
    if isinstance(batch, (tuple, list)):
        return tuple(t.to(device, non_blocking=True) for t in batch)
    return batch.to(device, non_blocking=True)


class Groups:
    """`n` batches at a time, for a step that draws several (n_critic D updates each on a fresh real batch:
    `step(group)` passes `iter(group)` on); the data order, and so the resume, is the inner stream's."""

    def __init__(self, batches, n: int):
        self.batches, self.n = batches, n

    def __next__(self):
        return [next(self.batches) for _ in range(self.n)]

    def state_dict(self):
        return self.batches.state_dict()

    def load_state_dict(self, state):
        self.batches.load_state_dict(state)


@dataclass
class _Run:
    """The files of a run and what a checkpoint carries besides weights."""
    run_dir: Path | None
    models: dict
    optimizers: dict
    batches: object
    extra: dict = field(default_factory=dict)

    def save(self, name: str, step: int, best: float | None) -> None:
        extra = dict(self.extra)
        if hasattr(self.batches, "state_dict"):
            extra["batches"] = self.batches.state_dict()
        if best is not None:
            extra["best"] = best
        save_checkpoint(self.run_dir / name, step=step, models=self.models, optimizers=self.optimizers, extra=extra)


def _resume(run: _Run, log: RunLog, device, verbose: bool) -> tuple[int, dict | None]:
    if run.run_dir is None:
        return 0, None
    state = resume(run.run_dir / "checkpoint.pt", models=run.models, optimizers=run.optimizers, log=log,
                   batches=run.batches if hasattr(run.batches, "load_state_dict") else None,
                   map_location=device or "cpu", verbose=verbose)
    if state is None:
        return 0, None
    run.extra["resumed_from"] = [*state["extra"].get("resumed_from", []), state["step"]]
    return state["step"], state


class _Clock:
    """Steps per second between two log rows (CUDA synchronised first: kernels run asynchronously)."""

    def __init__(self, device, start: int):
        self.cuda = device is not None and torch.device(device).type == "cuda" or torch.cuda.is_initialized()
        self.t, self.step = time.perf_counter(), start

    def rates(self, done: int, more) -> dict:
        if self.cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        sps = (done - self.step) / max(t - self.t, 1e-9)
        self.t, self.step = t, done
        return {"steps_per_s": sps, **(more(sps) if callable(more) else {})}


def _set_lr(optimizers: dict, base_lr: dict, factor: float) -> None:
    for k, o in optimizers.items():
        for g, base in zip(o.param_groups, base_lr[k]):
            g["lr"] = base * factor


def _every(n: int | None, done: int, steps: int) -> bool:
    return bool(n) and (done % n == 0 or done == steps)


def fit(step: Callable, batches, *, steps: int, models: dict[str, nn.Module],
        optimizers: dict[str, torch.optim.Optimizer], run_dir: Path | str | None = None,
        device: torch.device | str | None = None, log_every: int = 50, ckpt_every: int | None = None,
        sample: Callable[[Path], None] | None = None, sample_every: int | None = None,
        evaluate: Callable[[int], dict] | None = None, eval_every: int | None = None, best: str | None = None,
        lr: Callable[[int], float] | None = None, extra: dict | None = None, progress: bool = True,
        desc: str = "train", eval_at_end: bool = True, throughput: bool | Callable[[float], dict] = False,
        verbose: bool = True, on_step: Callable[[int], None] | None = None) -> RunLog:
    """Call `step(batch)` for the steps from the checkpoint's (0 on a fresh start) to `steps`, with a log,
    samples, evaluations, checkpoints and resume (see the module's docstring). `batches` yields a tensor or a
    tuple of tensors (moved to `device` when given) and may have state_dict / load_state_dict (data.Batches).
    Models are put in train mode, and in eval mode at the end unless `eval_at_end` is False. `throughput` adds
    steps/s since the last log row to the log (a function of it adds what it returns, e.g. images/s and MFU);
    `verbose` prints where a run resumed; `on_step(step)` is called after each step's checkpoint (a test
    interrupts a run there)."""
    from tqdm.auto import tqdm

    run_dir = Path(run_dir) if run_dir is not None else None
    main = distributed.is_main()
    log = RunLog(run_dir / "metrics.jsonl" if run_dir is not None and main else None)
    run = _Run(run_dir, models, optimizers, batches, dict(extra or {}))
    base_lr = {k: [g["lr"] for g in o.param_groups] for k, o in optimizers.items()}  # before a resume decays them
    start, state = _resume(run, log, device, verbose and main)
    best_value = float(state["extra"].get("best", float("inf"))) if state else float("inf")
    for m in models.values():
        m.train()
    bar = tqdm(range(start, steps), initial=start, total=steps, desc=desc, disable=not (progress and main),
               unit="step", mininterval=1.0)
    clock = _Clock(device, start)
    for i in bar:
        if lr is not None:
            _set_lr(optimizers, base_lr, lr(i))
        stats = step(_to(next(batches), device))
        done = i + 1
        if _every(log_every, done, steps) or done == steps:
            row = {k: float(v) for k, v in stats.items()}
            if throughput:
                row |= clock.rates(done, throughput)
            log.log(done, **row)
            bar.set_postfix({k: f"{v:.3f}" for k, v in list(row.items())[:3]}, refresh=False)
        if evaluate is not None and _every(eval_every, done, steps):
            metrics = evaluate(done) or {}  # {} on the processes that are not the main one
            if metrics:
                log.log(done, **metrics)
            if best is not None and metrics and metrics[best] < best_value:
                best_value = metrics[best]
                if run_dir is not None:
                    run.save("best.pt", done, best_value)
        if main and run_dir is not None and sample is not None and _every(sample_every, done, steps):
            sample(run_dir / "samples" / f"step_{done:07d}.png")
        if main and run_dir is not None and (_every(ckpt_every, done, steps) or done == steps):
            run.save("checkpoint.pt", done, best_value if best is not None else None)
        if on_step is not None:
            on_step(done)
    bar.close()
    if eval_at_end:
        for m in models.values():
            m.eval()
    return log


@dataclass
class Phase:
    """One phase of a run: its own step function, step count, data and the optimizers it updates."""
    name: str
    step: Callable
    steps: int
    batches: object
    optimizers: dict[str, torch.optim.Optimizer]
    options: dict = field(default_factory=dict)  # any other keyword of `fit` (log_every, sample, lr, ...)


def fit_phases(phases: list[Phase], *, models: dict[str, nn.Module], run_dir: Path | str | None = None,
               **common) -> dict[str, RunLog]:
    """Each phase in order, a `fit` into run_dir/<phase name>/ (its own checkpoint and log): rerunning resumes
    inside the phase that was interrupted and skips the finished ones (their checkpoint is at their last step)."""
    logs = {}
    for ph in phases:
        sub = Path(run_dir) / ph.name if run_dir is not None else None
        logs[ph.name] = fit(ph.step, ph.batches, steps=ph.steps, models=models, optimizers=ph.optimizers,
                            run_dir=sub, **(common | {"desc": ph.name} | ph.options))
    return logs

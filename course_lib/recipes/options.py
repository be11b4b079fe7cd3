"""The options every `course train` recipe shares, declared once, and the first lines of every recipe.

    --scale smoke|small|full   default: $COURSE_SCALE, else small (a bad name is one clear line, exit 2)
    --steps N                  the recipe's training steps (default: from the scale)
    --run-dir DIR              checkpoint.pt, metrics.jsonl and samples/ go here (a path, as given); default:
                               the runs folder ($COURSE_RUNS_DIR, else runs/) / the recipe's name
    --device cpu|cuda|...      default: cuda if present, else cpu (under torchrun: this process's GPU)
    --seed N                   default 0
"""

from __future__ import annotations

import argparse
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from .. import data, distributed
from ..scale import Scale, use_scale
from ..train import autocast, seed_everything


def parser(recipe: str, description: str | None = None, *, steps_help: str = "the scale's image_steps",
           run_dir: str | None = None) -> argparse.ArgumentParser:
    """An argument parser for `course train <recipe>` with the shared options already declared."""
    p = argparse.ArgumentParser(prog=f"course train {recipe}", description=description)
    p.add_argument("--scale", default=None, help="smoke | small | full (default: $COURSE_SCALE or small)")
    p.add_argument("--steps", type=int, default=None, help=f"training steps (default: {steps_help})")
    p.add_argument("--run-dir", default=None, help=f"a path, as given (default: <runs folder>/{run_dir or recipe})")
    p.add_argument("--device", default=None, help="default: cuda if present, else cpu")
    p.add_argument("--seed", type=int, default=0)
    return p


SHARED = ("--scale", "--steps", "--run-dir", "--device", "--seed")


@dataclass(frozen=True)
class Run:
    """What a recipe knows once its options are parsed: the scale, where it runs, and its folder."""
    scale: Scale
    device: torch.device
    amp: Callable[[], contextlib.AbstractContextManager]  # bf16 autocast on CUDA, a no-op elsewhere
    rank: int
    world: int
    seed: int
    run_dir: Path


def start(args, name: str, *, seed: bool = True) -> Run:
    """The scale (exported to $COURSE_SCALE, which the feature network reads), the process group under
    torchrun, the device, the seed, and the run folder: runs/<--run-dir or name>."""
    S = use_scale(args.scale)
    rank, world, device = distributed.setup()
    if args.device:
        device = torch.device(args.device)
    if seed:
        seed_everything(args.seed)
    run_dir = Path(args.run_dir) if args.run_dir else data.runs_dir() / name
    return Run(S, device, autocast(device), rank, world, args.seed, run_dir)

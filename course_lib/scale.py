"""Scale presets. `COURSE_SCALE=smoke|small|full` picks one; it changes numbers only, never the code path.

    smoke -- CI on 2 CPU cores: every cell runs in seconds; the numbers it prints mean little
    small -- a laptop CPU: each notebook shows its phenomenon in at most ~10 minutes (the default)
    full  -- one GPU (or several through torchrun): the published numbers
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from .errors import CourseError

ENV_VAR = "COURSE_SCALE"
DEFAULT = "small"


@dataclass(frozen=True)
class Scale:
    name: str
    # toy 1-D / 2-D GANs (chapters 01 and 03)
    toy_steps: int  # optimisation steps of a toy GAN
    toy_batch: int
    toy_eval_samples: int  # samples drawn to count modes
    # image models
    image_steps: int  # optimisation steps of an image model
    batch_size: int
    n_train: int | None  # training images used (None: the whole training set)
    n_eval: int  # generated / held-out images for metrics
    width: int  # base width (hidden units or channels) of the image models
    image_size: int  # side of the images fed to models that resize (MNIST stays 28 where models allow)
    # logging and checkpoints for the long runs
    log_every: int
    ckpt_every: int


PRESETS: dict[str, Scale] = {
    "smoke": Scale("smoke", toy_steps=200, toy_batch=256, toy_eval_samples=2_000,
                   image_steps=30, batch_size=64, n_train=2_048, n_eval=256, width=32, image_size=28,
                   log_every=10, ckpt_every=20),
    "small": Scale("small", toy_steps=4_000, toy_batch=512, toy_eval_samples=10_000,
                   image_steps=1_500, batch_size=64, n_train=20_000, n_eval=2_000, width=128, image_size=28,
                   log_every=50, ckpt_every=500),
    "full": Scale("full", toy_steps=25_000, toy_batch=512, toy_eval_samples=100_000,
                  image_steps=100_000, batch_size=64, n_train=None, n_eval=50_000, width=256, image_size=32,
                  log_every=100, ckpt_every=5_000),
}


class ScaleError(CourseError, ValueError):
    pass


def get_scale(name: str | None = None) -> Scale:
    """The preset named by `name`, else by $COURSE_SCALE, else `small`."""
    source = "argument"
    if name is None:
        name, source = os.environ.get(ENV_VAR, DEFAULT), "$" + ENV_VAR
    key = name.strip().lower()
    if key not in PRESETS:
        raise ScaleError(
            f"unknown scale {name!r} (from {source}); "
            f"valid scales: {', '.join(PRESETS)}. Example: {ENV_VAR}=smoke jupyter lab"
        )
    return PRESETS[key]


def describe(scale: Scale) -> str:
    return ", ".join(f"{f.name}={getattr(scale, f.name)}" for f in fields(scale))


def use_scale(name: str | None = None) -> Scale:
    """The preset `name` (else $COURSE_SCALE), also exported to $COURSE_SCALE so that everything a run calls
    (e.g. the feature network of the metrics) sees the same scale. For command-line recipes' --scale."""
    scale = get_scale(name)
    os.environ[ENV_VAR] = scale.name
    return scale

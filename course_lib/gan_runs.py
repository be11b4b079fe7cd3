"""The image GANs of chapters 02-03 at full scale: their recipes (`ARCHS`), models, sampling, and `course bench`.

`course train dcgan | sngan | wgan-gp` is `recipes/gan.py`: the notebooks' step on the one loop (`loop.fit`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from . import data, gan_zoo, train
from .errors import ImageSizeError

ARCHS = {
    # name: (recipe, model family)
    "dcgan": (gan_zoo.Recipe("dcgan", loss="non-saturating", lr_G=2e-4, lr_D=2e-4), "dcgan"),
    "sngan": (gan_zoo.Recipe("sngan", loss="hinge", n_critic=5, spectral_norm=True, lr_G=2e-4, lr_D=2e-4,
                             betas=(0.0, 0.9)), "resnet"),
    "wgan-gp": (gan_zoo.Recipe("wgan-gp", loss="wgan", n_critic=5, gp=10.0, lr_G=2e-4, lr_D=2e-4), "resnet"),
}


def build_models(arch: str, *, channels: int, image_size: int, width: int):
    recipe, family = ARCHS[arch]
    if family == "dcgan":
        from .models import dcgan

        G, D = dcgan.build(z_dim=100, channels=channels, image_size=image_size, width=width)
        return G, D, 100
    from .models import resnet_gan

    if image_size != 32:
        raise ImageSizeError(f"the ResNet GAN is built for 32x32 images, got {image_size}x{image_size}: "
                             f"use a dataset of 32x32 images (cifar10) or `course train dcgan`")
    G, D = resnet_gan.build(z_dim=128, channels=channels, g_width=2 * width, d_width=width,
                            spectral_norm=recipe.spectral_norm)
    return G, D, 128


@torch.no_grad()
def generate(G, n: int, z_dim: int, device, batch: int = 500, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, z_dim, generator=g)  # (n, Z)
    return torch.cat([G(z[i:i + batch].to(device)).float().cpu() for i in range(0, n, batch)])  # (n, C, H, W)


# ----------------------------------------------------------------------------------------------------------
# course bench --toy-seeds: what S seeds of a toy GAN cost as one batch (every recipe's bench: gpu_check)
# ----------------------------------------------------------------------------------------------------------


def bench_toy_seeds(args) -> int:
    """Seconds per G step of a toy recipe (chapters 01/03 MLPs on the 5x5 grid, CPU) for 1 seed and for S seeds as
    one batch; the ratio is what S seeds cost against one."""
    recipe = gan_zoo.TOY_RECIPES[args.toy_recipe]
    grid = data.grid()
    batch = args.batch_size if args.batch_size != 64 else 128  # the chapters' per-seed toy batch at small
    steps = args.steps

    def per_step(seeds):
        kw = dict(batch_size=batch, seeds=seeds, z_dim=2, log_every=steps, progress=False)
        gan_zoo.train_toy_seeds(recipe, grid, steps=args.warmup, **kw)
        t = time.perf_counter()
        gan_zoo.train_toy_seeds(recipe, grid, steps=steps, **kw)
        return (time.perf_counter() - t) / steps

    one, many = per_step([0]), per_step(list(range(args.toy_seeds)))
    row = {"recipe": recipe.name, "batch": batch, "seeds": args.toy_seeds, "threads": torch.get_num_threads(),
           "s_per_g_step_1": one, f"s_per_g_step_{args.toy_seeds}": many, "ratio": many / one}
    print(f"{recipe.name}, batch {batch} per seed, {torch.get_num_threads()} thread(s): 1 seed {1e3 * one:.1f} ms "
          f"per G step, {args.toy_seeds} seeds as one batch {1e3 * many:.1f} ms: {many / one:.2f}x "
          f"(separate runs: {args.toy_seeds}x)")
    out = Path(args.out) if args.out else data.runs_dir() / "bench_toy_seeds.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(row, indent=2))
    return 0

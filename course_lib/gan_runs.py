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
                             f"use a 32x32 dataset (cifar10) or the dcgan family")
    G, D = resnet_gan.build(z_dim=128, channels=channels, g_width=2 * width, d_width=width,
                            spectral_norm=recipe.spectral_norm)
    return G, D, 128


@torch.no_grad()
def generate(G, n: int, z_dim: int, device, batch: int = 500, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, z_dim, generator=g)  # (n, Z)
    return torch.cat([G(z[i:i + batch].to(device)).float().cpu() for i in range(0, n, batch)])  # (n, C, H, W)


# ----------------------------------------------------------------------------------------------------------
# course bench: training throughput at full-scale settings, on the device present
# ----------------------------------------------------------------------------------------------------------


def bench(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="course bench", description="GAN training throughput (G steps/s, images/s). "
                                "Timed on random tensors of CIFAR-10's shape: a speed measurement, not training.")
    p.add_argument("--archs", default=",".join(ARCHS))
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--width", type=int, default=64, help="base width (full-scale DCGAN: 64; ResNet D: 128 = 2x)")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--compile", action="store_true")
    p.add_argument("--device", default=None)
    p.add_argument("--out", default=None, help="JSON file (default: runs/bench.json)")
    p.add_argument("--toy-seeds", type=int, default=0, metavar="S",
                   help="instead: the cost of S seeds of a chapter-01/03 toy GAN trained as one batch, against one seed")
    p.add_argument("--toy-recipe", default="non-saturating", help="a key of gan_zoo.TOY_RECIPES (with --toy-seeds)")
    args = p.parse_args(argv)
    if args.toy_seeds:
        return bench_toy_seeds(args)
    device = train.get_device(args.device)
    amp = train.autocast(device)
    rows = []
    for arch in args.archs.split(","):
        recipe, family = ARCHS[arch]
        width = args.width if family == "dcgan" else 2 * args.width
        G, D, z_dim = build_models(arch, channels=3, image_size=32, width=width)
        G, D = G.to(device), D.to(device)
        if device.type == "cuda":
            G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
        opt_G, opt_D = recipe.optimizers(G, D)
        x = torch.rand(args.batch_size * 8, 3, 32, 32, device=device) * 2 - 1  # (8B, 3, 32, 32)
        batches = data.Batches(x, batch_size=args.batch_size)
        Gc, Dc = (torch.compile(G), torch.compile(D)) if args.compile else (G, D)

        def step():
            gan_zoo.zoo_step(Gc, Dc, opt_G, opt_D, batches, z_dim, d_loss=recipe.d_loss, g_loss=recipe.g_loss,
                             n_critic=recipe.n_critic, penalty=recipe.penalty(), amp=amp)

        for _ in range(args.warmup):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(args.steps):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        sec = time.perf_counter() - t
        rows.append({"arch": arch, "device": str(device), "batch": args.batch_size, "width": width,
                     "n_critic": recipe.n_critic, "g_steps_per_s": args.steps / sec,
                     "images_per_s": args.steps * args.batch_size * (recipe.n_critic + 1) / sec,
                     "bf16": device.type == "cuda", "compile": args.compile})
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    print(f"device: {name}")
    print(f"{'arch':8} {'batch':>5} {'width':>5} {'n_critic':>8} {'G steps/s':>10} {'images/s':>10}")
    for r in rows:
        print(f"{r['arch']:8} {r['batch']:>5} {r['width']:>5} {r['n_critic']:>8} {r['g_steps_per_s']:>10.2f} "
              f"{r['images_per_s']:>10.0f}")
    out = Path(args.out) if args.out else data.runs_dir() / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"device": name, "torch": torch.__version__, "rows": rows}, indent=2))
    print(f"saved {out}")
    return 0


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

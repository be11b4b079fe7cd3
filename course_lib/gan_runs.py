"""Full-scale runs of chapters 02-03: `course train dcgan|sngan|wgan-gp`, and `course bench --toy-seeds`.

The same step as the notebooks (`gan_zoo.zoo_step`, i.e. `train.d_step` then `train.g_step`), wrapped with what
a GPU run needs: bf16 autocast on CUDA, channels_last, optional torch.compile, DistributedDataParallel under
torchrun (each process a shard of the global batch), checkpoints every N steps with resume, the best checkpoint
kept by FD/FID, sample grids, a metrics log and a progress bar with steps/s. It runs on a CPU too (tiny settings).

    course train dcgan   --dataset cifar10 --scale full      # DCGAN, non-saturating, Adam(2e-4, 0.5)
    course train sngan   --dataset cifar10 --scale full      # ResNet + spectral norm, hinge, n_critic 5
    course train wgan-gp --dataset cifar10 --scale full      # ResNet, Wasserstein + GP (λ = 10), n_critic 5
    torchrun --nproc_per_node=8 -m course_lib.cli train sngan --dataset cifar10 --scale full
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from .errors import ImageSizeError

from . import data, distributed, features, gan_zoo, metrics, train
from .checkpoint import resume, save_checkpoint
from .runlog import RunLog
from .scale import get_scale

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


def _parser(arch: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"course train {arch}", description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="cifar10")
    p.add_argument("--scale", default=None, help="smoke | small | full (default: $COURSE_SCALE or small)")
    p.add_argument("--steps", type=int, default=None, help="G steps (default: the scale's image_steps)")
    p.add_argument("--batch-size", type=int, default=None, help="global batch (default: the scale's)")
    p.add_argument("--width", type=int, default=None, help="base width (default: the scale's width / 4)")
    p.add_argument("--run-dir", default=None, help=f"default: runs/{arch}-DATASET-SCALE")
    p.add_argument("--ckpt-every", type=int, default=None)
    p.add_argument("--eval-every", type=int, default=None, help="steps between FD/FID evaluations")
    p.add_argument("--n-eval", type=int, default=None, help="samples per evaluation (default: the scale's n_eval)")
    p.add_argument("--compile", action="store_true", help="torch.compile both players")
    p.add_argument("--device", default=None)
    p.add_argument("--seed", type=int, default=0)
    return p


@torch.no_grad()
def generate(G, n: int, z_dim: int, device, batch: int = 500, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, z_dim, generator=g)  # (n, Z)
    return torch.cat([G(z[i:i + batch].to(device)).float().cpu() for i in range(0, n, batch)])  # (n, C, H, W)


def run(arch: str, argv: list[str] | None) -> int:
    args = _parser(arch).parse_args(argv)
    if args.scale:
        os.environ["COURSE_SCALE"] = get_scale(args.scale).name
    S = get_scale()
    rank, world, device = distributed.setup()
    if args.device:
        device = torch.device(args.device)
    recipe, _ = ARCHS[arch]
    steps = args.steps or S.image_steps
    batch = args.batch_size or S.batch_size
    width = args.width or max(8, S.width // 4)
    n_eval = args.n_eval or S.n_eval
    ckpt_every, eval_every = args.ckpt_every or S.ckpt_every, args.eval_every or S.ckpt_every
    info = data.DATASETS[data._canonical(args.dataset)]
    run_dir = Path(args.run_dir or data.runs_dir() / f"{arch}-{info.name}-{S.name}")

    x, _ = data.load_images(info.name, train=True, n=S.n_train)  # (N, C, H, W) in [-1, 1]
    train.seed_everything(args.seed)
    G, D, z_dim = build_models(arch, channels=info.channels, image_size=info.size, width=width)
    G, D = G.to(device), D.to(device)
    if device.type == "cuda":
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    opt_G, opt_D = recipe.optimizers(G, D)
    models, opts = {"G": G, "D": D}, {"G": opt_G, "D": opt_D}
    batches = data.Batches(x.to(device), batch_size=batch // world, seed=args.seed + rank)
    ckpt, best = run_dir / "checkpoint.pt", run_dir / "best.pt"
    state = resume(ckpt, models=models, optimizers=opts, batches=batches, map_location=device,
                   verbose=distributed.is_main())
    start = state["step"] if state else 0
    best_fd = float(state["extra"].get("best_fd", float("inf"))) if state else float("inf")
    Gw, Dw = distributed.wrap(G, device), distributed.wrap(D, device)
    if args.compile:
        Gw, Dw = torch.compile(Gw), torch.compile(Dw)
    amp = train.autocast(device)
    log = RunLog(run_dir / "metrics.jsonl" if distributed.is_main() else None)
    log.truncate(start)
    net = ref = None
    fixed_z = torch.randn(64, z_dim, generator=torch.Generator().manual_seed(1234)).to(device)  # (64, Z)

    def save(path, step):
        save_checkpoint(path, step=step, models=models, optimizers=opts,
                        extra={"batches": batches.state_dict(), "best_fd": best_fd, "arch": arch})

    from tqdm.auto import tqdm

    bar = tqdm(range(start, steps), initial=start, total=steps, desc=f"{arch} {info.name}", unit="step",
               disable=not distributed.is_main(), mininterval=2.0)
    for step in bar:
        stats = gan_zoo.zoo_step(Gw, Dw, opt_G, opt_D, batches, z_dim, d_loss=recipe.d_loss, g_loss=recipe.g_loss,
                                 n_critic=recipe.n_critic, penalty=recipe.penalty(), amp=amp)
        done = step + 1
        if done % S.log_every == 0 or done == steps:
            row = {k: float(v) for k, v in stats.items()}
            log.log(done, **row, steps_per_s=bar.format_dict.get("rate") or 0.0)
        if done % eval_every == 0 or done == steps:
            G.eval()
            fake = distributed.gather(generate(G, n_eval // world, z_dim, device, seed=done * world + rank).to(device))
            G.train()
            if distributed.is_main():
                if net is None:
                    net = features.feature_network(info.name, device=device)
                    ref = features.extract_features(net, data.load_images(info.name, train=True, n=n_eval, seed=1)[0])
                fd = metrics.frechet_distance(ref, features.extract_features(net, fake.cpu()))
                log.log(done, fd=fd)
                bar.write(f"step {done}: {features.fd_name(net)} = {fd:.2f} ({n_eval} samples vs train)")
                if fd < best_fd:
                    best_fd = fd
                    save(best, done)
                train.save_samples(G, fixed_z, run_dir / "samples" / f"step_{done:07d}.png")
        if distributed.is_main() and (done % ckpt_every == 0 or done == steps):
            save(ckpt, done)
    bar.close()
    distributed.cleanup()
    return 0


def dcgan_main(argv=None) -> int:
    return run("dcgan", argv)


def sngan_main(argv=None) -> int:
    return run("sngan", argv)


def wgan_gp_main(argv=None) -> int:
    return run("wgan-gp", argv)


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

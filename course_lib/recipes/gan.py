"""`course train dcgan | sngan | wgan-gp`: chapters 02-03 at full scale.

The notebooks' step (`gan_zoo.zoo_step`: `train.d_step`, then `train.g_step`) on the one loop (`loop.fit`), with
what a GPU run adds around it: bf16 autocast on CUDA, channels_last, optional torch.compile, DDP under torchrun,
the best checkpoint kept by FD / FID, sample grids. Under torchrun every process draws the same global batch
(and the same global noise) and keeps its own shard of it, so N processes take the step one process would take
on the whole batch (tests/test_distributed.py checks it).

    course train dcgan   --dataset cifar10 --scale full      # DCGAN, non-saturating, Adam(2e-4, 0.5)
    course train sngan   --dataset cifar10 --scale full      # ResNet + spectral norm, hinge, n_critic 5
    course train wgan-gp --dataset cifar10 --scale full      # ResNet, Wasserstein + GP (λ = 10), n_critic 5
    torchrun --nproc_per_node=8 -m course_lib.cli train sngan --dataset cifar10 --scale full
"""

from __future__ import annotations

import contextlib

import torch

from .. import data, distributed, features, gan_zoo, loop, metrics, train
from ..gan_runs import ARCHS, build_models, generate
from . import options



def sizes(S) -> dict:
    """The recipe's default sizes at scale S (one place: the recipe and `course bench` read them)."""
    return {"width": max(8, S.width // 4)}


def make_step(G, D, opt_G, opt_D, recipe: gan_zoo.Recipe, z_dim: int, *, amp=contextlib.nullcontext,
              rank: int = 0, world: int = 1):
    """The step `loop.fit` calls on a group of n_critic real batches (this process's shards). The noise, and the
    gradient penalty's interpolation weights, are drawn for the global batch and sharded like the data."""
    def global_draw(draw):
        return lambda n: distributed.shard(draw(n * world), rank, world)  # (B · world, ...) -> (B, ...)

    device = next(iter(G.parameters())).device
    sample_z = global_draw(lambda n: torch.randn(n, z_dim, device=device))  # (B, Z)
    # one process draws ε exactly as the penalty does by default, so its numbers do not depend on `world`
    penalty = recipe.penalty(global_draw(lambda n: torch.rand(n, device=device)) if world > 1 else None)

    def step(group):
        return gan_zoo.zoo_step(G, D, opt_G, opt_D, iter(group), z_dim, d_loss=recipe.d_loss, g_loss=recipe.g_loss,
                                n_critic=recipe.n_critic, penalty=penalty, amp=amp, sample_z=sample_z)
    return step


def _parser(arch: str):
    p = options.parser(arch, __doc__.split("\n\n")[0], run_dir=f"{arch}-DATASET-SCALE")
    p.add_argument("--dataset", default="cifar10")
    p.add_argument("--batch-size", type=int, default=None, help="global batch (default: the scale's)")
    p.add_argument("--width", type=int, default=None, help="base width (default: the scale's width / 4)")
    p.add_argument("--ckpt-every", type=int, default=None)
    p.add_argument("--eval-every", type=int, default=None, help="steps between FD/FID evaluations")
    p.add_argument("--n-eval", type=int, default=None, help="samples per evaluation (default: the scale's n_eval)")
    p.add_argument("--compile", action="store_true", help="torch.compile both players")
    return p


def _evaluator(G, z_dim: int, dataset: str, n_eval: int, r: options.Run):
    cache = {}

    def evaluate(done: int) -> dict:
        G.eval()
        fake = distributed.gather(generate(G, n_eval // r.world, z_dim, r.device, seed=done * r.world + r.rank)
                                  .to(r.device))  # (n_eval, C, H, W)
        G.train()
        if not distributed.is_main():
            return {}
        if not cache:
            cache["net"] = net = features.feature_network(dataset, device=r.device)
            cache["ref"] = features.extract_features(net, data.load_images(dataset, train=True, n=n_eval, seed=1)[0])
        fd = metrics.frechet_distance(cache["ref"], features.extract_features(cache["net"], fake.cpu()))
        print(f"step {done}: {features.fd_name(cache['net'])} = {fd:.2f} ({n_eval} samples vs train)")
        return {"fd": fd}
    return evaluate


def fit_gan(G, D, recipe: gan_zoo.Recipe, z_dim: int, x: torch.Tensor, *, steps: int, batch: int, seed: int = 0,
            rank: int = 0, world: int = 1, device=torch.device("cpu"), amp=contextlib.nullcontext,
            channels_last: bool = False, compile: bool = False, **fit_options):
    """The recipe's training path, the same for one process and for N under torchrun (the DDP test runs it):
    the models prepared (channels_last, DDP, compile), every process drawing the same global batch of `batch`
    images (same seed) and keeping its shard, `steps` steps of `make_step` on `loop.fit`."""
    w = loop.prepare({"G": G, "D": D}, device, channels_last=channels_last, compile=compile)
    opt_G, opt_D = recipe.optimizers(G, D)
    batches = distributed.ShardedBatches(data.Batches(x, batch_size=batch, seed=seed), rank, world)
    return loop.fit(make_step(w["G"], w["D"], opt_G, opt_D, recipe, z_dim, amp=amp, rank=rank, world=world),
                    loop.Groups(batches, recipe.n_critic), steps=steps, models={"G": G, "D": D},
                    optimizers={"G": opt_G, "D": opt_D}, **fit_options)


def run(arch: str, argv: list[str] | None) -> int:
    args = _parser(arch).parse_args(argv)
    info = data.DATASETS[data._canonical(args.dataset)]
    S = options.use_scale(args.scale)
    r = options.start(args, f"{arch}-{info.name}-{S.name}", seed=False)
    recipe, _ = ARCHS[arch]
    eval_every = args.eval_every or S.ckpt_every
    x, _ = data.load_images(info.name, train=True, n=S.n_train)  # (N, C, H, W) in [-1, 1]; missing data stops here
    train.seed_everything(args.seed)
    width = args.width or sizes(S)["width"]
    G, D, z_dim = build_models(arch, channels=info.channels, image_size=info.size, width=width)
    cuda = r.device.type == "cuda"
    x = x.to(r.device, memory_format=torch.channels_last if cuda else torch.contiguous_format)
    fixed_z = torch.randn(64, z_dim, generator=torch.Generator().manual_seed(1234)).to(r.device)  # (64, Z)
    fit_gan(G, D, recipe, z_dim, x, steps=args.steps or S.image_steps, batch=args.batch_size or S.batch_size,
            seed=args.seed, rank=r.rank, world=r.world, device=r.device, amp=r.amp, channels_last=cuda,
            compile=args.compile, run_dir=r.run_dir, log_every=S.log_every, ckpt_every=args.ckpt_every or S.ckpt_every,
            evaluate=_evaluator(G, z_dim, info.name, args.n_eval or S.n_eval, r), eval_every=eval_every, best="fd",
            sample=lambda path: train.save_samples(G, fixed_z, path), sample_every=eval_every,
            extra={"arch": arch}, desc=f"{arch} {info.name}", throughput=True, eval_at_end=False)
    distributed.cleanup()
    return 0


def dcgan(argv=None) -> int:
    return run("dcgan", argv)


def sngan(argv=None) -> int:
    return run("sngan", argv)


def wgan_gp(argv=None) -> int:
    return run("wgan-gp", argv)

"""Every `course train` recipe as one timed case: its models at a scale's sizes and one step of its own step function.

A case builds what the recipe builds (the same builders, optimizers and step functions, imported from the model
modules and recipes) on real data where it is on disk, else on random tensors of the real shapes, labelled
"speed only". `course gpu-check` and `course bench` time them (course_lib.gpu_check).

The sizes follow each recipe's defaults at the scale (e.g. SRGAN's width = the scale's width / 4, as
`course train srgan` computes it); MAE's recipe has no scale: `full` is its defaults (ViT-tiny, patch 2, batch
256), smaller scales a `small` MAE of the scale's width.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from . import data, gan_runs, gan_zoo, losses, mae_run, train
from .scale import Scale

SPEED_ONLY = "speed only: random tensors of the real shape"


@dataclass
class Case:
    models: dict[str, nn.Module]
    step: Callable[[], object]  # one step of the recipe's own step function, on the next batch
    batch: int  # samples per step
    data: str  # where the batches come from: a real dataset, or SPEED_ONLY
    sizes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """What every case is built with: the scale, the device, bf16 autocast (CUDA), and a wrapper for the modules
    the step calls (torch.compile for the compiled cases, else the identity)."""
    S: Scale
    device: torch.device
    amp: Callable[[], contextlib.AbstractContextManager]
    wrap: Callable[[nn.Module], nn.Module] = lambda m: m


def _to(ctx: Context, *models: nn.Module) -> list[nn.Module]:
    """On the device, channels_last on CUDA (the layout the tensor cores want for convolutions)."""
    fmt = torch.channels_last if ctx.device.type == "cuda" else torch.preserve_format
    return [m.to(ctx.device, memory_format=fmt) for m in models]


def _on(ctx: Context, x: torch.Tensor) -> torch.Tensor:
    x = x.to(ctx.device)
    return x.to(memory_format=torch.channels_last) if ctx.device.type == "cuda" and x.ndim == 4 else x


def images(ctx: Context, dataset: str, shape: tuple[int, ...], n: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    """n training images and labels of `dataset` on the device, or random ones of `shape` when it is absent."""
    if data.dataset_present(dataset):
        x, y = data.load_images(dataset, train=True, n=n)  # (n, C, H, W) in [-1, 1], (n,)
        return _on(ctx, x), y.to(ctx.device), f"{dataset} (real)"
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, *shape, generator=g) * 2 - 1  # (n, C, H, W)
    y = torch.randint(0, 10, (n,), generator=g)  # (n,)
    return _on(ctx, x), y.to(ctx.device), f"{SPEED_ONLY} {tuple(shape)} ({dataset} is not on disk)"


def classify_step(net: nn.Module, opt, x: torch.Tensor, y: torch.Tensor, amp, label_smoothing: float = 0.0):
    """The supervised step of `course train classifier` and `course train mae-finetune`: cross-entropy, Adam(W)."""
    with amp():
        loss = F.cross_entropy(net(x), y, label_smoothing=label_smoothing)
    train.update(opt, loss)
    return {"loss": loss.detach()}


# ----------------------------------------------------------------------------------------------------------
# The GANs of chapters 02, 03, 06 and 12
# ----------------------------------------------------------------------------------------------------------

def zoo_gan(arch: str) -> Callable[[Context], Case]:
    """dcgan, sngan, wgan-gp: `gan_runs`' models and `gan_zoo.zoo_step`, as `course train ARCH` runs them."""

    def build(ctx: Context) -> Case:
        S, recipe = ctx.S, gan_runs.ARCHS[arch][0]
        from .recipes.gan import sizes

        width = sizes(S)["width"]  # course train's default
        x, _, where = images(ctx, "cifar10", (3, 32, 32), 8 * S.batch_size)
        G, D, z_dim = gan_runs.build_models(arch, channels=x.shape[1], image_size=x.shape[-1], width=width)
        G, D = _to(ctx, G, D)
        opt_G, opt_D = recipe.optimizers(G, D)
        batches = data.Batches(x, batch_size=S.batch_size, seed=0)
        Gw, Dw = ctx.wrap(G), ctx.wrap(D)

        def step():
            return gan_zoo.zoo_step(Gw, Dw, opt_G, opt_D, batches, z_dim, d_loss=recipe.d_loss,
                                    g_loss=recipe.g_loss, n_critic=recipe.n_critic, penalty=recipe.penalty(),
                                    amp=ctx.amp)
        return Case({"G": G, "D": D}, step, S.batch_size * recipe.n_critic, where,
                    {"width": width, "n_critic": recipe.n_critic})
    return build


def sagan(ctx: Context) -> Case:
    from .models import sagan as m

    S = ctx.S
    x, _, where = images(ctx, "cifar10", (3, 32, 32), 8 * S.batch_size)
    kw = dict(width=S.width, channels=x.shape[1], attention=True, n_classes=0)
    G, D = _to(ctx, m.Generator(z_dim=128, image_size=x.shape[-1], **kw), m.Discriminator(**kw))
    opt_G, opt_D = m.optimizers(G, D)
    batches = data.Batches(x, batch_size=S.batch_size, seed=0)
    Gw, Dw = ctx.wrap(G), ctx.wrap(D)
    return Case({"G": G, "D": D}, lambda: m.sagan_step(Gw, Dw, opt_G, opt_D, next(batches), amp=ctx.amp),
                S.batch_size, where, {"width": S.width})


def anogan(ctx: Context) -> Case:
    """The DCGAN of `course train anogan` (width = the scale's width / 2) and `train.gan_step`, as `train_gan`
    runs it; the latent search, the encoder and the MAE of the recipe are not timed."""
    from .models import dcgan
    from .recipes.anogan import sizes

    S = ctx.S
    width = sizes(S)["width"]
    x, _, where = images(ctx, "mnist", (1, 28, 28), 8 * S.batch_size)
    G, D = _to(ctx, *dcgan.build(z_dim=100, channels=x.shape[1], image_size=x.shape[-1], width=width))
    opt_G = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    batches = data.Batches(x, batch_size=S.batch_size, seed=0)
    Gw, Dw = ctx.wrap(G), ctx.wrap(D)
    return Case({"G": G, "D": D}, lambda: train.gan_step(Gw, Dw, opt_G, opt_D, next(batches), 100, amp=ctx.amp),
                S.batch_size, where, {"width": width})


# ----------------------------------------------------------------------------------------------------------
# Image to image (chapters 09, 10)
# ----------------------------------------------------------------------------------------------------------

def pix2pix(ctx: Context) -> Case:
    """Facades at 256 x 256, batch 1, width 64 (the paper's, the recipe's defaults) at full; the recipe's
    edges-to-MNIST pairs (32 x 32) at smaller scales."""
    import math

    from . import paired
    from .models import pix2pix as m

    S = ctx.S
    if S.name == "full":
        size, where = 256, "facades (real)"
        try:
            x, y = paired.load_side_by_side("facades", split="train", size=size, n=8)  # (8, 3, S, S) each
        except data.DataMissingError:
            x, y = (torch.rand(8, 3, size, size) * 2 - 1 for _ in range(2))  # (8, 3, S, S) each
            where = f"{SPEED_ONLY} (3, 256, 256) pairs (facades is not on disk)"
    else:
        x, y = paired.edges_to_image("mnist", train=True, n=8 * S.batch_size)  # (N, 1, 32, 32) each
        where = "edges-mnist (real)"
    batch = 1  # the paper's and the recipe's default, at every scale
    G = m.UNet(in_channels=x.shape[1], out_channels=y.shape[1], depth=int(math.log2(x.shape[-1])), width=64)
    D = m.PatchGAN(in_channels=x.shape[1] + y.shape[1], width=64, n_layers=3)
    G, D = _to(ctx, G, D)
    opt_G, opt_D = m.optimizers(G, D, lr=2e-4)
    batches = data.Batches(_on(ctx, x), _on(ctx, y), batch_size=batch, seed=0)
    Gw, Dw = ctx.wrap(G), ctx.wrap(D)
    return Case({"G": G, "D": D}, lambda: m.pix2pix_step(Gw, Dw, opt_G, opt_D, *next(batches), lam=100.0,
                                                         amp=ctx.amp), batch, where, {"size": x.shape[-1]})


def srgan(ctx: Context) -> Case:
    """SRGAN's adversarial step (the recipe's second stage) on 96 x 96 HR crops, batch 16; the perceptual network
    is the recipe's fallback (a rotation net) with random weights: the same cost as a trained one."""
    from . import sr_data
    from .models import srgan as m
    from .recipes.srgan import sizes

    size = sizes(ctx.S)
    n = 4 * 16
    if sr_data.sr_folder("bsd68").is_dir():
        hr, where = sr_data.random_crops(sr_data.load_hr_images("bsd68"), n, 96, seed=0), "bsd68 crops (real)"
    else:
        hr, where = torch.rand(n, 3, 96, 96), f"{SPEED_ONLY} (3, 96, 96) HR crops (bsd68 is not on disk)"
    lr = sr_data.downsample(hr, 4)  # (n, 3, 24, 24)
    G = m.SRResNet(width=size["width"], n_blocks=size["blocks"])
    D, phi = m.Discriminator(width=size["d_width"]), m.RotationNet().eval().requires_grad_(False)
    G, D, phi = _to(ctx, G, D, phi)
    opt_G = torch.optim.Adam(G.parameters(), lr=1e-4)
    opt_D = torch.optim.Adam(D.parameters(), lr=1e-4)
    batches = data.Batches(_on(ctx, lr), _on(ctx, hr), batch_size=16, seed=0)
    Gw, Dw = ctx.wrap(G), ctx.wrap(D)
    return Case({"G": G, "D": D}, lambda: m.srgan_step(Gw, Dw, phi, opt_G, opt_D, *next(batches), w_mse=0.1,
                                                       amp=ctx.amp), 16, where,
                {"width": size["width"], "blocks": size["blocks"], "phi": "rotation net, random weights"})


# ----------------------------------------------------------------------------------------------------------
# Autoencoders (chapters 04, 05)
# ----------------------------------------------------------------------------------------------------------

def aae(ctx: Context) -> Case:
    """`course train aae`'s defaults: hidden = 4 x the scale's width, batch = 2 x its batch, the mixture prior."""
    from .models import aae as m
    from .priors import get_prior
    from .recipes.aae import sizes

    S = ctx.S
    batch, hidden = sizes(S)["batch"], sizes(S)["hidden"]
    x, _, where = images(ctx, "mnist", (1, 28, 28), 8 * batch)
    E, Dec, D = _to(ctx, *m.build(in_shape=tuple(x.shape[1:]), z_dim=2, hidden=hidden))
    opts, prior = m.optimizers(E, Dec, D), get_prior("mixture")
    batches = data.Batches(x, batch_size=batch, seed=0)
    Ew, Decw, Dw = ctx.wrap(E), ctx.wrap(Dec), ctx.wrap(D)
    return Case({"E": E, "Dec": Dec, "D": D},
                lambda: m.aae_step(Ew, Decw, Dw, opts, next(batches), prior, None, ctx.amp), batch, where,
                {"hidden": hidden, "z_dim": 2})


def vae(gan: bool) -> Callable[[Context], Case]:
    """`course train vae` / `vae-gan`: width = the scale's width / 4, z 16, the scale's batch."""

    def build(ctx: Context) -> Case:
        from .models import vae as m
        from .recipes.vae import sizes

        S, width = ctx.S, sizes(ctx.S)["width"]
        x, _, where = images(ctx, "mnist", (1, 28, 28), 8 * S.batch_size)
        E, Dec, D = _to(ctx, *m.build(channels=x.shape[1], size=x.shape[2], z_dim=16, width=width))
        batches = data.Batches(x, batch_size=S.batch_size, seed=0)
        Ew = ctx.wrap(E)
        if gan:
            G = m.Generator(Dec)
            opts, Gw, Dw = m.optimizers(E, G, D, lr=2e-4), ctx.wrap(G), ctx.wrap(D)
            step = lambda: m.vaegan_step(Ew, Gw, Dw, opts, next(batches), amp=ctx.amp)  # noqa: E731
            models = {"E": E, "Dec": Dec, "D": D}
        else:
            opt, Decw = torch.optim.Adam([*E.parameters(), *Dec.parameters()], lr=1e-3), ctx.wrap(Dec)
            step = lambda: m.vae_step(Ew, Decw, next(batches), opt, 1.0, ctx.amp)  # noqa: E731
            models = {"E": E, "Dec": Dec}
        return Case(models, step, S.batch_size, where, {"width": width, "z_dim": 16})
    return build


# ----------------------------------------------------------------------------------------------------------
# Masked autoencoders (chapters 07, 08) and the classifiers
# ----------------------------------------------------------------------------------------------------------

def _mae_model(ctx: Context, x: torch.Tensor):
    """`course train mae`'s model: its defaults at full (ViT-tiny, patch 2), a `small` MAE of the scale's width
    (patch 4) otherwise; and its batch (256 at full, the scale's otherwise)."""
    from .recipes.mae import build_mae

    full = ctx.S.name == "full"
    model = build_mae("tiny" if full else "small", img_size=x.shape[-1], in_chans=x.shape[1],
                      patch=2 if full else 4, width=ctx.S.width, norm_pix=False)
    return _to(ctx, model)[0], 256 if full else ctx.S.batch_size


def mae(ctx: Context) -> Case:
    x, _, where = images(ctx, "cifar10", (3, 32, 32), 4 * 256)
    model, batch = _mae_model(ctx, x)
    opt = torch.optim.AdamW(mae_run.param_groups(model, 0.05), lr=1.5e-4 * batch / 256, betas=(0.9, 0.95))
    batches = data.Batches(x, batch_size=batch, seed=0)
    mw = ctx.wrap(model)
    return Case({"mae": model}, lambda: mae_run.pretrain_step(mw, opt, next(batches), 0.75, ctx.amp), batch, where,
                {"preset": "tiny" if ctx.S.name == "full" else "small", "width": model.encoder.dim})


def mae_finetune(ctx: Context) -> Case:
    from .models.mae import ViTClassifier

    x, y, where = images(ctx, "cifar10", (3, 32, 32), 4 * 256)
    model, batch = _mae_model(ctx, x)
    clf = _to(ctx, ViTClassifier(model.encoder, 10))[0]
    opt = torch.optim.AdamW(mae_run.param_groups(clf, 0.05), lr=1e-3 * batch / 256, betas=(0.9, 0.999))
    batches = data.Batches(x, y, batch_size=batch, seed=0)
    cw = ctx.wrap(clf)
    return Case({"clf": clf}, lambda: classify_step(cw, opt, *next(batches), ctx.amp, label_smoothing=0.1), batch,
                where, {"width": model.encoder.dim})


def classifier(ctx: Context) -> Case:
    """The course classifier behind FD / KID (features.CourseClassifier), Adam(2e-3), batch 64."""
    from .features import CourseClassifier

    x, y, where = images(ctx, "mnist", (1, 28, 28), 8 * 64)
    net = _to(ctx, CourseClassifier(channels=x.shape[1], n_classes=10))[0]
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    batches = data.Batches(x, y, batch_size=64, seed=0)
    nw = ctx.wrap(net)
    return Case({"classifier": net}, lambda: classify_step(nw, opt, *next(batches), ctx.amp), 64, where)


# ----------------------------------------------------------------------------------------------------------
# Sequences and music (chapters 11, 13)
# ----------------------------------------------------------------------------------------------------------

def musegan(ctx: Context) -> Case:
    """The hybrid design at `musegan.default_sizes`, WGAN-GP with n_critic 5, on random piano rolls of the real
    shape (B, K, N, T, P): parsing the Bach chorales is the recipe's, not timed here."""
    from .models import musegan as m

    sizes = m.default_sizes(ctx.S)
    G, D = _to(ctx, *m.build("hybrid", width=sizes["width"], critic_width=sizes["critic_width"],
                             straight_through=True))
    opt_G, opt_D = m.optimizers(G, D, 1e-3)
    shape = (4, 4, 16, 48)  # (K tracks, N bars, T steps, P pitches): build's defaults, the recipe's rolls
    x = (torch.rand(8 * sizes["batch_size"], *shape, generator=torch.Generator().manual_seed(0)) < 0.05).float()
    batches = data.Batches(x.to(ctx.device), batch_size=sizes["batch_size"], seed=0)
    Gw, Dw = ctx.wrap(G), ctx.wrap(D)
    penalty = lambda D, real, fake: 10.0 * m.gradient_penalty(D, real, fake)  # noqa: E731

    def step():
        return gan_zoo.zoo_step(Gw, Dw, opt_G, opt_D, batches, G.z_dim, d_loss=losses.d_loss_wgan,
                                g_loss=losses.g_loss_wgan, n_critic=5, penalty=penalty, amp=ctx.amp)
    return Case({"G": G, "D": D}, step, 5 * sizes["batch_size"], f"{SPEED_ONLY} {shape} piano rolls",
                {k: sizes[k] for k in ("width", "critic_width", "batch_size")})


def seqgan(ctx: Context) -> Case:
    """One adversarial step of the synthetic experiment: a policy-gradient step of G (roll-outs), then D's steps,
    on samples of the oracle LSTM (the experiment's real data)."""
    from .models import seqgan as m

    s = m.SIZES[ctx.S.name]
    _, x, _ = m.oracle_data(dataclasses.replace(s, n_train=8 * s.batch, n_eval=1))  # (8B, T) token ids
    G, D = _to(ctx, *m.build(s))
    opts = m.optimizers(G, D, s)
    batches = data.Batches(x.to(ctx.device), batch_size=s.batch, seed=0)

    def step():
        stats = m.pg_step(G, D, opts["G_pg"], s.batch, s.n_rollouts)
        for _ in range(s.d_per_adv):
            stats |= m.d_step(D, G, next(batches), opts["D"])
        return stats
    return Case({"G": G, "D": D}, step, s.batch, "oracle LSTM samples (the experiment's data)",
                {"vocab": s.vocab, "seq_len": s.seq_len, "n_rollouts": s.n_rollouts, "d_per_adv": s.d_per_adv})


CASES: dict[str, Callable[[Context], Case]] = {
    "dcgan": zoo_gan("dcgan"), "sngan": zoo_gan("sngan"), "wgan-gp": zoo_gan("wgan-gp"), "sagan": sagan,
    "pix2pix": pix2pix, "srgan": srgan, "aae": aae, "vae": vae(gan=False), "vae-gan": vae(gan=True),
    "anogan": anogan, "mae": mae, "mae-finetune": mae_finetune, "musegan": musegan, "seqgan": seqgan,
    "classifier": classifier,
}

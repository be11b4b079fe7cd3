"""Self-Attention GAN (Zhang, Goodfellow, Metaxas, Odena 2019), chapter 06.

A ResNet generator and discriminator (the SNGAN layout of Miyato et al. 2018, which SAGAN builds on) with one
self-attention block at a middle resolution in each, spectral normalisation in *both* G and D, trained with the
hinge loss and two time-scale learning rates (TTUR). Optional class conditioning: conditional BatchNorm in G and
a projection discriminator (Miyato & Koyama 2018) in D.

Dimension key:
    B batch    Z latent size    K classes
    C channels H, W height, width of a feature map    N = H * W positions
    Cq channels of the query / key projections (C // 8)    Cv channels of the value projection (C // 2)
"""

from __future__ import annotations

import contextlib
import functools

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .. import losses, train
from .blocks import DBlock, GBlock, sn  # SNGAN's ResNet blocks, and the package's one spectral-norm helper

# ----------------------------------------------------------------------------------------------------------
# The self-attention block
# ----------------------------------------------------------------------------------------------------------


class SelfAttention(nn.Module):
    """Self-attention over the H*W positions of a feature map (SAGAN, section 3).

        f(x) = W_f x,  g(x) = W_g x,  h(x) = W_h x                 (1x1 convolutions)
        s_ij = f(x_i)^T g(x_j)                                     (g(x_j) the query at j, f(x_i) the key at i)
        beta_{j,i} = exp(s_ij) / sum_i exp(s_ij)                   (how much position j attends to position i)
        o_j = W_v ( sum_i beta_{j,i} h(x_i) )
        y_j = gamma * o_j + x_j                                    (gamma is learnable and starts at 0)

    f and g have C/8 channels as in the paper; the value h has C/2, as in the official code (and BigGAN),
    where the paper's text gives W_h C/8 channels. With gamma = 0 the block is the identity: the network first relies on local convolutions and learns to
    give weight to distant positions only as far as that helps. Set `record = True` to keep the last
    attention maps in `self.attn`, shape (B, N, N), row j = where query position j looks.
    """

    def __init__(self, channels: int, *, spectral: bool = True):
        super().__init__()
        cq, cv = max(1, channels // 8), max(1, channels // 2)
        self.f = sn(nn.Conv2d(channels, cq, 1, bias=False), spectral)  # key f(x_i)
        self.g = sn(nn.Conv2d(channels, cq, 1, bias=False), spectral)  # query g(x_j)
        self.h = sn(nn.Conv2d(channels, cv, 1, bias=False), spectral)  # value
        self.v = sn(nn.Conv2d(cv, channels, 1, bias=False), spectral)  # output projection W_v
        self.gamma = nn.Parameter(torch.zeros(()))
        self.record, self.attn = False, None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = x.shape[-2:]
        q = rearrange(self.g(x), "b c h w -> b (h w) c")  # (B, N, Cq): queries g(x_j)
        k = rearrange(self.f(x), "b c h w -> b c (h w)")  # (B, Cq, N): keys f(x_i)
        v = rearrange(self.h(x), "b c h w -> b (h w) c")  # (B, N, Cv)
        # row j, column i holds s_ij = f(x_i)^T g(x_j) (the official code's matmul(g, f^T)); softmax over i
        beta = torch.softmax(torch.bmm(q, k), dim=-1)  # (B, N, N)
        if self.record:
            self.attn = beta.detach()
        o = torch.bmm(beta, v)  # (B, N, Cv)
        o = self.v(rearrange(o, "b (h w) c -> b c h w", h=H, w=W))  # (B, C, H, W)
        return self.gamma * o + x


# ----------------------------------------------------------------------------------------------------------
# Generator
# ----------------------------------------------------------------------------------------------------------


def feature_sizes(image_size: int, n_blocks: int = 3) -> list[int]:
    """Sides of G's feature maps from the first to the image: 32 -> [4, 8, 16, 32], 28 -> [3, 7, 14, 28]."""
    return [image_size // 2 ** k for k in range(n_blocks, -1, -1)]


class Generator(nn.Module):
    """z (B, Z) -> image (B, C, S, S) in [-1, 1]: three up-blocks, self-attention after the second (at S/2)."""

    def __init__(self, *, z_dim: int = 128, width: int = 64, channels: int = 1, image_size: int = 28,
                 attention: bool = True, n_classes: int = 0, spectral: bool = True):
        super().__init__()
        self.z_dim, self.n_classes, self.sizes = z_dim, n_classes, feature_sizes(image_size)
        self.width = width
        self.fc = sn(nn.Linear(z_dim, width * self.sizes[0] ** 2), spectral)
        self.blocks = nn.ModuleList(GBlock(width, width, n_classes=n_classes, spectral=spectral) for _ in range(3))
        self.attn = SelfAttention(width, spectral=spectral) if attention else nn.Identity()
        self.bn = nn.BatchNorm2d(width)
        self.out = sn(nn.Conv2d(width, channels, 3, padding=1), spectral)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        s0 = self.sizes[0]
        h = self.fc(z).view(len(z), self.width, s0, s0)  # (B, C, s0, s0)
        for i, (block, size) in enumerate(zip(self.blocks, self.sizes[1:])):
            h = block(h, size, y)  # (B, C, size, size)
            if i == 1:
                h = self.attn(h)  # attention at the middle resolution, S/2
        return torch.tanh(self.out(F.relu(self.bn(h))))  # (B, channels, S, S)


# ----------------------------------------------------------------------------------------------------------
# Discriminator
# ----------------------------------------------------------------------------------------------------------


class Discriminator(nn.Module):
    """image (B, C, S, S) -> one score (B, 1): down-blocks S -> S/2 (self-attention) -> S/4 -> S/4 -> S/4.

    With n_classes > 0, the projection discriminator: score = psi(phi(x)) + embed(y) . phi(x).
    """

    def __init__(self, *, width: int = 64, channels: int = 1, attention: bool = True, n_classes: int = 0,
                 spectral: bool = True):
        super().__init__()
        self.blocks = nn.ModuleList([
            DBlock(channels, width, down=True, first=True, spectral=spectral),
            DBlock(width, width, down=True, spectral=spectral),
            DBlock(width, width, down=False, spectral=spectral),
            DBlock(width, width, down=False, spectral=spectral),
        ])
        self.attn = SelfAttention(width, spectral=spectral) if attention else nn.Identity()
        self.fc = sn(nn.Linear(width, 1), spectral)
        self.embed = sn(nn.Embedding(n_classes, width), spectral) if n_classes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.blocks[0](x)  # (B, C, S/2, S/2)
        h = self.attn(h)  # attention at S/2, mirroring G
        for block in self.blocks[1:]:
            h = block(h)  # (B, C, S/4, S/4)
        phi = F.relu(h).sum(dim=(2, 3))  # (B, C): global sum pooling
        out = self.fc(phi)  # (B, 1)
        if self.embed is not None:
            out = out + (self.embed(y) * phi).sum(dim=1, keepdim=True)  # (B, 1): the projection term
        return out


# ----------------------------------------------------------------------------------------------------------
# The SAGAN step: hinge loss, the D step and the G step of chapter 01 (TTUR lives in the two optimizers)
# ----------------------------------------------------------------------------------------------------------


def optimizers(G: nn.Module, D: nn.Module, *, lr_G: float = 1e-4, lr_D: float = 4e-4,
               betas: tuple[float, float] = (0.0, 0.9)) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """TTUR (Heusel et al. 2017) as SAGAN uses it: D learns 4x faster than G, one D step per G step."""
    return (torch.optim.Adam(G.parameters(), lr=lr_G, betas=betas),
            torch.optim.Adam(D.parameters(), lr=lr_D, betas=betas))


def sagan_step(G: nn.Module, D: nn.Module, opt_G, opt_D, real: torch.Tensor, y: torch.Tensor | None = None,
               *, amp=contextlib.nullcontext) -> dict[str, torch.Tensor]:
    """One D step (hinge) on real and detached fake, then one G step through the updated D.

    Class-conditional runs pass labels y; G draws fakes of the same classes, and D scores (image, class) pairs.
    """
    z = torch.randn(len(real), G.z_dim, device=real.device)  # (B, Z)
    with amp():
        fake = G(z, y)  # (B, C, S, S)
    # d_step's D_real / D_fake are probabilities of a log-loss D; a hinge critic's scores are not: keep the loss
    loss_D = train.d_step(functools.partial(D, y=y), real, fake, opt_D, losses.d_loss_hinge, amp)["loss_D"]
    # G through the updated D, frozen: train.g_step's lines, with the labels passed to D
    with amp(), train.frozen(D):
        loss_G = losses.g_loss_hinge(D(fake, y))
    train.update(opt_G, loss_G)
    return {"loss_D": loss_D, "loss_G": loss_G.detach()}


def gammas(G: nn.Module, D: nn.Module) -> dict[str, float]:
    """The attention gates of G and D (0.0 for a model without attention)."""
    def g(m):
        return float(m.attn.gamma.detach()) if isinstance(m.attn, SelfAttention) else 0.0
    return {"gamma_G": g(G), "gamma_D": g(D)}


# ----------------------------------------------------------------------------------------------------------
# Sampling, evaluation, and the full-scale run: `course train sagan`
# ----------------------------------------------------------------------------------------------------------


@torch.no_grad()
def sample(G: nn.Module, n: int, *, batch_size: int = 500, seed: int = 0, amp=contextlib.nullcontext) -> torch.Tensor:
    """n images from G in eval mode (classes drawn uniformly for a conditional G), on the CPU: (n, C, S, S)."""
    device = next(G.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    was_training = G.training
    G.eval()
    out = []
    for i in range(0, n, batch_size):
        b = min(batch_size, n - i)
        z = torch.randn(b, G.z_dim, generator=gen).to(device)  # (b, Z)
        y = torch.randint(G.n_classes, (b,), generator=gen).to(device) if G.n_classes else None  # (b,)
        with amp():
            out.append(G(z, y).float().cpu())  # (b, C, S, S)
    G.train(was_training)
    return torch.cat(out)  # (n, C, S, S)


def evaluate(G: nn.Module, dataset: str, n: int, *, amp=contextlib.nullcontext) -> dict[str, float]:
    """FD and KID of n samples against n training images: Inception features when its weights are present
    ("FID (Inception)"), else the course classifier's ("FD (course classifier)")."""
    from .. import data, features

    device = next(G.parameters()).device
    net = features.feature_network(dataset, device=device)
    real, _ = data.load_images(dataset, train=True, n=n, seed=1)
    f_real = features.extract_features(net, real)  # (n, F)
    f_fake = features.extract_features(net, sample(G, n, amp=amp))  # (n, F)
    s = features.score(net, f_real, f_fake, what=f"{n} samples", verbose=False)
    return {features.fd_name(net): s["fd"], features.kid_name(net): s["kid"], "KID std": s["kid_std"]}


def main(argv: list[str] | None = None) -> int:
    """`course train sagan [options]`: the notebook's SAGAN step at any scale, with checkpoints and resume."""
    import argparse
    from pathlib import Path

    import torchvision
    from tqdm.auto import tqdm

    from .. import data
    from ..checkpoint import resume, save_checkpoint
    from ..plotting import to_unit
    from ..runlog import RunLog
    from ..scale import use_scale

    p = argparse.ArgumentParser(prog="course train sagan", description=main.__doc__)
    p.add_argument("--dataset", default="cifar10", help="mnist, fashion-mnist or cifar10 (default)")
    p.add_argument("--scale", default=None, help="smoke, small or full (default: $COURSE_SCALE)")
    p.add_argument("--steps", type=int, help="G steps (default: the scale's image_steps)")
    p.add_argument("--batch-size", type=int, help="default: the scale's batch_size")
    p.add_argument("--width", type=int, help="channels of every block (default: the scale's width)")
    p.add_argument("--z-dim", type=int, default=128)
    p.add_argument("--lr-g", type=float, default=1e-4, help="TTUR: G's learning rate (default 1e-4)")
    p.add_argument("--lr-d", type=float, default=4e-4, help="TTUR: D's learning rate (default 4e-4)")
    p.add_argument("--no-attention", action="store_true", help="the ablation: same network, no attention")
    p.add_argument("--conditional", action="store_true", help="conditional BN in G, projection D")
    p.add_argument("--n-train", type=int, help="training images (default: the scale's n_train)")
    p.add_argument("--n-eval", type=int, help="samples for FD / KID at the end (default: the scale's n_eval)")
    train.add_run_options(p, "<runs dir>/sagan-<dataset>[-cond][-noattn]")
    args = p.parse_args(argv)

    S = use_scale(args.scale)  # exported: the feature network (course_lib.features) reads it too
    device, amp = train.start_run(args)  # seed, device, bf16 autocast on CUDA
    steps, bs, width = args.steps or S.image_steps, args.batch_size or S.batch_size, args.width or S.width
    x, labels = data.load_images(args.dataset, train=True, n=args.n_train or S.n_train)  # (N, C, S, S), (N,)
    n_classes = int(labels.max()) + 1 if args.conditional else 0
    batches = data.Batches(x.to(device), labels.to(device), batch_size=bs, seed=args.seed)
    kw = dict(width=width, channels=x.shape[1], attention=not args.no_attention, n_classes=n_classes)
    G = Generator(z_dim=args.z_dim, image_size=x.shape[-1], **kw).to(device)
    D = Discriminator(**kw).to(device)
    opt_G, opt_D = optimizers(G, D, lr_G=args.lr_g, lr_D=args.lr_d)
    name = f"sagan-{args.dataset}{'-cond' if n_classes else ''}{'-noattn' if args.no_attention else ''}"
    run_dir = Path(args.run_dir) if args.run_dir else data.runs_dir() / name
    ckpt, log = run_dir / "checkpoint.pt", RunLog(run_dir / "metrics.jsonl")
    fixed_z = torch.randn(64, args.z_dim, generator=torch.Generator().manual_seed(1234)).to(device)  # (64, Z)
    fixed_y = (torch.arange(64) % n_classes).to(device) if n_classes else None  # (64,)

    state = resume(ckpt, models={"G": G, "D": D}, optimizers={"G": opt_G, "D": opt_D}, batches=batches, log=log,
                   map_location=device)
    start = state["step"] if state else 0

    bar = tqdm(range(start, steps), initial=start, total=steps, desc=name, unit="step", mininterval=1.0)
    for step in bar:
        real, y = next(batches)
        stats = sagan_step(G, D, opt_G, opt_D, real, y if n_classes else None, amp=amp)
        done = step + 1
        if done % S.log_every == 0 or done == steps:
            row = {k: v.item() for k, v in stats.items() if not k.startswith("D_")} | gammas(G, D)
            log.log(done, **row)
            bar.set_postfix(loss_D=f"{row['loss_D']:.3f}", gamma_G=f"{row['gamma_G']:.3f}", refresh=False)
        if done % S.ckpt_every == 0 or done == steps:
            G.eval()
            with torch.no_grad(), amp():
                grid = G(fixed_z, fixed_y).float().cpu()  # (64, C, S, S)
            G.train()
            (run_dir / "samples").mkdir(parents=True, exist_ok=True)
            torchvision.utils.save_image(to_unit(grid), run_dir / "samples" / f"step_{done:07d}.png", nrow=8)
            save_checkpoint(ckpt, step=done, models={"G": G, "D": D}, optimizers={"G": opt_G, "D": opt_D},
                            extra={"batches": batches.state_dict()})
    bar.close()
    result = evaluate(G, args.dataset, args.n_eval or S.n_eval, amp=amp)
    log.log(steps, **{k: v for k, v in result.items()})
    for k, v in result.items():
        print(f"{name} step {steps}: {k} = {v:.4f}")
    print(f"checkpoint, metrics.jsonl and samples/ in {run_dir}")
    return 0

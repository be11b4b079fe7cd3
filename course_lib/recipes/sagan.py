"""`course train sagan`: the notebook's SAGAN step (`models.sagan.sagan_step`) on the one loop, at any scale."""

from __future__ import annotations

import contextlib

import torch

from .. import data, features, loop
from ..models.sagan import Discriminator, Generator, SelfAttention, optimizers, sagan_step, sample
from ..plotting import to_unit
from . import options


def evaluate(G, dataset: str, n: int, *, amp=contextlib.nullcontext) -> dict[str, float]:
    """FD and KID of n samples against n training images: Inception features when its weights are present
    ("FID (Inception)"), else the course classifier's ("FD (course classifier)")."""
    device = next(G.parameters()).device
    net = features.feature_network(dataset, device=device)
    real, _ = data.load_images(dataset, train=True, n=n, seed=1)
    f_real = features.extract_features(net, real)  # (n, F)
    f_fake = features.extract_features(net, sample(G, n, amp=amp))  # (n, F)
    s = features.score(net, f_real, f_fake, what=f"{n} samples", verbose=False)
    return {features.fd_name(net): s["fd"], features.kid_name(net): s["kid"], "KID std": s["kid_std"]}


def _parser():
    p = options.parser("sagan", __doc__, run_dir="sagan-DATASET[-cond][-noattn]")
    p.add_argument("--dataset", default="cifar10", help="mnist, fashion-mnist or cifar10 (default)")
    p.add_argument("--batch-size", type=int, help="default: the scale's batch_size")
    p.add_argument("--width", type=int, help="channels of every block (default: the scale's width)")
    p.add_argument("--z-dim", type=int, default=128)
    p.add_argument("--lr-g", type=float, default=1e-4, help="TTUR: G's learning rate (default 1e-4)")
    p.add_argument("--lr-d", type=float, default=4e-4, help="TTUR: D's learning rate (default 4e-4)")
    p.add_argument("--no-attention", action="store_true", help="the ablation: same network, no attention")
    p.add_argument("--conditional", action="store_true", help="conditional BN in G, projection D")
    p.add_argument("--n-train", type=int, help="training images (default: the scale's n_train)")
    p.add_argument("--n-eval", type=int, help="samples for FD / KID at the end (default: the scale's n_eval)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    name = f"sagan-{args.dataset}{'-cond' if args.conditional else ''}{'-noattn' if args.no_attention else ''}"
    r = options.start(args, name)
    S = r.scale
    steps, bs, width = args.steps or S.image_steps, args.batch_size or S.batch_size, args.width or S.width
    x, labels = data.load_images(args.dataset, train=True, n=args.n_train or S.n_train)  # (N, C, S, S), (N,)
    n_classes = int(labels.max()) + 1 if args.conditional else 0
    batches = data.Batches(x.to(r.device), labels.to(r.device), batch_size=bs, seed=args.seed)
    kw = dict(width=width, channels=x.shape[1], attention=not args.no_attention, n_classes=n_classes)
    G = Generator(z_dim=args.z_dim, image_size=x.shape[-1], **kw).to(r.device)
    D = Discriminator(**kw).to(r.device)
    opt_G, opt_D = optimizers(G, D, lr_G=args.lr_g, lr_D=args.lr_d)
    fixed_z = torch.randn(64, args.z_dim, generator=torch.Generator().manual_seed(1234)).to(r.device)  # (64, Z)
    fixed_y = (torch.arange(64) % n_classes).to(r.device) if n_classes else None  # (64,)

    def step(batch):
        real, y = batch
        stats = sagan_step(G, D, opt_G, opt_D, real, y if n_classes else None, amp=r.amp)
        # the attention gates as tensors: no GPU sync each step (`models.sagan.gammas` gives floats)
        gates = {f"gamma_{n}": m.attn.gamma.detach().reshape(()) for n, m in (("G", G), ("D", D))
                 if isinstance(m.attn, SelfAttention)}
        return {k: v for k, v in stats.items() if not k.startswith("D_")} | gates

    @torch.no_grad()
    def grid(path):
        import torchvision

        G.eval()
        with r.amp():
            images = G(fixed_z, fixed_y).float().cpu()  # (64, C, S, S)
        G.train()
        path.parent.mkdir(parents=True, exist_ok=True)
        torchvision.utils.save_image(to_unit(images), path, nrow=8)

    log = loop.fit(step, batches, steps=steps, models={"G": G, "D": D}, optimizers={"G": opt_G, "D": opt_D},
                   run_dir=r.run_dir, log_every=S.log_every, ckpt_every=S.ckpt_every, sample=grid,
                   sample_every=S.ckpt_every, desc=name, eval_at_end=False)
    result = evaluate(G, args.dataset, args.n_eval or S.n_eval, amp=r.amp)
    log.log(steps, **result)
    for k, v in result.items():
        print(f"{name} step {steps}: {k} = {v:.4f}")
    print(f"checkpoint, metrics.jsonl and samples/ in {r.run_dir}")
    return 0

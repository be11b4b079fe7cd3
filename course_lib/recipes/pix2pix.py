"""`course train pix2pix`: the notebook's Pix2Pix step on the one loop, with the paper's learning-rate schedule
(constant for half the steps, then linear to zero) as the loop's `lr` hook."""

from __future__ import annotations

import math

import torch

from .. import data, features, image_metrics, loop, paired
from ..models.pix2pix import PatchGAN, UNet, lr_factor, optimizers, pix2pix_step, translate
from . import options


def _parser():
    p = options.parser("pix2pix", __doc__.split("\n\n")[0], run_dir="pix2pix-DATASET-LOSS[-encdec]")
    p.add_argument("--dataset", default="facades", help="facades (default), edges-fashion-mnist or edges-mnist")
    p.add_argument("--size", type=int, default=256, help="image side for facades (default 256; edges: 32)")
    p.add_argument("--batch-size", type=int, default=1, help="default 1, as in the paper")
    p.add_argument("--width", type=int, default=64, help="channels of the first layer of G and D (paper: 64)")
    p.add_argument("--n-layers", type=int, default=3, help="PatchGAN layers: 3 -> 70x70 patches")
    p.add_argument("--loss", choices=["l1", "cgan", "both"], default="both", help="the ablation (default: both)")
    p.add_argument("--lam", type=float, default=100.0, help="lambda of the L1 term (default 100)")
    p.add_argument("--no-skips", action="store_true", help="the encoder-decoder instead of the U-Net")
    p.add_argument("--no-jitter", action="store_true", help="facades: no random resize-crop and mirroring")
    p.add_argument("--lr", type=float, default=2e-4, help="base learning rate of G and D (paper: 2e-4); constant "
                   "for the first half of the steps, then decayed linearly to 0")
    return p


def load_pairs(dataset: str, size: int, S):
    """Training and test pairs (x, y), each (N, C, S, S): facades' train and test (or val) folders, or edges of
    MNIST-like digits."""
    if dataset != "facades":
        name = dataset.removeprefix("edges-")
        return (*paired.edges_to_image(name, train=True, n=S.n_train),  # (N, 1, 32, 32) each
                *paired.edges_to_image(name, train=False, n=S.n_eval))
    x, y = paired.load_side_by_side("facades", split="train", size=size)  # (N, 3, S, S) each
    split = next((s for s in ("test", "val") if (data.data_root() / "facades" / s).is_dir()), None)
    if split:
        return x, y, *paired.load_side_by_side("facades", split=split, size=size)
    print("no facades/test or facades/val folder: evaluating on the last 10 training pairs, held out")
    return x[:-10], y[:-10], x[-10:], y[-10:]


def scores_on_test(G, x_te, y_te, dataset: str, *, batch_stats: bool, amp, device) -> dict[str, float]:
    """L1, PSNR, SSIM of G's translations of the test inputs, and FD / FID where a feature network is at hand."""
    out = translate(G, x_te, test_batch_stats=batch_stats, amp=amp)  # (N_test, Cy, S, S)
    a, b = data.to_unit(out), data.to_unit(y_te)
    result = {"L1": (out - y_te).abs().mean().item(), "PSNR dB": image_metrics.psnr(a, b).mean().item(),
              "SSIM": image_metrics.ssim(a, b).mean().item()}
    if dataset == "facades":
        net = features.inception(device=device) if data.find_weights("inception-fid") else None
    else:
        net = features.course_classifier(dataset.removeprefix("edges-"), device=device)
        out, y_te = paired.crop_to(out, 28), paired.crop_to(y_te, 28)
    if net is None:
        print("FID (Inception) not computed: the Inception weights are absent (see `course doctor`)")
        return result
    s = features.score(net, features.extract_features(net, y_te), features.extract_features(net, out),
                       verbose=False, kid_subset=min(1000, len(out)))
    return result | {features.fd_name(net): s["fd"]}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    name = f"pix2pix-{args.dataset}-{args.loss}{'-encdec' if args.no_skips else ''}"
    r = options.start(args, name)
    S, device = r.scale, r.device
    x, y, x_te, y_te = load_pairs(args.dataset, args.size, S)
    G = UNet(in_channels=x.shape[1], out_channels=y.shape[1], depth=int(math.log2(x.shape[-1])),  # to 1x1
             width=args.width, skips=not args.no_skips).to(device)
    D = None if args.loss == "l1" else PatchGAN(in_channels=x.shape[1] + y.shape[1], width=args.width,
                                                 n_layers=args.n_layers).to(device)
    lam = 0.0 if args.loss == "cgan" else args.lam
    opt_G, opt_D = optimizers(G, D, lr=args.lr)
    batches = data.Batches(x.to(device), y.to(device), batch_size=min(args.batch_size, len(x)), seed=args.seed)
    jitter = args.dataset == "facades" and not args.no_jitter
    gen = torch.Generator().manual_seed(args.seed)  # the jitter's crops and flips
    batch_stats = args.batch_size == 1  # the paper's test-time rule at its batch size of 1 (instance norm)
    steps = args.steps or S.image_steps

    def step(batch):
        xb, yb = paired.jitter(*batch, load_size=round(x.shape[-1] * 286 / 256), generator=gen) if jitter else batch
        stats = pix2pix_step(G, D, opt_G, opt_D, xb, yb, lam=lam, amp=r.amp)
        return {k: v for k, v in stats.items() if not k.startswith("D_")}

    def grid(path):
        import torchvision

        out = translate(G, x_te[:8], test_batch_stats=batch_stats, amp=r.amp)  # (8, Cy, S, S)
        images = torch.cat([x_te[:8].expand(-1, out.shape[1], -1, -1), out, y_te[:8]])  # (24, Cy, S, S)
        path.parent.mkdir(parents=True, exist_ok=True)
        torchvision.utils.save_image(data.to_unit(images), path, nrow=8)

    log = loop.fit(step, batches, steps=steps, models={"G": G} | ({"D": D} if D is not None else {}),
                   optimizers={"G": opt_G} | ({"D": opt_D} if D is not None else {}), run_dir=r.run_dir,
                   log_every=S.log_every, ckpt_every=S.ckpt_every, sample=grid, sample_every=S.ckpt_every,
                   lr=lambda i: lr_factor(i, steps), desc=name, eval_at_end=False)
    result = scores_on_test(G, x_te, y_te, args.dataset, batch_stats=batch_stats, amp=r.amp, device=device)
    log.log(steps, **result)
    for k, v in result.items():
        print(f"{name} step {steps}: {k} = {v:.4f}")
    print(f"checkpoint, metrics.jsonl and samples/ in {r.run_dir}")
    return 0

"""`course train mae` (pretraining) and `course train mae-finetune` (fine-tuning, or the same ViT from scratch).

Both run the step the notebook teaches (`mae_run.pretrain_step`: masked loss, backward, optimizer step; the
fine-tuning step is its cross-entropy twin) on the one loop (`loop.fit`), with a warmup + cosine learning rate,
images/s and model FLOPs utilisation (MFU) against a bf16 matmul rate measured on the same GPU.

    course train mae --dataset cifar10 --preset tiny --patch 2 --epochs 800 --batch 512 --run-dir runs/mae-c10
    course train mae-finetune --init runs/mae-c10/checkpoint.pt --epochs 100 --run-dir runs/mae-c10-ft
    course train mae-finetune --scratch --epochs 100 --run-dir runs/vit-c10-scratch   # from random weights
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from .. import data, loop, train
from ..checkpoint import load_checkpoint, read_checkpoint
from ..mae_run import augment, evaluate, lr_at, measure_matmul_tflops, param_groups, pretrain_step
from ..models.mae import MAE, PRESETS, ViTClassifier, classifier_train_flops, mae_train_flops, small_mae
from . import options


def _parser(recipe: str, description: str):
    p = options.parser(recipe, description, steps_help="--epochs, else the scale's image_steps",
                       run_dir=f"{recipe}-DATASET")
    p.add_argument("--dataset", default="cifar10", help="cifar10 | mnist | fashion-mnist")
    p.add_argument("--n-train", type=int, default=None, help="training images (default: the scale's n_train)")
    p.add_argument("--epochs", type=float, default=None, help="passes over the training set (instead of --steps)")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--blr", type=float, default=None, help="base learning rate; lr = blr * batch / 256")
    p.add_argument("--warmup-epochs", type=float, default=5.0)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--ckpt-every", type=int, default=1000)
    p.add_argument("--eval-every", type=int, default=5000)
    p.add_argument("--compile", action="store_true", help="torch.compile the model (CUDA)")
    p.add_argument("--hflip", type=int, default=None, help="1/0; default: on for cifar10 only (digits are not "
                                                             "mirror-symmetric)")
    p.add_argument("--preset", default="tiny", choices=["tiny", "small"], help="tiny: ViT-tiny; small: the "
                                                                               "notebook's model")
    p.add_argument("--width", type=int, default=128, help="encoder width of the 'small' preset")
    p.add_argument("--patch", type=int, default=2)
    return p


def _start(args, recipe: str):
    """Run folder, data on the device, schedule lengths; args.json written next to the checkpoint."""
    r = options.start(args, f"{recipe}-{data._canonical(args.dataset)}")
    S = r.scale
    x, y = data.load_images(args.dataset, train=True, n=args.n_train or S.n_train, seed=args.seed)
    xt, yt = data.load_images(args.dataset, train=False, n=S.n_eval)
    hflip = bool(args.hflip) if args.hflip is not None else data._canonical(args.dataset) == "cifar10"
    n = len(x)
    total = args.steps or (max(1, int(args.epochs * n / args.batch)) if args.epochs else S.image_steps)
    warmup = min(int(args.warmup_epochs * n / args.batch), total // 5)
    r.run_dir.mkdir(parents=True, exist_ok=True)
    (r.run_dir / "args.json").write_text(json.dumps(vars(args), indent=1))
    tensors = [t.to(r.device) for t in (x, y, xt, yt)]
    return r, tensors, hflip, total, warmup


def build_mae(preset: str, *, img_size: int, in_chans: int, patch: int, width: int, norm_pix: bool) -> MAE:
    if preset == "small":
        return small_mae(width, img_size=img_size, patch_size=patch, in_chans=in_chans, norm_pix_loss=norm_pix)
    return MAE(img_size=img_size, patch_size=patch, in_chans=in_chans, norm_pix_loss=norm_pix, **PRESETS[preset])


def _throughput(batch: int, flops: float, peak: float | None):
    def rates(steps_per_s: float) -> dict:
        ips = steps_per_s * batch
        return {"img_per_s": ips} | ({"mfu": ips * flops / (peak * 1e12)} if peak else {})
    return rates


def pretrain(argv: list[str] | None = None) -> int:
    p = _parser("mae", "MAE pretraining (masked patches only).")
    p.add_argument("--mask-ratio", type=float, default=0.75)
    p.add_argument("--norm-pix", action="store_true", help="regress per-patch normalised pixels")
    args = p.parse_args(argv)
    r, (x, y, xt, yt), hflip, total, warmup = _start(args, "mae")
    model = build_mae(args.preset, img_size=x.shape[-1], in_chans=x.shape[1], patch=args.patch, width=args.width,
                      norm_pix=args.norm_pix)
    step_model = loop.prepare({"mae": model}, r.device, compile=args.compile)["mae"]
    lr = (args.blr or 1.5e-4) * args.batch / 256
    opt = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=lr, betas=(0.9, 0.95))
    peak, flops = measure_matmul_tflops(r.device), mae_train_flops(model, args.mask_ratio)
    print(f"MAE {args.preset}: {sum(q.numel() for q in model.parameters()) / 1e6:.2f} M parameters, "
          f"{flops / 1e9:.3f} GFLOP per image per step, {total} steps of {args.batch} on {r.device}"
          + (f", measured bf16 matmul rate {peak:.0f} TFLOP/s" if peak else ""))
    aug_g = torch.Generator().manual_seed(args.seed)
    pad = 4 if x.shape[-1] >= 32 else 2

    def step(xb):
        return {"loss": pretrain_step(step_model, opt, augment(xb, pad, hflip, aug_g), args.mask_ratio, r.amp),
                "lr": torch.tensor(opt.param_groups[0]["lr"])}

    def evaluate_knn(done):
        from ..probes import extract, knn_accuracy

        model.eval()
        _save_recon_grid(model, xt[:16], args.mask_ratio, r.run_dir / "samples" / f"step_{done:07d}.png")
        f_tr, f_te = (extract(model.encoder.features, t, device=r.device) for t in (x[:10000], xt))
        acc = knn_accuracy(f_tr, y[:10000].cpu(), f_te, yt.cpu())
        print(f"step {done}: k-NN accuracy of the encoder's features {100 * acc:.2f}%")
        model.train()
        return {"knn_acc": acc}

    loop.fit(step, data.Batches(x, batch_size=args.batch, seed=args.seed), steps=total, models={"mae": model},
             optimizers={"opt": opt}, run_dir=r.run_dir, log_every=args.log_every, ckpt_every=args.ckpt_every,
             evaluate=evaluate_knn, eval_every=args.eval_every, lr=lambda i: lr_at(i, total, 1.0, warmup),
             extra={"config": _config(model, args)}, desc="MAE pretraining",
             throughput=_throughput(args.batch, flops, peak))
    return 0


def _config(model: MAE, args) -> dict:
    enc = model.encoder
    return {"preset": args.preset, "width": args.width, "patch": enc.patch_size, "img_size": enc.grid * enc.patch_size,
            "in_chans": enc.in_chans, "norm_pix": model.norm_pix_loss}


@torch.no_grad()
def _save_recon_grid(model: MAE, imgs: torch.Tensor, mask_ratio: float, path: Path) -> None:
    import torchvision

    masked, recon, pasted, _ = model.reconstruct(imgs, mask_ratio, torch.Generator().manual_seed(0))
    grid = torch.cat([imgs, masked, recon, pasted]).float().cpu()  # (4 * b, C, H, W)
    path.parent.mkdir(parents=True, exist_ok=True)
    torchvision.utils.save_image(data.to_unit(grid), path, nrow=len(imgs))


def _encoder(args, x: torch.Tensor) -> MAE:
    """The MAE whose encoder is fine-tuned: the one saved at --init, else a fresh one (training from scratch)."""
    if not args.init:
        return build_mae(args.preset, img_size=x.shape[-1], in_chans=x.shape[1], patch=args.patch, width=args.width,
                         norm_pix=False)
    cfg = read_checkpoint(args.init)["extra"]["config"]
    mae = build_mae(cfg["preset"], img_size=cfg["img_size"], in_chans=cfg["in_chans"], patch=cfg["patch"],
                    width=cfg["width"], norm_pix=cfg["norm_pix"])
    load_checkpoint(args.init, models={"mae": mae}, restore_rng=False)
    print(f"encoder initialised from {args.init}")
    return mae


def finetune(argv: list[str] | None = None) -> int:
    p = _parser("mae-finetune", "Fine-tune an MAE encoder as a classifier (--init), or train it from scratch.")
    p.add_argument("--init", help="an MAE checkpoint written by `course train mae` (default: from scratch)")
    p.add_argument("--scratch", action="store_true", help="say it: train the same ViT from random weights (no --init)")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    args = p.parse_args(argv)
    if args.scratch and args.init:
        p.error("--scratch trains from random weights; it cannot take --init as well")
    r, (x, y, xt, yt), hflip, total, warmup = _start(args, "mae-finetune")
    mae = _encoder(args, x)
    n_classes = len(data.DATASETS[data._canonical(args.dataset)].classes)
    model = ViTClassifier(mae.encoder, n_classes)
    step_model = loop.prepare({"clf": model}, r.device, compile=args.compile)["clf"]
    lr = (args.blr or 1e-3) * args.batch / 256
    opt = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=lr, betas=(0.9, 0.999))
    aug_g = torch.Generator().manual_seed(args.seed)
    pad = 4 if x.shape[-1] >= 32 else 2

    def step(batch):
        xb, yb = batch
        with r.amp():
            loss = F.cross_entropy(step_model(augment(xb, pad, hflip, aug_g)), yb, label_smoothing=args.label_smoothing)
        train.update(opt, loss)
        return {"loss": loss.detach(), "lr": torch.tensor(opt.param_groups[0]["lr"])}

    def test_accuracy(done):
        acc = evaluate(model, xt, yt, r.amp)
        print(f"step {done}: test accuracy {100 * acc:.2f}%")
        return {"test_acc": acc}

    loop.fit(step, data.Batches(x, y, batch_size=args.batch, seed=args.seed), steps=total, models={"clf": model},
             optimizers={"opt": opt}, run_dir=r.run_dir, log_every=args.log_every, ckpt_every=args.ckpt_every,
             evaluate=test_accuracy, eval_every=args.eval_every,
             lr=lambda i: lr_at(i, total, 1.0, warmup, final=1e-6 / lr), desc="fine-tuning",
             throughput=_throughput(args.batch, classifier_train_flops(mae.encoder, n_classes),
                                    measure_matmul_tflops(r.device)))
    return 0

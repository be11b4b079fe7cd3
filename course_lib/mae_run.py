"""Full-scale MAE runs: `course train mae` (pretraining) and `course train mae-finetune` (fine-tuning).

Both wrap the same step the notebook teaches (`pretrain_step`: masked loss, backward, optimizer step) with what a
long run needs: bf16 autocast on CUDA, a warmup + cosine learning rate, checkpoints with resume (weights,
optimizer, step, data order, RNG), a metrics log, image grids, throughput and model FLOPs utilisation (MFU)
against a bf16 matmul rate measured on the same GPU. Everything also runs on a CPU with tiny settings.

    course train mae --dataset cifar10 --preset tiny --patch 2 --epochs 800 --batch 512 --run-dir runs/mae-c10
    course train mae-finetune --init runs/mae-c10/checkpoint.pt --epochs 100 --run-dir runs/mae-c10-ft
    course train mae-finetune --scratch --epochs 100 --run-dir runs/vit-c10-scratch
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from . import data
from .checkpoint import load_checkpoint, read_checkpoint, resume, save_checkpoint
from .models.mae import MAE, PRESETS, ViTClassifier, classifier_train_flops, mae_train_flops, small_mae
from .models.mae import pretrain_step  # the step the notebook writes out lives with the model
from .runlog import RunLog
from .train import autocast, get_device, seed_everything


def lr_at(step: int, total: int, base: float, warmup: int, final: float = 0.0) -> float:
    """Linear warmup then half-cosine decay to `final` (MAE's schedule, per step instead of per epoch)."""
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return final + (base - final) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """AdamW groups as the reference builds them (timm's `add_weight_decay`): weight decay on weight matrices
    and kernels only; biases and normalisation gains (every 1-D parameter) are not decayed."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def augment(x: torch.Tensor, pad: int, hflip: bool, g: torch.Generator | None = None) -> torch.Tensor:
    """Random crop after reflect padding, and random horizontal flip, for a whole batch at once (B, C, H, W)."""
    B, C, H, W = x.shape
    dev = x.device
    if pad:
        xp = F.pad(x, (pad, pad, pad, pad), mode="reflect")  # (B, C, H + 2p, W + 2p)
        dy = torch.randint(0, 2 * pad + 1, (B,), generator=g).to(dev)
        dx = torch.randint(0, 2 * pad + 1, (B,), generator=g).to(dev)
        rows = (dy[:, None] + torch.arange(H, device=dev))[:, None, :, None].expand(B, C, H, W + 2 * pad)
        x = xp.gather(2, rows)  # (B, C, H, W + 2p)
        cols = (dx[:, None] + torch.arange(W, device=dev))[:, None, None, :].expand(B, C, H, W)
        x = x.gather(3, cols)  # (B, C, H, W)
    if hflip:
        flip = (torch.rand(B, generator=g) < 0.5).to(dev)
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    return x


# ----------------------------------------------------------------------------------------------------------
# Throughput and MFU
# ----------------------------------------------------------------------------------------------------------


def measure_matmul_tflops(device: torch.device, n: int = 8192, reps: int = 20) -> float | None:
    """Achieved bf16 TFLOP/s of a large square matmul on this GPU (the denominator of MFU); None off CUDA."""
    if device.type != "cuda":
        return None
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    torch.cuda.synchronize()
    return 2 * n ** 3 * reps / (time.perf_counter() - t) / 1e12


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


# ----------------------------------------------------------------------------------------------------------
# Shared run plumbing
# ----------------------------------------------------------------------------------------------------------


def _common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="cifar10", help="cifar10 | mnist | fashion-mnist")
    p.add_argument("--n-train", type=int, default=None, help="training images (default: all)")
    p.add_argument("--epochs", type=float, default=None, help="passes over the training set")
    p.add_argument("--steps", type=int, default=None, help="optimiser steps (overrides --epochs)")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--blr", type=float, default=None, help="base learning rate; lr = blr * batch / 256")
    p.add_argument("--warmup-epochs", type=float, default=5.0)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--run-dir", required=True, help="checkpoint.pt, metrics.jsonl and samples/ go here")
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--ckpt-every", type=int, default=1000)
    p.add_argument("--eval-every", type=int, default=5000)
    p.add_argument("--device", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--compile", action="store_true", help="torch.compile the model (CUDA)")
    p.add_argument("--hflip", type=int, default=None, help="1/0; default: on for cifar10 only (digits are not "
                                                             "mirror-symmetric)")


def _load(args, device):
    x, y = data.load_images(args.dataset, train=True, n=args.n_train, seed=args.seed)
    xt, yt = data.load_images(args.dataset, train=False)
    info = data.DATASETS[data._canonical(args.dataset)]
    hflip = bool(args.hflip) if args.hflip is not None else info.name == "cifar10"
    return x.to(device), y.to(device), xt.to(device), yt.to(device), hflip


def _prepare_run(args, n: int):
    """Schedule lengths (total steps, warmup steps) and the run folder: args.json, checkpoint path, metrics log."""
    total = _total_steps(args, n)
    warmup = min(int(args.warmup_epochs * n / args.batch), total // 5)
    run = Path(args.run_dir)
    run.mkdir(parents=True, exist_ok=True)
    (run / "args.json").write_text(json.dumps(vars(args), indent=1))
    return total, warmup, run / "checkpoint.pt", RunLog(run / "metrics.jsonl")


def _total_steps(args, n: int) -> int:
    if args.steps is not None:
        return args.steps
    if args.epochs is None:
        raise SystemExit("give --epochs or --steps")
    return max(1, int(args.epochs * n / args.batch))


def _resume(ckpt: Path, models: dict, opts: dict, batches, log: RunLog, device) -> int:
    state = resume(ckpt, models=models, optimizers=opts, batches=batches, log=log, map_location=device)
    return state["step"] if state else 0


# ----------------------------------------------------------------------------------------------------------
# course train mae
# ----------------------------------------------------------------------------------------------------------


def build_mae(preset: str, *, img_size: int, in_chans: int, patch: int, width: int, norm_pix: bool) -> MAE:
    if preset == "small":
        return small_mae(width, img_size=img_size, patch_size=patch, in_chans=in_chans, norm_pix_loss=norm_pix)
    return MAE(img_size=img_size, patch_size=patch, in_chans=in_chans, norm_pix_loss=norm_pix, **PRESETS[preset])


def pretrain_main(argv: list[str]) -> int:
    from tqdm.auto import tqdm

    from .probes import extract, knn_accuracy

    p = argparse.ArgumentParser(prog="course train mae", description="MAE pretraining (masked patches only).")
    _common_args(p)
    p.add_argument("--preset", default="tiny", choices=["tiny", "small"], help="tiny: ViT-tiny; small: the "
                                                                               "notebook's model")
    p.add_argument("--width", type=int, default=128, help="encoder width of the 'small' preset")
    p.add_argument("--patch", type=int, default=2)
    p.add_argument("--mask-ratio", type=float, default=0.75)
    p.add_argument("--norm-pix", action="store_true", help="regress per-patch normalised pixels")
    args = p.parse_args(argv)
    args.blr = args.blr if args.blr is not None else 1.5e-4

    device = get_device(args.device)
    seed_everything(args.seed)
    x, y, xt, yt, hflip = _load(args, device)
    model = build_mae(args.preset, img_size=x.shape[-1], in_chans=x.shape[1], patch=args.patch, width=args.width,
                      norm_pix=args.norm_pix).to(device)
    lr = args.blr * args.batch / 256
    opt = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=lr, betas=(0.9, 0.95))
    step_model = torch.compile(model) if args.compile else model
    amp = autocast(device)
    batches = data.Batches(x, batch_size=args.batch, seed=args.seed)
    total, warmup, ckpt, log = _prepare_run(args, len(x))
    start = _resume(ckpt, {"mae": model}, {"opt": opt}, batches, log, device)

    peak = measure_matmul_tflops(device)
    flops = mae_train_flops(model, args.mask_ratio)
    params = sum(q.numel() for q in model.parameters())
    print(f"MAE {args.preset}: {params / 1e6:.2f} M parameters, {flops / 1e9:.3f} GFLOP per image per step, "
          f"{total} steps of {args.batch} on {device}"
          + (f", measured bf16 matmul rate {peak:.0f} TFLOP/s" if peak else ""))
    aug_g = torch.Generator().manual_seed(args.seed + start)
    fixed = xt[:16]

    def save(step):
        save_checkpoint(ckpt, step=step, models={"mae": model}, optimizers={"opt": opt},
                        extra={"batches": batches.state_dict(), "config": _config(model, args)})

    model.train()
    bar = tqdm(range(start, total), initial=start, total=total, desc="MAE pretraining", unit="step", mininterval=2)
    _sync(device)
    t0, seen = time.perf_counter(), 0
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = lr_at(step, total, lr, warmup)
        real = augment(next(batches), 4 if x.shape[-1] >= 32 else 2, hflip, aug_g)
        loss = pretrain_step(step_model, opt, real, args.mask_ratio, amp)
        seen += len(real)
        done = step + 1
        if done % args.log_every == 0 or done == total:
            _sync(device)
            dt = time.perf_counter() - t0
            ips = seen / dt
            row = {"loss": loss.item(), "lr": opt.param_groups[0]["lr"], "img_per_s": ips}
            if peak:
                row["mfu"] = ips * flops / (peak * 1e12)
            log.log(done, **row)
            bar.set_postfix(loss=f"{row['loss']:.4f}", ips=f"{ips:.0f}", refresh=False)
            t0, seen = time.perf_counter(), 0
        if done % args.eval_every == 0 or done == total:
            model.eval()
            _save_recon_grid(model, fixed, args.mask_ratio, ckpt.parent / "samples" / f"step_{done:07d}.png")
            f_tr = extract(model.encoder.features, x[:10000], device=device)
            f_te = extract(model.encoder.features, xt, device=device)
            acc = knn_accuracy(f_tr, y[:10000].cpu(), f_te, yt.cpu())
            log.log(done, knn_acc=acc)
            print(f"step {done}: k-NN accuracy of the encoder's features {100 * acc:.2f}%")
            model.train()
        if done % args.ckpt_every == 0 or done == total:
            save(done)
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


# ----------------------------------------------------------------------------------------------------------
# course train mae-finetune
# ----------------------------------------------------------------------------------------------------------


def finetune_main(argv: list[str]) -> int:
    from tqdm.auto import tqdm

    p = argparse.ArgumentParser(prog="course train mae-finetune",
                                description="Fine-tune an MAE encoder as a classifier, or train it from scratch.")
    _common_args(p)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--init", help="an MAE checkpoint written by `course train mae`")
    src.add_argument("--scratch", action="store_true", help="the same ViT from random initialisation")
    p.add_argument("--preset", default="tiny", choices=["tiny", "small"], help="with --scratch")
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--patch", type=int, default=2)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    args = p.parse_args(argv)
    args.blr = args.blr if args.blr is not None else 1e-3

    device = get_device(args.device)
    seed_everything(args.seed)
    x, y, xt, yt, hflip = _load(args, device)
    if args.init:
        cfg = read_checkpoint(args.init)["extra"]["config"]
        mae = build_mae(cfg["preset"], img_size=cfg["img_size"], in_chans=cfg["in_chans"], patch=cfg["patch"],
                        width=cfg["width"], norm_pix=cfg["norm_pix"])
        load_checkpoint(args.init, models={"mae": mae}, restore_rng=False)
        print(f"encoder initialised from {args.init}")
    else:
        mae = build_mae(args.preset, img_size=x.shape[-1], in_chans=x.shape[1], patch=args.patch, width=args.width,
                        norm_pix=False)
    n_classes = len(data.DATASETS[data._canonical(args.dataset)].classes)
    model = ViTClassifier(mae.encoder, n_classes).to(device)
    lr = args.blr * args.batch / 256
    opt = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=lr, betas=(0.9, 0.999))
    step_model = torch.compile(model) if args.compile else model
    amp = autocast(device)
    batches = data.Batches(x, y, batch_size=args.batch, seed=args.seed)
    total, warmup, ckpt, log = _prepare_run(args, len(x))
    start = _resume(ckpt, {"clf": model}, {"opt": opt}, batches, log, device)
    aug_g = torch.Generator().manual_seed(args.seed + start)
    peak = measure_matmul_tflops(device)
    flops = classifier_train_flops(mae.encoder, n_classes)

    model.train()
    bar = tqdm(range(start, total), initial=start, total=total, desc="fine-tuning", unit="step", mininterval=2)
    acc = float("nan")
    _sync(device)
    t0, seen = time.perf_counter(), 0
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = lr_at(step, total, lr, warmup, final=1e-6)
        xb, yb = next(batches)
        xb = augment(xb, 4 if x.shape[-1] >= 32 else 2, hflip, aug_g)
        with amp():
            loss = F.cross_entropy(step_model(xb), yb, label_smoothing=args.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += len(xb)
        done = step + 1
        if done % args.log_every == 0 or done == total:
            _sync(device)
            ips = seen / (time.perf_counter() - t0)
            row = {"loss": loss.item(), "lr": opt.param_groups[0]["lr"], "img_per_s": ips}
            if peak:
                row["mfu"] = ips * flops / (peak * 1e12)
            log.log(done, **row)
            bar.set_postfix(loss=f"{loss.item():.3f}", acc=f"{acc:.4f}", ips=f"{ips:.0f}", refresh=False)
            t0, seen = time.perf_counter(), 0
        if done % args.eval_every == 0 or done == total:
            acc = evaluate(model, xt, yt, amp)
            log.log(done, test_acc=acc)
            print(f"step {done}: test accuracy {100 * acc:.2f}%")
        if done % args.ckpt_every == 0 or done == total:
            save_checkpoint(ckpt, step=done, models={"clf": model}, optimizers={"opt": opt},
                            extra={"batches": batches.state_dict()})
    return 0


@torch.no_grad()
def evaluate(model, x: torch.Tensor, y: torch.Tensor, amp=contextlib.nullcontext, batch: int = 1000) -> float:
    was = model.training
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        with amp():
            correct += int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
    model.train(was)
    return correct / len(x)

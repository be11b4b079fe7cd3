"""MAE training pieces of chapter 07 and its full-scale recipes (`recipes/mae.py`): the step the notebook teaches
(`pretrain_step`: masked loss, backward, optimizer step), MAE's warmup + cosine learning rate, AdamW's parameter
groups, the crop-and-flip augmentation, the bf16 matmul rate MFU is measured against, and test accuracy.
"""

from __future__ import annotations

import contextlib
import math
import time

import torch
import torch.nn.functional as F

from .models.mae import pretrain_step  # noqa: F401  the step the notebook writes out lives with the model


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


# ----------------------------------------------------------------------------------------------------------
# Accuracy of a classifier (the fine-tuning recipe's evaluation)
# ----------------------------------------------------------------------------------------------------------


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

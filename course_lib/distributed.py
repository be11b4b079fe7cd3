"""Several processes, one model: DistributedDataParallel around the same step functions.

Launched by `torchrun --nproc_per_node=N ...`, each process reads RANK / WORLD_SIZE / LOCAL_RANK from the
environment, takes its own shard of every global batch, and DDP averages the gradients in `backward()`. With
losses that are batch means and equal shards, the averaged gradient equals the gradient on the global batch, so
N processes take the same step as one process on the whole batch (tests/test_distributed.py checks it with two
CPU `gloo` processes). BatchNorm computes statistics per process unless converted to SyncBatchNorm (CUDA only).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn


def setup() -> tuple[int, int, torch.device]:
    """Join the process group if launched by torchrun; returns (rank, world_size, device)."""
    if "WORLD_SIZE" not in os.environ or dist.is_initialized():
        rank = dist.get_rank() if dist.is_initialized() else 0
        world = dist.get_world_size() if dist.is_initialized() else 1
        return rank, world, _device(int(os.environ.get("LOCAL_RANK", 0)))
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size(), _device(int(os.environ.get("LOCAL_RANK", 0)))


def _device(local_rank: int) -> torch.device:
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """DDP around `model` when a process group exists (SyncBatchNorm on CUDA); the model itself otherwise."""
    if not (dist.is_available() and dist.is_initialized()):
        return model
    if device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None,
                                               broadcast_buffers=False)


def shard(batch: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """This process's equal slice of a global batch (B must divide by the world size)."""
    if len(batch) % world:
        raise ValueError(f"global batch {len(batch)} does not split into {world} equal shards")
    n = len(batch) // world
    return batch[rank * n:(rank + 1) * n]


class ShardedBatches:
    """This process's shard of every global batch: all processes draw the same global batch (same seed, so
    the same shuffling), and each keeps its own equal slice of it. One process (world 1) gets the whole batch."""

    def __init__(self, batches, rank: int = 0, world: int = 1):
        self.batches, self.rank, self.world = batches, rank, world

    def __iter__(self):
        return self

    def __next__(self):
        batch = next(self.batches)
        if isinstance(batch, tuple):
            return tuple(shard(t, self.rank, self.world) for t in batch)
        return shard(batch, self.rank, self.world)  # (B / world, ...)

    def state_dict(self) -> dict:
        return self.batches.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.batches.load_state_dict(state)


@torch.no_grad()
def gather(x: torch.Tensor) -> torch.Tensor:
    """Concatenate every process's tensor (same shape on all) in rank order; identity without a group."""
    if not (dist.is_available() and dist.is_initialized()):
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)


def is_main() -> bool:
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()

"""Two CPU processes (gloo) running the recipe's own training path (`recipes.gan.fit_gan`: each process a shard
of the same global batch and of the same global noise, DDP around both players, `loop.fit`) take the same GAN
steps as one process on the whole batch."""

from __future__ import annotations

import os
import socket

import torch
import torch.multiprocessing as mp

from course_lib import data, distributed
from course_lib.gan_runs import ARCHS
from course_lib.models import dcgan
from course_lib.recipes.gan import fit_gan

STEPS, GLOBAL_B, Z = 3, 8, 8


def _setup_models():
    torch.manual_seed(0)
    # no BatchNorm: per-process batch statistics would differ from the global batch's (SyncBatchNorm is CUDA-only)
    G, D = dcgan.build(z_dim=Z, channels=1, image_size=28, width=4, batchnorm=False)
    return G, D


def _data():
    return torch.rand(4 * GLOBAL_B, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1  # (N, 1, 28, 28)


def _run(G, D, x, rank=0, world=1):
    """STEPS steps of the dcgan recipe's path on a global batch of GLOBAL_B images; the weights, and G's samples
    of a fixed noise batch gathered over the processes in rank order."""
    fit_gan(G, D, ARCHS["dcgan"][0], Z, x, steps=STEPS, batch=GLOBAL_B, rank=rank, world=world, progress=False)
    z = torch.randn(GLOBAL_B, Z, generator=torch.Generator().manual_seed(2))  # (B, Z)
    samples = distributed.gather(G(distributed.shard(z, rank, world)).detach())  # (B, 1, 28, 28)
    return torch.cat([p.detach().flatten() for p in [*G.parameters(), *D.parameters()]]), samples


def _worker(rank, world, port, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    r, w, device = distributed.setup()
    G, D = _setup_models()
    params, samples = _run(G, D, _data(), rank=r, world=w)
    if distributed.is_main():
        torch.save({"params": params, "samples": samples}, out)
    distributed.cleanup()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sharded_batches_split_the_same_global_batch():
    x = torch.arange(16.0)
    whole = next(data.Batches(x, batch_size=8, seed=3))
    shards = [next(distributed.ShardedBatches(data.Batches(x, batch_size=8, seed=3), r, 2)) for r in range(2)]
    assert torch.equal(torch.cat(shards), whole) and not torch.equal(shards[0], shards[1])


def test_two_gloo_processes_match_one_process_on_the_global_batch(tmp_path):
    out = tmp_path / "ddp.pt"
    mp.spawn(_worker, args=(2, _free_port(), str(out)), nprocs=2, join=True)
    ddp = torch.load(out, weights_only=True)
    G, D = _setup_models()
    params, samples = _run(G, D, _data())
    assert not torch.equal(params, torch.cat([p.detach().flatten() for p in [*_setup_models()[0].parameters(),
                                                                               *_setup_models()[1].parameters()]]))
    torch.testing.assert_close(ddp["params"], params, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ddp["samples"], samples, rtol=1e-5, atol=1e-6)  # gathered in rank order


def test_shard_and_gather_without_a_group():
    x = torch.arange(8)
    assert distributed.shard(x, 1, 2).tolist() == [4, 5, 6, 7]
    assert torch.equal(distributed.gather(x), x)
    assert distributed.is_main()

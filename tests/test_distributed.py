"""Two CPU processes (gloo) take the same GAN steps as one process on the same global batch."""

from __future__ import annotations

import os
import socket

import torch
import torch.multiprocessing as mp

from course_lib import distributed, losses, train
from course_lib.models import dcgan

STEPS, GLOBAL_B, Z = 3, 8, 8


def _setup_models():
    torch.manual_seed(0)
    # no BatchNorm: per-process batch statistics would differ from the global batch's (SyncBatchNorm is CUDA-only)
    G, D = dcgan.build(z_dim=Z, channels=1, image_size=28, width=4, batchnorm=False)
    return G, D


def _data():
    g = torch.Generator().manual_seed(1)
    return torch.rand(STEPS, GLOBAL_B, 1, 28, 28, generator=g) * 2 - 1, torch.randn(STEPS, GLOBAL_B, Z, generator=g)


def _run(G, D, reals, zs, rank=0, world=1):
    opt_G = torch.optim.Adam(G.parameters(), 1e-3, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), 1e-3, betas=(0.5, 0.999))
    for real, z in zip(reals, zs):
        real, z = distributed.shard(real, rank, world), distributed.shard(z, rank, world)
        fake = G(z)  # (B/world, 1, 28, 28)
        train.d_step(D, real, fake, opt_D, losses.d_loss)
        train.g_step(D, fake, opt_G, losses.g_loss_nonsaturating)
    samples = distributed.gather(G(distributed.shard(zs[0], rank, world)).detach())
    return torch.cat([p.detach().flatten() for p in [*G.parameters(), *D.parameters()]]), samples


def _worker(rank, world, port, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    r, w, device = distributed.setup()
    G, D = _setup_models()
    G, D = distributed.wrap(G, device), distributed.wrap(D, device)
    params, samples = _run(G, D, *_data(), rank=r, world=w)
    if distributed.is_main():
        torch.save({"params": params, "samples": samples}, out)
    distributed.cleanup()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_processes_match_one_process_on_the_global_batch(tmp_path):
    out = tmp_path / "ddp.pt"
    mp.spawn(_worker, args=(2, _free_port(), str(out)), nprocs=2, join=True)
    ddp = torch.load(out, weights_only=True)
    G, D = _setup_models()
    params, samples = _run(G, D, *_data())
    assert not torch.equal(params, torch.cat([p.detach().flatten() for p in [*_setup_models()[0].parameters(),
                                                                               *_setup_models()[1].parameters()]]))
    torch.testing.assert_close(ddp["params"], params, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ddp["samples"], samples, rtol=1e-5, atol=1e-6)  # gathered in rank order


def test_shard_and_gather_without_a_group():
    x = torch.arange(8)
    assert distributed.shard(x, 1, 2).tolist() == [4, 5, 6, 7]
    assert torch.equal(distributed.gather(x), x)
    assert distributed.is_main()

import pytest
import torch
from torch import nn

from course_lib import data, train
from course_lib.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from course_lib.models.mlp import Discriminator, Generator


def _pair(seed=0):
    torch.manual_seed(seed)
    G = Generator(z_dim=4, out_shape=(2,), hidden=(16,))
    D = Discriminator(in_shape=(2,), hidden=(16,))
    return G, D, torch.optim.Adam(G.parameters(), 1e-3), torch.optim.Adam(D.parameters(), 1e-3)


def _params(*models):
    return [p.detach().clone() for m in models for p in m.parameters()]


def test_round_trip_restores_weights_optimizers_and_rng(tmp_path):
    G, D, oG, oD = _pair(0)
    real = torch.randn(8, 2)
    train.gan_step(G, D, oG, oD, real, z_dim=4)  # give the optimizers some state
    path = save_checkpoint(tmp_path / "c.pt", step=7, models={"G": G, "D": D}, optimizers={"G": oG, "D": oD},
                           extra={"note": torch.tensor([1, 2])})
    after_save = torch.randn(3)  # RNG draw right after the save
    G2, D2, oG2, oD2 = _pair(1)
    state = load_checkpoint(path, models={"G": G2, "D": D2}, optimizers={"G": oG2, "D": oD2})
    assert state["step"] == 7 and torch.equal(state["extra"]["note"], torch.tensor([1, 2]))
    for a, b in zip(_params(G, D), _params(G2, D2)):
        assert torch.equal(a, b)
    assert torch.equal(torch.randn(3), after_save)  # the RNG continues where the save left it
    assert oG2.state_dict()["state"][0]["step"] == oG.state_dict()["state"][0]["step"]


def test_corrupt_or_truncated_checkpoint_names_the_file(tmp_path):
    G, D, *_ = _pair()
    path = save_checkpoint(tmp_path / "c.pt", step=1, models={"G": G})
    path.write_bytes(path.read_bytes()[:100])  # truncated
    with pytest.raises(CheckpointError, match="corrupt or truncated") as e:
        load_checkpoint(path, models={"G": G})
    assert str(path) in str(e.value)
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt"):
        load_checkpoint(tmp_path / "junk.pt", models={"G": G})
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "absent.pt", models={"G": G})


def test_mismatched_checkpoint_names_the_mismatch(tmp_path):
    G, D, *_ = _pair()
    path = save_checkpoint(tmp_path / "c.pt", step=1, models={"G": G})
    wider = Generator(z_dim=4, out_shape=(2,), hidden=(32,))
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path, models={"G": wider})
    assert "net.0.weight" in str(e.value) and "(32, 4)" in str(e.value) and "(16, 4)" in str(e.value)
    with pytest.raises(CheckpointError, match=r"no weights for \['D'\]"):
        load_checkpoint(path, models={"D": D})


def test_interrupted_save_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    G, *_ = _pair()
    path = save_checkpoint(tmp_path / "c.pt", step=1, models={"G": G})
    good = path.read_bytes()

    def dying_save(obj, f):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, step=2, models={"G": G})
    assert path.read_bytes() == good
    monkeypatch.undo()
    G2 = Generator(z_dim=4, out_shape=(2,), hidden=(16,))
    assert load_checkpoint(path, models={"G": G2})["step"] == 1


class _Crash(Exception):
    pass


def _run(run_dir, steps, crash_at=None):
    G, D, oG, oD = _pair(0)
    train.seed_everything(0)
    x = data.ring().sample(256, torch.Generator().manual_seed(0))
    batches = data.Batches(x, batch_size=32, seed=0)

    def on_step(step):
        if step == crash_at:
            raise _Crash

    log = train.train_gan(G, D, oG, oD, batches, steps=steps, z_dim=4, run_dir=run_dir, log_every=5,
                          ckpt_every=10, progress=False, on_step=on_step)
    return G, D, log


def test_run_killed_midway_and_resumed_ends_with_the_same_weights(tmp_path):
    G_ref, D_ref, log_ref = _run(tmp_path / "uninterrupted", 40)
    with pytest.raises(_Crash):
        _run(tmp_path / "resumed", 40, crash_at=27)  # last checkpoint: step 20
    G, D, log = _run(tmp_path / "resumed", 40)
    for a, b in zip(_params(G_ref, D_ref), _params(G, D)):
        assert torch.equal(a, b)
    assert [r["step"] for r in log.rows] == [r["step"] for r in log_ref.rows] == list(range(5, 41, 5))
    assert log.rows == log_ref.rows

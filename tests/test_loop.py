"""The one long-run loop: exact resume, the lr schedule's base rate, the best checkpoint, phases that resume inside."""

from __future__ import annotations

import pytest
import torch

from course_lib import data, loop
from course_lib.checkpoint import read_checkpoint


class _Stop(Exception):
    pass


def _setup(seed: int = 0):
    torch.manual_seed(seed)
    net = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    batches = data.Batches(torch.randn(40, 3), torch.randn(40, 1), batch_size=4, seed=seed)

    def step(batch):
        x, y = batch
        loss = (net(x) + 0.01 * torch.randn(len(x), 1) - y).square().mean()  # noise: the RNG state matters too
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.detach()}
    return net, opt, batches, step


def _fit(run_dir, steps, stop_at=None, **kw):
    net, opt, batches, step = _setup()

    def on_step(done):
        if done == stop_at:
            raise _Stop

    loop.fit(step, batches, steps=steps, models={"net": net}, optimizers={"opt": opt}, run_dir=run_dir,
             log_every=1, ckpt_every=2, progress=False, on_step=on_step, **kw)
    return net, opt


def test_an_interrupted_run_resumes_to_the_same_weights_and_says_where(tmp_path):
    ref, _ = _fit(tmp_path / "straight", 8)
    with pytest.raises(_Stop):
        _fit(tmp_path / "cut", 8, stop_at=5)  # last checkpoint: step 4
    net, _ = _fit(tmp_path / "cut", 8)
    torch.testing.assert_close(net.weight, ref.weight, rtol=0, atol=0)
    assert read_checkpoint(tmp_path / "cut" / "checkpoint.pt")["extra"]["resumed_from"] == [4]
    assert "resumed_from" not in read_checkpoint(tmp_path / "straight" / "checkpoint.pt")["extra"]


def test_the_lr_schedule_multiplies_the_base_rate_also_after_a_resume(tmp_path):
    def factor(i):
        return 1.0 / (i + 1)

    _, opt = _fit(tmp_path / "a", 4, lr=factor)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * factor(3))
    _, opt = _fit(tmp_path / "a", 6, lr=factor)  # resumed: the saved (decayed) rate is not the new base
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * factor(5))


def test_the_best_checkpoint_is_the_lowest_metric_across_a_resume(tmp_path):
    values = {2: 3.0, 4: 1.0, 6: 2.0, 8: 5.0}  # best at step 4; after the resume at 6, 8 must not replace it
    kw = dict(evaluate=lambda done: {"fd": values[done]}, eval_every=2, best="fd")
    _fit(tmp_path / "b", 6, **kw)
    _fit(tmp_path / "b", 8, **kw)
    best = read_checkpoint(tmp_path / "b" / "best.pt")
    assert best["step"] == 4 and best["extra"]["best"] == 1.0


def test_phases_resume_inside_the_interrupted_one_and_skip_the_finished(tmp_path):
    net, opt, batches, step = _setup()
    calls = {"pre": 0, "main": 0}

    def counted(name):
        def s(batch):
            calls[name] += 1
            return step(batch)
        return s

    def phases(stop_at=None):
        def on_step(done):
            if done == stop_at:
                raise _Stop
        return [loop.Phase("pre", counted("pre"), 3, batches, {"opt": opt}),
                loop.Phase("main", counted("main"), 6, batches, {"opt": opt}, {"on_step": on_step})]

    common = dict(models={"net": net}, run_dir=tmp_path, log_every=1, ckpt_every=2, progress=False)
    with pytest.raises(_Stop):
        loop.fit_phases(phases(stop_at=3), **common)
    assert calls == {"pre": 3, "main": 3}
    loop.fit_phases(phases(), **common)
    assert calls == {"pre": 3, "main": 7}  # "pre" not redone; "main" redoes step 3 from its checkpoint at 2
    assert read_checkpoint(tmp_path / "main" / "checkpoint.pt")["extra"]["resumed_from"] == [2]


def test_groups_draw_n_batches_and_keep_the_stream_state():
    b = data.Batches(torch.arange(12.0), batch_size=2, seed=0)
    g = loop.Groups(b, 3)
    first = next(g)
    assert len(first) == 3 and g.state_dict()["pos"] == 6

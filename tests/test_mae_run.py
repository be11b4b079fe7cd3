"""MAE's schedule, augmentation and parameter groups, and `course train mae / mae-finetune` on a CPU with resume."""

from __future__ import annotations

import json
import math

import torch

from course_lib import mae_run
from course_lib.checkpoint import read_checkpoint
from course_lib.recipes import mae


def test_lr_schedule():
    assert mae_run.lr_at(0, 100, 1.0, 10) == 0.1
    assert mae_run.lr_at(9, 100, 1.0, 10) == 1.0
    assert math.isclose(mae_run.lr_at(55, 100, 1.0, 10), 0.5)  # half-way through the cosine
    assert math.isclose(mae_run.lr_at(100, 100, 1.0, 10, final=0.01), 0.01)


def test_augment_is_a_crop_and_flip():
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).reshape(2, 1, 6, 6)
    assert torch.equal(mae_run.augment(x, 0, False), x)
    g = torch.Generator().manual_seed(0)
    y = mae_run.augment(x, 2, True, g)
    assert y.shape == x.shape
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2), mode="reflect")
    for b in range(2):  # every output is some 6x6 window of the padded image, possibly mirrored
        wins = [padded[b, :, i:i + 6, j:j + 6] for i in range(5) for j in range(5)]
        assert any(torch.equal(y[b], w) or torch.equal(y[b], w.flip(-1)) for w in wins)


def test_pretrain_resume_and_finetune(tmp_path, capsys):
    run = tmp_path / "mae"
    common = ["--dataset", "mnist", "--preset", "small", "--width", "32", "--patch", "7", "--n-train", "256",
              "--batch", "32", "--log-every", "2", "--ckpt-every", "2", "--eval-every", "100", "--run-dir", str(run)]
    assert mae.pretrain(common + ["--steps", "4"]) == 0
    assert read_checkpoint(run / "checkpoint.pt")["step"] == 4
    assert mae.pretrain(common + ["--steps", "6"]) == 0
    assert "resumed from" in capsys.readouterr().out
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == [2, 4, 6]
    assert any("knn_acc" in r for r in rows) and (run / "samples").is_dir()
    ft = tmp_path / "ft"
    assert mae.finetune(["--init", str(run / "checkpoint.pt"), "--dataset", "mnist", "--n-train", "256",
                                  "--batch", "32", "--steps", "2", "--eval-every", "2", "--run-dir", str(ft)]) == 0
    rows = [json.loads(line) for line in (ft / "metrics.jsonl").read_text().splitlines()]
    assert 0.0 <= rows[-1]["test_acc"] <= 1.0
    assert any(r.get("img_per_s", 0) > 0 for r in rows)  # fine-tuning reports its throughput, as pretraining does


def test_weight_decay_skips_biases_and_norms():
    from course_lib.models.mae import small_mae

    model = small_mae(32, patch_size=7)
    decay, no_decay = mae_run.param_groups(model, 0.05)
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(p.ndim >= 2 for p in decay["params"])
    assert all(p.ndim == 1 or names[id(p)].endswith(".bias") for p in no_decay["params"])
    assert any("norm" in names[id(p)] for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len([p for p in model.parameters() if p.requires_grad])

"""Full-scale code paths on tiny settings: ResNet GAN shapes, `course train dcgan` with resume, `course bench`."""

from __future__ import annotations

import json

import torch

from course_lib import gan_runs
from course_lib.checkpoint import read_checkpoint
from course_lib.models import resnet_gan
from course_lib.recipes import gan
from course_lib.runlog import read_log


def test_resnet_gan_shapes_and_spectral_norm():
    G, D = resnet_gan.build(z_dim=8, g_width=8, d_width=8)
    x = G(torch.randn(3, 8))
    assert x.shape == (3, 3, 32, 32) and x.abs().max() <= 1
    assert D(x).shape == (3, 1)
    assert all(torch.nn.utils.parametrize.is_parametrized(m) for m in D.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    _, D_plain = resnet_gan.build(z_dim=8, g_width=8, d_width=8, spectral_norm=False)
    assert not any(torch.nn.utils.parametrize.is_parametrized(m) for m in D_plain.modules())


def test_train_dcgan_checkpoints_resumes_and_keeps_the_best(tmp_path):
    args = ["--dataset", "mnist", "--width", "4", "--ckpt-every", "2", "--eval-every", "2", "--n-eval", "64",
            "--run-dir", str(tmp_path / "run")]
    assert gan.dcgan(args + ["--steps", "2"]) == 0
    assert (tmp_path / "run" / "checkpoint.pt").exists() and (tmp_path / "run" / "best.pt").exists()
    assert gan.dcgan(args + ["--steps", "4"]) == 0
    assert read_checkpoint(tmp_path / "run" / "checkpoint.pt")["extra"]["resumed_from"] == [2]
    rows = read_log(tmp_path / "run" / "metrics.jsonl")
    fd_steps = [r["step"] for r in rows if "fd" in r]
    assert fd_steps == [2, 4]
    assert list((tmp_path / "run" / "samples").glob("*.png"))


def test_missing_dataset_is_a_clear_error(tmp_path, monkeypatch, capsys):
    from course_lib import cli

    monkeypatch.setenv("COURSE_DATA_ROOT", str(tmp_path))
    assert cli.main(["train", "sngan", "--dataset", "cifar10", "--steps", "1"]) == 2
    assert "course data fetch cifar10" in capsys.readouterr().err


def test_bench_writes_a_table_and_json(tmp_path):
    from course_lib import gpu_check

    out = tmp_path / "bench.json"
    assert gpu_check.bench(["--recipes", "dcgan", "--scale", "smoke", "--steps", "1", "--warmup", "1",
                            "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["recipes"]
    assert rows[0]["recipe"] == "dcgan" and rows[0]["steps_per_s"] > 0

"""`course gpu-check` and `course bench`: every recipe's case builds and steps, and the report says what it measured.

The CPU run at smoke keeps the GPU path from rotting between the days a GPU is lent; the full-size runs are slow
(marked, skipped unless --run-slow)."""

import json

import pytest
import torch

from course_lib import bench_cases, cli, gpu_check
from course_lib.recipes import RECIPES


def test_every_training_recipe_has_a_timed_case():
    assert set(bench_cases.CASES) == set(RECIPES)


def _check(tmp_path, *args) -> dict:
    out = tmp_path / "report.json"
    rc = gpu_check.check(["--device", "cpu", "--out", str(out), *args])
    report = json.loads(out.read_text())
    assert rc == (0 if report["passed"] else 1)
    return report


def test_gpu_check_on_a_cpu_at_smoke_steps_every_recipe_and_reports_the_hardware(tmp_path):
    report = _check(tmp_path, "--scale", "smoke", "--steps", "1", "--warmup", "0", "--fid-images", "2",
                    "--no-torchrun")
    assert report["passed"] and report["scale"] == "smoke"
    rows = {r["recipe"]: r for r in report["recipes"]}
    assert list(rows) == list(bench_cases.CASES)
    for name, r in rows.items():
        assert r["finite"] and r["steps_per_s"] > 0 and r["params_M"] > 0, name
        assert r["speed_only"] == r["data"].startswith("speed only"), name
    assert rows["dcgan"]["speed_only"]  # CIFAR-10 is never in the offline data: random tensors, labelled
    assert "RANDOM weights" in report["fid"]["what"] and report["fid"]["features"] == [2, 2048]
    assert {"torch", "cuda", "cpu_count", "device"} <= set(report["hardware"])


def test_a_case_without_its_dataset_is_labelled_speed_only(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_ROOT", str(tmp_path))  # nothing on disk
    cpu = torch.device("cpu")
    ctx = bench_cases.Context(gpu_check.get_scale("smoke"), cpu, gpu_check.train.autocast(cpu))
    case = bench_cases.CASES["vae"](ctx)
    assert case.data.startswith(bench_cases.SPEED_ONLY) and "mnist is not on disk" in case.data
    case.step()


def test_bench_refuses_an_unknown_recipe_in_one_line(capsys):
    assert cli.main(["bench", "--recipes", "dcgan,nope", "--scale", "smoke"]) == 2
    assert "unknown recipe(s) nope" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("recipe", list(bench_cases.CASES))
def test_a_recipe_at_full_size_on_its_real_data_runs_two_steps_on_a_cpu_within_4_gb(recipe, tmp_path):
    """One process per recipe, so that its peak memory is its own. On random tensors (its data absent) the recipe
    itself would stop at once with the missing-data message; the speed-only case is only required to step."""
    import subprocess
    import sys

    out = tmp_path / "report.json"
    p = subprocess.run([sys.executable, "-m", "course_lib.cli", "gpu-check", "--device", "cpu", "--scale", "full",
                        "--recipes", recipe, "--steps", "2", "--warmup", "0", "--fid-images", "2", "--no-torchrun",
                        "--out", str(out)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads(out.read_text())
    [row] = report["recipes"]
    assert row["finite"]
    if not row["speed_only"]:
        assert report["peak_rss_mb"] < 4096, f"{recipe} at full on {row['data']}: {report['peak_rss_mb']} MB"


@pytest.mark.slow
def test_gpu_check_on_a_cpu_runs_the_recipe_under_torchrun(tmp_path):
    report = _check(tmp_path, "--scale", "smoke", "--recipes", "dcgan", "--steps", "1", "--fid-images", "2")
    ddp = report["torchrun"]
    assert report["passed"] and ddp["rc"] == 0 and ddp["checkpoint_written"] and ddp["processes"] == 1, ddp


@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_check_on_cuda_at_full_size(tmp_path):
    out = tmp_path / "report.json"
    assert gpu_check.check(["--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["hardware"]["gpu"] and all(r["bf16"] and r["channels_last"] for r in report["recipes"])
    assert {r["recipe"] for r in report["recipes"] if r["compile"]} == set(gpu_check.COMPILED)

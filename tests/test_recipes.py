"""Every `course train` recipe: it imports, it has the shared options, it runs two steps at smoke on the offline
data and resumes at step 2 when asked for four, or it stops at once with the one-line missing-data message."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from course_lib import cli
from course_lib.checkpoint import read_checkpoint
from course_lib.recipes import RECIPES
from course_lib.recipes.options import SHARED

# tiny sizes, so that each recipe takes seconds; the datasets are the offline ones (MNIST, facades, sr, chorales)
TINY = {
    "dcgan": ["--dataset", "mnist", "--width", "4", "--n-eval", "64"],
    "sagan": ["--dataset", "mnist", "--width", "8", "--batch-size", "8", "--n-train", "64", "--n-eval", "64"],
    "vae": ["--width", "4", "--n-train", "256", "--batch-size", "32", "--n-eval", "64"],
    "vae-gan": ["--width", "4", "--n-train", "256", "--batch-size", "32", "--n-eval", "64"],
    "aae": ["--n-train", "256", "--batch-size", "32", "--hidden", "16"],
    "mae": ["--dataset", "mnist", "--preset", "small", "--width", "32", "--patch", "7", "--n-train", "256",
            "--batch", "32", "--eval-every", "100"],
    "mae-finetune": ["--dataset", "mnist", "--preset", "small", "--width", "32", "--patch", "7", "--n-train", "256",
                     "--batch", "32", "--eval-every", "100"],
    "pix2pix": ["--dataset", "edges-mnist", "--width", "4", "--batch-size", "4"],
    "srgan": ["--patch", "24", "--width", "8", "--n-crops", "64", "--batch-size", "4", "--eval", ""],  # SSIM: slow
    "musegan": ["--design", "composer", "--n-chorales", "3", "--width", "4", "--n-critic", "1"],
    "anogan": ["--normal", "0", "--width", "8", "--n-test", "64", "--search-steps", "2"],
    "seqgan": [],  # --steps sets every phase: MLE and D pre-training resume at step 2 too
}
CIFAR_ONLY = ["sngan", "wgan-gp"]  # the ResNet GANs are built for 32x32 CIFAR-10, absent offline
CACHED = ["classifier"]  # a cached short fit, not a resumable run


def test_every_recipe_is_covered_by_a_test_here():
    assert set(RECIPES) == set(TINY) | set(CIFAR_ONLY) | set(CACHED)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_imports_and_has_the_shared_options(name, capsys):
    assert callable(RECIPES[name])
    with pytest.raises(SystemExit) as e:
        RECIPES[name](["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: course train {name}") and all(opt in out for opt in SHARED)


def _resumed_from(run_dir) -> list[list[int]]:
    """extra["resumed_from"] of every checkpoint the run wrote (a fresh start writes none)."""
    return [read_checkpoint(p)["extra"].get("resumed_from", []) for p in sorted(run_dir.rglob("checkpoint.pt"))]


@pytest.mark.parametrize("name", sorted(TINY))
def test_recipe_runs_two_steps_then_resumes_at_step_two(name, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path / "runs"))
    run_dir = tmp_path / "run"
    args = ["train", name, "--scale", "smoke", "--run-dir", str(run_dir), *TINY[name]]
    torch.manual_seed(0)
    assert cli.main([*args, "--steps", "2"]) == 0
    assert not any(_resumed_from(run_dir)), "a first run has nothing to resume from"
    assert cli.main([*args, "--steps", "4"]) == 0
    assert any(2 in r for r in _resumed_from(run_dir)), f"{name} started over instead of resuming at step 2"
    steps = {read_checkpoint(p)["step"] for p in run_dir.rglob("checkpoint.pt")}
    assert 4 in steps


@pytest.mark.parametrize("name", CIFAR_ONLY + ["dcgan", "sagan", "mae", "mae-finetune"])
def test_recipe_on_absent_cifar10_stops_with_one_line(name, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DATA_ROOT", str(tmp_path))  # no dataset here
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path / "runs"))
    assert cli.main(["train", name, "--scale", "smoke", "--steps", "2", "--dataset", "cifar10"]) == 2
    err = capsys.readouterr().err
    assert "course data fetch cifar10" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").rglob("checkpoint.pt"))


def test_classifier_recipe_trains_once_then_loads_its_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    args = ["train", "classifier", "--scale", "smoke", "--dataset", "mnist", "--steps", "2"]
    assert cli.main(args) == 0
    assert "trained" in capsys.readouterr().out
    assert cli.main(args) == 0
    assert "loaded" in capsys.readouterr().out


def test_a_bad_scale_is_one_line(capsys):
    assert cli.main(["train", "aae", "--scale", "huge", "--steps", "2"]) == 2
    err = capsys.readouterr().err
    assert "unknown scale 'huge'" in err and "Traceback" not in err


def test_a_checkpoint_of_other_sizes_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    args = ["train", "aae", "--scale", "smoke", "--run-dir", str(tmp_path / "r"), "--steps", "2", *TINY["aae"][:4]]
    assert cli.main([*args, "--hidden", "16"]) == 0
    assert cli.main([*args, "--hidden", "32", "--steps", "3"]) == 2  # argparse keeps the last --steps
    err = capsys.readouterr().err
    assert "does not match model" in err and "Traceback" not in err


class _Parsed(Exception):
    """Raised once a recipe's options parse: the command is understood, nothing is trained."""


def test_every_course_train_command_the_notebooks_quote_parses(monkeypatch):
    """The full-scale commands the chapters print for learners are accepted by the recipes as written."""
    import argparse
    import re
    import shlex


    original = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):
        original(self, args, namespace)
        raise _Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    root = Path(__file__).resolve().parents[1] / "notebooks"
    commands = set()
    for src in root.glob("[0-9][0-9]_*.py"):
        for m in re.finditer(r"course train ([a-z0-9-]+)((?: --?[a-z0-9-]+(?: [^\s`#-][^\s`]*)?)*)",
                             src.read_text(encoding="utf-8")):
            commands.add((m.group(1), m.group(2).strip()))
    assert len(commands) >= 10, commands
    for name, rest in sorted(commands):
        assert name in RECIPES, f"the notebooks quote `course train {name}`, which is no recipe"
        with pytest.raises(_Parsed):
            RECIPES[name](shlex.split(rest))

import pytest

from course_lib import cli, data
from course_lib.course import book


def test_list_shows_every_chapter(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for c in book.chapters():
        assert c.title in out and c.id in out and c.status in out  # every chapter may be ready, none planned


def test_doctor_reports_versions_device_and_data(capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    for key in ("torch", "torchvision", "device", "bf16", "data root", "mnist", "inception-fid"):
        assert key in out


def test_run_rejects_a_bad_scale_and_an_unknown_chapter(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "01", "--scale", "huge"])
    assert "invalid choice" in capsys.readouterr().err
    assert cli.main(["run", "42"]) == 2
    assert "no chapter '42'" in _one_line(capsys)


def test_unknown_training_recipe_lists_the_known_ones(capsys):
    assert cli.main(["train", "nope"]) == 2
    err = _one_line(capsys)
    assert "unknown training recipe 'nope'" in err and "dcgan" in err and "musegan" in err


def _course(*args, tmp_path, env_extra=None):
    import os
    import subprocess
    import sys

    env = {**os.environ, "COURSE_DATA_ROOT": str(tmp_path / "no-data"), **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "course_lib.cli", *args], capture_output=True, text=True,
                          env=env, cwd=tmp_path)


def test_a_users_error_is_one_line_without_a_traceback_and_exit_status_2(tmp_path):
    p = _course("train", "dcgan", "--scale", "huge", tmp_path=tmp_path)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "unknown scale 'huge'" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    p = _course("train", "dcgan", "--scale", "smoke", "--steps", "2", "--run-dir", str(tmp_path / "r"),
                tmp_path=tmp_path)  # CIFAR-10 is not in the empty data root
    assert p.returncode == 2 and "Traceback" not in p.stderr and "cifar10" in p.stderr.lower()


def test_a_checkpoint_a_safe_load_refuses_is_named_as_such_not_as_corrupt(tmp_path):
    import torch

    from course_lib.checkpoint import CheckpointError, read_checkpoint

    path = tmp_path / "checkpoint.pt"
    torch.save({"format": "x", "obj": _Foreign()}, path)  # a pickled object, not just tensors
    with pytest.raises(CheckpointError, match="safe .weights-only. load refuses") as e:
        read_checkpoint(path)
    assert "corrupt" not in str(e.value)
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        read_checkpoint(path)


class _Foreign:
    pass


def _one_line(capsys) -> str:
    """What the command printed on stderr, asserted to be one line and no traceback."""
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


@pytest.fixture
def mnist_run(tmp_path, monkeypatch):
    """`course train dcgan` on MNIST at smoke (1 step), its run folder, and the arguments that run it."""
    if not data.dataset_present("mnist"):
        pytest.skip("needs the offline MNIST (COURSE_TEST_DATA or ../shared/data)")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    return run_dir, ["train", "dcgan", "--dataset", "mnist", "--scale", "smoke", "--steps", "1", "--width", "8",
                     "--run-dir", str(run_dir)]


def test_a_truncated_checkpoint_is_one_line_and_exit_2(mnist_run, capsys):
    run_dir, argv = mnist_run
    (run_dir / "checkpoint.pt").write_bytes(b"PK\x03\x04 truncated")
    assert cli.main(argv) == 2
    assert "corrupt or truncated" in _one_line(capsys)


def test_a_checkpoint_of_another_width_is_one_line_and_exit_2(mnist_run, capsys):
    from course_lib import gan_runs
    from course_lib.checkpoint import save_checkpoint

    run_dir, argv = mnist_run
    G, D, _ = gan_runs.build_models("dcgan", channels=1, image_size=28, width=16)  # the run asks for width 8
    save_checkpoint(run_dir / "checkpoint.pt", step=1, models={"G": G, "D": D})
    assert cli.main(argv) == 2
    err = _one_line(capsys)
    assert "does not match model" in err and "shape of" in err


def test_an_unsafe_checkpoint_is_one_line_exit_2_and_not_called_corrupt(mnist_run, capsys):
    import torch

    run_dir, argv = mnist_run
    torch.save({"format": "x", "obj": _Foreign()}, run_dir / "checkpoint.pt")
    assert cli.main(argv) == 2
    err = _one_line(capsys)
    assert "safe (weights-only) load refuses" in err and "corrupt" not in err


def test_a_bad_image_size_is_one_line_and_exit_2(mnist_run, capsys):
    run_dir, argv = mnist_run
    argv = ["train", "sngan", *argv[2:]]  # the ResNet GAN is built for 32x32; MNIST is 28x28
    assert cli.main(argv) == 2
    assert "built for 32x32 images, got 28x28" in _one_line(capsys)


def test_missing_data_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DATA_ROOT", str(tmp_path / "empty"))
    assert cli.main(["train", "dcgan", "--dataset", "mnist", "--scale", "smoke", "--steps", "1",
                     "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err  # the message says where it looked and how to fetch: several lines, no traceback
    assert "Traceback" not in err and err.startswith("course: dataset 'mnist' is missing")
    assert "course data fetch mnist" in err


def test_an_unknown_dataset_is_one_line_and_exit_2(tmp_path, capsys):
    assert cli.main(["train", "dcgan", "--dataset", "nope", "--scale", "smoke", "--run-dir", str(tmp_path)]) == 2
    assert _one_line(capsys) == ("course: unknown dataset 'nope'; known datasets: "
                                 + ", ".join(data.DATASETS))


@pytest.mark.parametrize("argv", [["train", "dcgan"], ["run", "01"]])  # both read $COURSE_SCALE before any work
def test_a_bad_scale_from_the_environment_is_one_line_and_exit_2(argv, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_SCALE", "huge")
    assert cli.main(argv) == 2
    assert "unknown scale 'huge' (from $COURSE_SCALE)" in _one_line(capsys)


def test_a_missing_nbgrader_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_nbgrader(name, *a, **k):
        if name == "nbgrader":
            raise ImportError("No module named 'nbgrader'")
        return real_import(name, *a, **k)

    from course_lib.course import grading

    monkeypatch.setattr(builtins, "__import__", no_nbgrader)
    with pytest.raises(cli.CourseError, match="nbgrader is not installed"):
        grading.nbgrader(tmp_path, "--version")


def test_an_unexpected_error_keeps_its_traceback(monkeypatch):
    monkeypatch.setattr(cli, "cmd_list", lambda args: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        cli.main(["list"])

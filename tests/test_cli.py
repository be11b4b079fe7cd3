import pytest

from course_lib import cli
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
    with pytest.raises(SystemExit, match="no chapter '42'"):
        cli.main(["run", "42"])


def test_unknown_training_recipe_lists_the_known_ones():
    with pytest.raises(SystemExit, match="unknown training recipe 'nope'"):
        cli.main(["train", "nope"])


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


def test_an_unexpected_error_keeps_its_traceback(monkeypatch):
    monkeypatch.setattr(cli, "cmd_list", lambda args: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        cli.main(["list"])

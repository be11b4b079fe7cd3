import pytest

from course_lib import book, cli


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

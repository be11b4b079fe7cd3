import dataclasses

import pytest

from course_lib.scale import PRESETS, ScaleError, get_scale


def test_presets_are_frozen_numbers():
    s = get_scale("small")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.toy_steps = 1  # type: ignore[misc]
    for preset in PRESETS.values():
        for f in dataclasses.fields(preset):
            v = getattr(preset, f.name)
            assert f.name == "name" or v is None or isinstance(v, int), f"{preset.name}.{f.name} is not a number"


def test_scales_grow_from_smoke_to_full():
    smoke, small, full = (PRESETS[k] for k in ("smoke", "small", "full"))
    assert smoke.toy_steps < small.toy_steps < full.toy_steps
    assert smoke.image_steps < small.image_steps < full.image_steps
    assert smoke.n_eval < small.n_eval < full.n_eval


def test_environment_variable_selects_scale(monkeypatch):
    monkeypatch.setenv("COURSE_SCALE", "full")
    assert get_scale().name == "full"
    monkeypatch.setenv("COURSE_SCALE", " Smoke ")
    assert get_scale().name == "smoke"
    monkeypatch.delenv("COURSE_SCALE")
    assert get_scale().name == "small"  # the default for users


def test_unknown_scale_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("COURSE_SCALE", "huge")
    with pytest.raises(ScaleError) as e:
        get_scale()
    msg = str(e.value)
    assert "'huge'" in msg and "$COURSE_SCALE" in msg
    assert all(name in msg for name in ("smoke", "small", "full"))
    with pytest.raises(ScaleError, match="from argument"):
        get_scale("tiny")


def test_use_scale_exports_the_choice(monkeypatch):
    from course_lib.scale import use_scale

    monkeypatch.setenv("COURSE_SCALE", "small")
    assert use_scale("full").name == "full"
    assert get_scale().name == "full"  # what a feature network called later by the run reads
    assert use_scale(None).name == "full"
    with pytest.raises(ScaleError):
        use_scale("huge")

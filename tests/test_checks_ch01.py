"""Chapter 01's prediction exercise: the check runs the experiment and accepts only the outcome it observes."""

from __future__ import annotations

import pytest

from course_lib.checks import ch01


def test_detach_prediction_accepts_what_the_run_shows(capsys):
    g_filled, error = ch01._run_without_detach()
    assert g_filled and "backward through the graph a second time" in error
    ch01.predict_without_detach(lambda: "c")
    assert "(c) as predicted" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", ["a", "b", "d"])
def test_detach_prediction_explains_a_wrong_answer(wrong):
    with pytest.raises(AssertionError, match="frees"):
        ch01.predict_without_detach(lambda: wrong)


def test_detach_prediction_rejects_an_unknown_letter():
    with pytest.raises(AssertionError, match="one of"):
        ch01.predict_without_detach(lambda: "z")

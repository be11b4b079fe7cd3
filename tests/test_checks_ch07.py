"""The chapter 07 checks pass on the solutions and fail on wrong answers and on stubs."""

from __future__ import annotations

import pytest
import torch

from course_lib.checks import ch07
from course_lib.course.exercises import ExerciseNotDone
from course_lib.models.mae import masked_mse


def stub(*args):
    raise NotImplementedError


def unshuffle(x, ids_restore):
    return x.gather(1, ids_restore[..., None].expand(-1, -1, x.shape[-1]))


def test_masked_mse_check():
    ch07.masked_mse(masked_mse)
    with pytest.raises(ExerciseNotDone):
        ch07.masked_mse(stub)
    for wrong in (lambda p, t, m: (p - t).pow(2).mean(),  # every patch counted
                  lambda p, t, m: ((p - t).pow(2).sum(-1) * m).sum() / m.sum(),  # sum, not mean, per patch
                  lambda p, t, m: ((p - t).pow(2).mean(-1) * (1 - m)).sum() / (1 - m).sum()):  # visible patches
        with pytest.raises(AssertionError):
            ch07.masked_mse(wrong)


def test_unshuffle_check():
    ch07.unshuffle(unshuffle)
    with pytest.raises(ExerciseNotDone):
        ch07.unshuffle(stub)
    first_perm = lambda x, r: x.gather(1, r[:1, :, None].expand(len(x), -1, x.shape[-1]))  # noqa: E731
    for wrong in (lambda x, r: x, first_perm, lambda x, r: x.gather(1, r.argsort(1)[..., None].expand_as(x))):
        with pytest.raises(AssertionError):
            ch07.unshuffle(wrong)


@pytest.mark.parametrize("wrong, hint", [
    (lambda p, t, m: (p - t).pow(2).mean(-1).mean(), "averaged over every patch"),
    (lambda p, t, m: ((p - t).pow(2).mean(-1) * m).mean(), "number of patches, not by the number of masked"),
    (lambda p, t, m: ((p - t).pow(2).sum(-1) * m).sum() / m.sum(), "take the \\*mean\\* over the values"),
])
def test_masked_mse_hints_fire_for_their_mistake(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        ch07.masked_mse(wrong)

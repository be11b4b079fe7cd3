"""Chapter 11's exercise checks pass on the solutions and fail, with a useful message, on wrong answers and stubs."""

import pytest
import torch
from einops import repeat

from course_lib import music_metrics as mm
from course_lib.checks import ch11 as check
from course_lib.course.exercises import ExerciseNotDone
from course_lib.models import musegan


def stub(*args):
    raise NotImplementedError


# ---- used pitch classes ----------------------------------------------------------------------------------


def upc_solution(x):
    B, K, N, T, P = x.shape
    used = (x > 0.5).any(3).reshape(B, K, N, P // 12, 12).any(3).sum(-1).double()  # (B, K, N)
    nonempty = used > 0
    return (used * nonempty).sum((0, 2)) / nonempty.sum((0, 2))


def upc_all_bars(x):
    used = (x > 0.5).any(3).reshape(*x.shape[:3], -1, 12).any(3).sum(-1).double()
    return used.mean((0, 2))


def upc_no_octave_folding(x):
    used = (x > 0.5).any(3).sum(-1).double()  # distinct pitches, not classes
    nonempty = used > 0
    return (used * nonempty).sum((0, 2)) / nonempty.sum((0, 2))


def test_upc_check_passes_on_solutions():
    check.used_pitch_classes(upc_solution)
    check.used_pitch_classes(mm.used_pitch_classes)


@pytest.mark.parametrize("wrong,msg", [(upc_all_bars, "non-empty"), (upc_no_octave_folding, "octaves"),
                                       (lambda x: upc_solution(x).sum(), "per track")])
def test_upc_check_fails_on_wrong_answers(wrong, msg):
    with pytest.raises(AssertionError, match=msg):
        check.used_pitch_classes(wrong)


def test_upc_check_on_stub():
    with pytest.raises(ExerciseNotDone):
        check.used_pitch_classes(stub)


# ---- tonal centroid --------------------------------------------------------------------------------------


def centroid_solution(c):
    l = torch.arange(12, dtype=torch.float64)
    phi = torch.stack([r * f(l * a) for r, a in ((1, 7 * torch.pi / 6), (1, 3 * torch.pi / 2), (0.5, 2 * torch.pi / 3))
                       for f in (torch.sin, torch.cos)])  # (6, 12)
    c = c.double()
    n = c.sum(-1, keepdim=True)
    return torch.where(n > 0, c / n.clamp(min=1e-12), 0) @ phi.T


def test_centroid_check_passes_on_solutions():
    check.tonal_centroid(centroid_solution)
    check.tonal_centroid(mm.tonal_centroid)


@pytest.mark.parametrize("wrong,msg", [
    (lambda c: c.double() @ mm.tonal_matrix().T, "normalise"),
    (lambda c: mm.tonal_centroid(c) * torch.tensor([1, 1, 1, 1, 2, 2.0], dtype=torch.float64), "r3"),
    (lambda c: (c.double() / c.double().sum(-1, keepdim=True)) @ mm.tonal_matrix().T, "NaN"),
    (lambda c: mm.tonal_centroid(c).flip(-1), "C alone"),
])
def test_centroid_check_fails_on_wrong_answers(wrong, msg):
    with pytest.raises(AssertionError, match=msg):
        check.tonal_centroid(wrong)


def test_centroid_check_on_stub():
    with pytest.raises(ExerciseNotDone):
        check.tonal_centroid(stub)


# ---- hybrid latents --------------------------------------------------------------------------------------


def hybrid_solution(shared, shared_bars, private, private_bars):
    B, K, N, Z = private_bars.shape
    return torch.cat([repeat(shared, "b z -> b k n z", k=K, n=N), repeat(shared_bars, "b n z -> b k n z", k=K),
                      repeat(private, "b k z -> b k n z", n=N), private_bars], dim=-1)


def hybrid_swapped(shared, shared_bars, private, private_bars):
    out = hybrid_solution(shared, shared_bars, private, private_bars)
    a, b, c, d = out.split(shared.shape[-1], dim=-1)
    return torch.cat([b, a, c, d], dim=-1)


def hybrid_private_bars_shared(shared, shared_bars, private, private_bars):
    out = hybrid_solution(shared, shared_bars, private, private_bars)
    a, b, c, d = out.split(shared.shape[-1], dim=-1)
    return torch.cat([a, b, c, d[:, :1].expand_as(d)], dim=-1)  # every track gets track 0's per-bar latent


def test_hybrid_check_passes_on_solutions():
    check.hybrid_latents(hybrid_solution)
    check.hybrid_latents(musegan.assemble_latents)


@pytest.mark.parametrize("wrong,msg", [
    (hybrid_swapped, "check the order"),
    (hybrid_private_bars_shared, "slice 3"),
    (lambda *p: hybrid_solution(*p)[:, 0], "shape"),
])
def test_hybrid_check_fails_on_wrong_answers(wrong, msg):
    with pytest.raises(AssertionError, match=msg):
        check.hybrid_latents(wrong)


def test_hybrid_check_on_stub():
    with pytest.raises(ExerciseNotDone):
        check.hybrid_latents(stub)

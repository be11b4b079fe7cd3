"""The chapter 02 and 03 exercise checks pass on the solutions and fail on wrong answers and stubs."""

from __future__ import annotations

import pytest
import torch

from course_lib.checks import ch02, ch03
from course_lib.course.exercises import ExerciseNotDone


def stub(*args):
    raise NotImplementedError


def test_transposed_conv_size():
    ch02.transposed_conv_size(lambda h, k, s, p: (h - 1) * s - 2 * p + k)
    with pytest.raises(AssertionError, match="convolution"):
        ch02.transposed_conv_size(lambda h, k, s, p: (h + 2 * p - k) // s + 1)
    with pytest.raises(AssertionError):
        ch02.transposed_conv_size(lambda h, k, s, p: h * s)
    with pytest.raises(ExerciseNotDone):
        ch02.transposed_conv_size(stub)


def test_frechet_1d():
    ch02.frechet_1d(lambda m1, s1, m2, s2: (m1 - m2) ** 2 + (s1 - s2) ** 2)
    with pytest.raises(AssertionError, match="σ1"):
        ch02.frechet_1d(lambda m1, s1, m2, s2: (m1 - m2) ** 2 + abs(s1 ** 2 - s2 ** 2))
    with pytest.raises(AssertionError, match="difference of variances"):
        ch02.frechet_1d(lambda m1, s1, m2, s2: (m1 - m2) ** 2 + s1 ** 2 - s2 ** 2)
    with pytest.raises(AssertionError, match="cross term"):
        ch02.frechet_1d(lambda m1, s1, m2, s2: (m1 - m2) ** 2 + s1 ** 2 + s2 ** 2)
    with pytest.raises(ExerciseNotDone):
        ch02.frechet_1d(stub)


def test_hinge_d_loss():
    ch03.hinge_d_loss(lambda r, f: torch.relu(1 - r).mean() + torch.relu(1 + f).mean())
    with pytest.raises(AssertionError):
        ch03.hinge_d_loss(lambda r, f: torch.relu(1 + r).mean() + torch.relu(1 - f).mean())
    with pytest.raises(AssertionError, match="margin"):
        ch03.hinge_d_loss(lambda r, f: (-r).mean() + f.mean())
    with pytest.raises(ExerciseNotDone):
        ch03.hinge_d_loss(stub)


def _gp(D, real, fake, eps):
    x = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return (g.flatten(1).norm(dim=1) - 1).square().mean()


def test_gradient_penalty():
    ch03.gradient_penalty(_gp)

    def no_graph(D, real, fake, eps):
        x = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (g,) = torch.autograd.grad(D(x).sum(), x)
        return (g.flatten(1).norm(dim=1) - 1).square().mean()

    with pytest.raises(AssertionError, match="create_graph"):
        ch03.gradient_penalty(no_graph)

    def batch_norm(D, real, fake, eps):  # the norm of the whole batch's gradient, not per sample
        x = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
        return (g.norm() - 1).square()

    with pytest.raises(AssertionError, match="per sample"):
        ch03.gradient_penalty(batch_norm)
    with pytest.raises(ExerciseNotDone):
        ch03.gradient_penalty(stub)

"""Self-attention block, spectral norm and the SAGAN networks / step (chapter 06)."""

import torch
import pytest

from course_lib import losses
from course_lib.models import sagan


def _loop_attention(block, x):
    """The paper's equations, one output position j at a time: s_ij = f(x_i)^T g(x_j), softmax over i."""
    B, C, H, W = x.shape
    N = H * W
    w = {k: getattr(block, k).weight.detach()[:, :, 0, 0] for k in "fghv"}
    xs = x.reshape(B, C, N)
    out = torch.empty_like(xs)
    for b in range(B):
        for j in range(N):
            s = torch.stack([(w["f"] @ xs[b, :, i]) @ (w["g"] @ xs[b, :, j]) for i in range(N)])
            beta = torch.softmax(s, dim=0)
            o = sum(beta[i] * (w["h"] @ xs[b, :, i]) for i in range(N))
            out[b, :, j] = block.gamma.detach() * (w["v"] @ o) + xs[b, :, j]
    return out.reshape(B, C, H, W)


def test_attention_matches_the_papers_equations_in_a_loop_over_positions():
    torch.manual_seed(0)
    block = sagan.SelfAttention(16, spectral=False)
    with torch.no_grad():
        block.gamma.fill_(0.8)
    x = torch.randn(2, 16, 3, 4, dtype=torch.float64)
    block = block.double()
    torch.testing.assert_close(block(x), _loop_attention(block, x))


def test_attention_shape_identity_at_gamma_zero_and_rows_are_distributions():
    torch.manual_seed(0)
    block = sagan.SelfAttention(32)
    x = torch.randn(3, 32, 7, 5)
    assert float(block.gamma.detach()) == 0.0
    torch.testing.assert_close(block(x), x)  # gamma = 0: identity
    with torch.no_grad():
        block.gamma.fill_(1.0)
    block.record = True
    y = block(x)
    assert y.shape == x.shape and not torch.allclose(y, x)
    assert block.attn.shape == (3, 35, 35)
    torch.testing.assert_close(block.attn.sum(-1), torch.ones(3, 35))
    assert (block.attn >= 0).all()


def test_attention_is_permutation_equivariant_over_positions():
    """Attention has no notion of position: permuting the positions of x permutes those of the output."""
    torch.manual_seed(1)
    block = sagan.SelfAttention(8, spectral=False).double()
    with torch.no_grad():
        block.gamma.fill_(0.5)
    x = torch.randn(1, 8, 1, 10, dtype=torch.float64)
    perm = torch.randperm(10)
    torch.testing.assert_close(block(x[..., perm]), block(x)[..., perm])


def test_spectral_norm_bounds_largest_singular_value():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(8, 16, 3)
    with torch.no_grad():
        conv.weight.mul_(10)
    conv = sagan.sn(conv)
    for _ in range(15):  # one power iteration per training-mode forward
        conv(torch.randn(2, 8, 5, 5))
    w = conv.weight.detach().flatten(1)  # (16, 72): the matrix torch normalises
    assert abs(float(torch.linalg.matrix_norm(w, ord=2)) - 1) < 1e-2
    raw = conv.parametrizations.weight.original.detach().flatten(1)
    assert float(torch.linalg.matrix_norm(raw, ord=2)) > 3  # it really was rescaled


@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3)])
def test_generator_and_discriminator_shapes_and_attention_resolution(size, channels):
    G = sagan.Generator(z_dim=16, width=8, channels=channels, image_size=size)
    D = sagan.Discriminator(width=8, channels=channels)
    G.attn.record = D.attn.record = True
    x = G(torch.randn(4, 16))
    assert x.shape == (4, channels, size, size) and x.abs().max() <= 1
    assert D(x).shape == (4, 1)
    assert G.attn.attn.shape[-1] == (size // 2) ** 2  # attention at the middle resolution S/2
    assert D.attn.attn.shape[-1] == (size // 2) ** 2


@pytest.mark.parametrize("first", [True, False])
def test_down_block_equals_pooling_both_paths_after_their_convolutions(first):
    """The block pools the input before its 1x1 shortcut; that must equal SNGAN's order (convolve, then pool)."""
    torch.manual_seed(0)
    blk = sagan.DBlock(3, 5, down=True, first=first, spectral=False)
    x = torch.randn(2, 3, 8, 8)  # (B, Ci, H, W)
    with torch.no_grad():
        h = blk.c2(torch.relu(blk.c1(x if first else torch.relu(x))))  # (B, Co, H, W)
        ref = torch.nn.functional.avg_pool2d(h, 2) + torch.nn.functional.avg_pool2d(blk.skip(x), 2)
        out = blk(x)  # (B, Co, H/2, W/2)
    assert out.shape == (2, 5, 4, 4)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)


def test_spectral_norm_is_in_both_players():
    G, D = sagan.Generator(z_dim=8, width=8), sagan.Discriminator(width=8)
    for net in (G, D):
        convs = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
        assert convs and all(hasattr(m, "parametrizations") for m in convs)


def test_conditional_projection_discriminator_uses_the_label():
    torch.manual_seed(0)
    D = sagan.Discriminator(width=8, n_classes=10)
    G = sagan.Generator(z_dim=8, width=8, n_classes=10)
    x = G(torch.randn(2, 8), torch.tensor([1, 2]))
    D.eval()
    a, b = D(x, torch.tensor([1, 2])), D(x, torch.tensor([3, 4]))
    assert not torch.allclose(a, b)


def test_sagan_step_uses_hinge_loss_and_moves_each_player_with_its_own_optimizer():
    torch.manual_seed(0)
    G, D = sagan.Generator(z_dim=8, width=8), sagan.Discriminator(width=8)
    opt_G, opt_D = sagan.optimizers(G, D)
    assert opt_D.param_groups[0]["lr"] == 4 * opt_G.param_groups[0]["lr"]  # TTUR
    g0 = [p.detach().clone() for p in G.parameters()]
    d0 = [p.detach().clone() for p in D.parameters()]
    real = torch.rand(4, 1, 28, 28) * 2 - 1
    z = torch.randn(4, 8)
    stats = sagan.sagan_step(G, D, opt_G, opt_D, real)
    assert stats["loss_D"] >= 0 and torch.isfinite(stats["loss_G"])
    assert any(not torch.equal(a, b) for a, b in zip(g0, G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, D.parameters()))
    # a D step alone must not touch G
    g1 = [p.detach().clone() for p in G.parameters()]
    from course_lib import train
    fake = G(z)
    train.d_step(D, real, fake, opt_D, losses.d_loss_hinge)
    assert all(torch.equal(a, b) for a, b in zip(g1, G.parameters()))


def test_gamma_moves_away_from_zero_with_training():
    torch.manual_seed(0)
    G, D = sagan.Generator(z_dim=8, width=8), sagan.Discriminator(width=8)
    opt_G, opt_D = sagan.optimizers(G, D)
    real = torch.rand(8, 1, 28, 28) * 2 - 1
    for _ in range(3):
        sagan.sagan_step(G, D, opt_G, opt_D, real)
    g = sagan.gammas(G, D)
    assert g["gamma_G"] != 0.0 and g["gamma_D"] != 0.0
    assert sagan.gammas(sagan.Generator(z_dim=8, width=8, attention=False),
                        sagan.Discriminator(width=8, attention=False)) == {"gamma_G": 0.0, "gamma_D": 0.0}


def test_attention_check_names_the_scaled_scores_slip():
    from course_lib.checks import ch06

    scaled = lambda q, k: torch.softmax(q @ k.transpose(1, 2) / q.shape[-1] ** 0.5, dim=-1)  # noqa: E731
    with pytest.raises(AssertionError, match="does not scale the scores"):
        ch06.attention_weights(scaled)
    ch06.attention_weights(lambda q, k: torch.softmax(q @ k.transpose(1, 2), dim=-1))


def test_gamma0_prediction_reports_the_outcome_and_refuses_no_prediction():
    from course_lib.checks import ch06
    from course_lib.course.exercises import ExerciseNotDone

    assert ch06.gamma0_outcome(0.97) == "a"
    assert ch06.gamma0_outcome(0.1) == "b"
    assert ch06.gamma0_outcome(float("nan")) == "c"
    assert ch06.gamma0_outcome(0.9, losses_finite=False) == "c"
    assert ch06.gamma0_prediction("b", 0.98) == "a"  # a wrong prediction is reported, not failed
    with pytest.raises(ExerciseNotDone):
        ch06.gamma0_prediction(None, 0.98)
    with pytest.raises(AssertionError, match="one of"):
        ch06.gamma0_prediction("d", 0.98)


def test_gamma0_prediction_recorded_refuses_a_stub_and_an_unknown_choice():
    from course_lib.checks import ch06
    from course_lib.course.exercises import ExerciseNotDone

    def stub():
        raise NotImplementedError

    with pytest.raises(ExerciseNotDone):
        ch06.gamma0_prediction_recorded(stub)
    with pytest.raises(AssertionError, match="one of"):
        ch06.gamma0_prediction_recorded(lambda: "d")
    assert ch06.gamma0_prediction_recorded(lambda: " B ") == "b"

"""Chapter 11: MuseGAN's shapes, the three latent designs (what each track's output depends on), the grouped layers,
the per-track critics and their gradient penalty, and the training recipe (tiny, on CPU, with resume)."""

import pytest
import torch
from torch import nn

from course_lib import losses
from course_lib.models import musegan

K, N, T, P, Z = 4, 4, 16, 48, 8


def build(design, width=8):
    torch.manual_seed(0)
    return musegan.build(design, z_part=Z, width=width)


@pytest.mark.parametrize("design,z_dim", [("jamming", 2 * K * Z), ("composer", 2 * Z), ("hybrid", 2 * Z + 2 * K * Z)])
def test_shapes_and_latent_sizes(design, z_dim):
    G, D = build(design)
    assert G.z_dim == z_dim
    x = G(torch.randn(3, z_dim))
    assert x.shape == (3, K, N, T, P) and x.min() >= 0 and x.max() <= 1
    assert D(x).shape == (3, K if design == "jamming" else 1)
    with pytest.raises(ValueError):
        musegan.Generator(design="orchestra")


def test_assemble_latents_by_hand():
    shared = torch.tensor([[1.0]])  # (B=1, Z=1)
    shared_bars = torch.tensor([[[10.0], [20.0]]])  # (1, N=2, 1)
    private = torch.tensor([[[100.0], [200.0], [300.0]]])  # (1, K=3, 1)
    private_bars = torch.arange(6.0).reshape(1, 3, 2, 1)  # (1, 3, 2, 1)
    h = musegan.assemble_latents(shared, shared_bars, private, private_bars)
    assert h.shape == (1, 3, 2, 4)
    assert h[0, 2, 1].tolist() == [1.0, 20.0, 300.0, 5.0]  # [z, z_t^(bar 1), z_track2, z_track2,t^(bar 1)]
    assert h[0, 0, 0].tolist() == [1.0, 10.0, 100.0, 0.0]
    only_shared = musegan.assemble_latents(shared, shared_bars)
    assert only_shared.shape == (1, 1, 2, 2) and only_shared[0, 0, 1].tolist() == [1.0, 20.0]


def _tracks_changed(G, z, part_slice):
    """Which tracks' outputs move when only z[:, part_slice] changes (G in eval mode: no batch statistics)."""
    G.eval()
    z2 = z.clone()
    z2[:, part_slice] += 1.0
    with torch.no_grad():
        diff = (G(z) - G(z2)).abs().flatten(2).amax(-1).amax(0)  # (K,)
    return (diff > 1e-6).tolist()


def test_jamming_tracks_depend_only_on_their_private_latent():
    G, _ = build("jamming")
    z = torch.randn(2, G.z_dim)
    # z = [private (K·Z) | private_t (K·Z)]; track 1's private part is z[:, Z:2Z], its temporal part K·Z + Z...
    assert _tracks_changed(G, z, slice(Z, 2 * Z)) == [False, True, False, False]
    assert _tracks_changed(G, z, slice(K * Z + 3 * Z, K * Z + 4 * Z)) == [False, False, False, True]


def test_composer_shared_latent_drives_every_track():
    G, _ = build("composer")
    z = torch.randn(2, G.z_dim)
    assert _tracks_changed(G, z, slice(0, Z)) == [True] * K
    assert _tracks_changed(G, z, slice(Z, 2 * Z)) == [True] * K


def test_hybrid_shared_moves_all_private_moves_one():
    G, _ = build("hybrid")
    z = torch.randn(2, G.z_dim)
    assert _tracks_changed(G, z, slice(0, Z)) == [True] * K  # shared, time-independent
    assert _tracks_changed(G, z, slice(Z, 2 * Z)) == [True] * K  # shared, through G_temp
    assert _tracks_changed(G, z, slice(2 * Z + 2 * Z, 2 * Z + 3 * Z)) == [False, False, True, False]  # private z_2


def test_time_independent_parts_are_the_same_in_every_bar():
    G, _ = build("hybrid")
    G.eval()
    h = G.bar_inputs(torch.randn(3, G.z_dim))  # (B, K, N, 4Z)
    assert h.shape == (3, K, N, 4 * Z)
    shared, shared_t, private, private_t = h.split(Z, dim=-1)
    assert torch.equal(shared, shared[:, :, :1].expand_as(shared))  # same in every bar
    assert torch.equal(shared, shared[:, :1].expand_as(shared))  # ... and every track
    assert torch.equal(shared_t, shared_t[:, :1].expand_as(shared_t))  # per bar, same for every track
    assert not torch.allclose(shared_t[:, :, 0], shared_t[:, :, 1])  # but differs from bar to bar
    assert torch.equal(private, private[:, :, :1].expand_as(private))
    assert not torch.allclose(private[:, 0], private[:, 1])  # each track its own
    assert not torch.allclose(private_t[:, :, 0], private_t[:, :, 1])


def test_group_linear_is_g_separate_linear_layers():
    torch.manual_seed(0)
    layer = musegan.GroupLinear(3, 5, 2)
    x = torch.randn(7, 4, 3, 5)  # (..., g, i)
    y = layer(x)  # (..., g, o)
    for g in range(3):
        lin = nn.Linear(5, 2)
        lin.weight.data, lin.bias.data = layer.weight[g].T.detach(), layer.bias[g].detach()
        torch.testing.assert_close(y[..., g, :], lin(x[..., g, :]))


def test_pitch_layer_is_a_strided_transposed_convolution():
    """The bar generator's last layer maps each octave cell to 12 pitches with the same weights in every octave:
    a transposed convolution with a 1 x 12 kernel and stride 12 (up to the bias, which is per pitch class here)."""
    torch.manual_seed(0)
    layer = musegan.GroupLinear(1, 6, 12)
    nn.init.zeros_(layer.bias)
    h = torch.randn(2, 16, 4, 1, 6)  # (M, T, O, g, c)
    ours = layer(h).reshape(2, 16, 4 * 12)  # (M, T, P)
    conv = nn.ConvTranspose2d(6, 1, (1, 12), stride=(1, 12), bias=False)
    conv.weight.data = layer.weight.detach()[0].reshape(6, 1, 1, 12)
    ref = conv(h[:, :, :, 0].permute(0, 3, 1, 2))[:, 0]  # (M, c, T, O) -> (M, T, P)
    torch.testing.assert_close(ours, ref)


def test_per_track_critics_see_only_their_track():
    _, D = build("jamming")
    x = torch.rand(3, K, N, T, P)
    x2 = x.clone()
    x2[:, 1] = torch.rand(3, N, T, P)
    s, s2 = D(x), D(x2)
    assert torch.allclose(s[:, [0, 2, 3]], s2[:, [0, 2, 3]]) and not torch.allclose(s[:, 1], s2[:, 1])
    _, D_shared = build("hybrid")
    assert not torch.allclose(D_shared(x), D_shared(x2))


def test_gradient_penalty_one_critic_matches_losses():
    _, D = build("hybrid")
    real, fake = torch.rand(4, K, N, T, P), torch.rand(4, K, N, T, P)
    eps = torch.rand(4, 1, 1, 1, 1)
    torch.testing.assert_close(musegan.gradient_penalty(D, real, fake, eps),
                               losses.gradient_penalty(D, real, fake, eps))


def test_gradient_penalty_per_track_is_the_mean_of_each_critics_penalty():
    _, D = build("jamming")
    real, fake = torch.rand(4, K, N, T, P), torch.rand(4, K, N, T, P)
    eps = torch.rand(4, 1, 1, 1, 1)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    per_critic = []
    for k in range(K):
        (g,) = torch.autograd.grad(D(x_hat)[:, k].sum(), x_hat)
        assert g[:, [j for j in range(K) if j != k]].abs().max() == 0  # critic k ignores the other tracks
        per_critic.append((g[:, k].flatten(1).norm(dim=1) - 1).square().mean())
    want = torch.stack(per_critic).mean()
    torch.testing.assert_close(musegan.gradient_penalty(D, real, fake, eps), want)
    # the penalty of one critic over all tracks would differ: the norm over the concatenation is larger
    assert not torch.allclose(losses.gradient_penalty(lambda x: D(x).sum(1, keepdim=True), real, fake, eps), want)


def test_a_few_wgan_gp_steps_move_both_players():
    from course_lib import data, gan_zoo

    G, D = build("hybrid")
    opt_G, opt_D = musegan.optimizers(G, D)
    x = (torch.rand(32, K, N, T, P) > 0.97).float()
    batches = data.Batches(x, batch_size=8)
    g0 = [p.detach().clone() for p in G.parameters()]
    d0 = [p.detach().clone() for p in D.parameters()]
    stats = gan_zoo.zoo_step(G, D, opt_G, opt_D, batches, G.z_dim, d_loss=losses.d_loss_wgan,
                             g_loss=losses.g_loss_wgan, n_critic=2,
                             penalty=lambda D, r, f: 10 * musegan.gradient_penalty(D, r, f))
    assert all(torch.isfinite(v) for v in stats.values())
    assert any(not torch.equal(a, b) for a, b in zip(g0, G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, D.parameters()))


def test_generate_is_seeded_and_keeps_train_mode():
    G, _ = build("composer")
    G.train()
    a, b = musegan.generate(G, 5, seed=3), musegan.generate(G, 5, seed=3)
    assert torch.equal(a, b) and a.shape == (5, K, N, T, P) and G.training


def test_course_train_musegan_runs_and_resumes(tmp_path, capsys):
    import json

    from course_lib.checkpoint import read_checkpoint
    from course_lib.cli import main as course

    args = ["train", "musegan", "--scale", "smoke", "--design", "composer", "--n-chorales", "3", "--width", "4",
            "--n-critic", "1", "--run-dir", str(tmp_path)]
    assert course(args + ["--steps", "2"]) == 0
    run = tmp_path / "composer"
    assert read_checkpoint(run / "checkpoint.pt")["step"] == 2
    assert (run / "metrics.jsonl").exists() and list((run / "samples").glob("*.png"))
    assert len(list((run / "midi").glob("*.mid"))) == 4
    assert course(args + ["--steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "resumed" in out and "training data" in out and "random rolls" in out
    assert read_checkpoint(run / "checkpoint.pt")["step"] == 3
    result = json.loads((tmp_path / "metrics.json").read_text())
    assert set(result["rows"]) == {"training data", "random rolls", "composer"}
    assert set(result["range"]) >= {"EB", "UPC", "QN", "TD"}


def test_full_scale_metrics_use_at_most_10000_segments():
    from course_lib.scale import PRESETS

    assert musegan.default_sizes(PRESETS["full"])["n_eval"] == 10_000  # 50,000 rolls at once were 2.5 GB a copy
    assert musegan.default_sizes(PRESETS["small"])["n_eval"] == PRESETS["small"].n_eval

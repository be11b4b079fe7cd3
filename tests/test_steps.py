"""Every GAN step of the package has the shape chapter 01 teaches: D on `fake.detach()`, then G through the
frozen, updated D, each player moved by its own optimizer.

The step runs once with hooks on the optimizers. At each D update, G's parameters must hold no gradient (D's loss
saw a detached fake) and must not have moved; after it, D's gradients are cleared. At each G update, D's
parameters must hold no gradient (G's loss went through a frozen D) and must be as D's last update left them.
Each player must have moved by the end. `test_the_check_fails_*` prove that a step written without `detach` or
without `frozen` fails it.
"""

from __future__ import annotations

import contextlib
import functools

import pytest
import torch
from torch import nn

from course_lib import gan_zoo, losses, priors, train
from course_lib.models import (aae, dcgan, graphgan, mae, mae_gan, mlp, musegan, pix2pix, resnet_gan, sagan,
                               seqgan, srgan, vae)


def _params(*players) -> list[nn.Parameter]:
    out = []
    for p in players:
        out += list(p.parameters()) if isinstance(p, nn.Module) else list(p)
    return out


def _snap(params):
    return [p.detach().clone() for p in params]


def _same(before, params):
    return all(torch.equal(a, p) for a, p in zip(before, params))


def check_two_player_step(run, D_params, G_params, opts_D, opts_G) -> None:
    """Run `run()` once under the hooks described at the top of this file; fail with the reason."""
    for p in [*D_params, *G_params]:
        p.grad = None
    g_start, d_now = _snap(G_params), [_snap(D_params)]
    seen = {"D": 0, "G": 0}

    def before_D(opt, *_):
        assert all(p.grad is None for p in G_params), "D's loss reached G: is the fake batch detached?"
        assert _same(g_start, G_params), "G moved before its own step"

    def after_D(opt, *_):
        assert not _same(d_now[0], D_params), "D's update did not move D"
        seen["D"] += 1
        d_now[0] = _snap(D_params)
        for p in D_params:
            p.grad = None

    def before_G(opt, *_):
        assert all(p.grad is None for p in D_params), "G's loss gave D a gradient: is D frozen in G's step?"
        assert _same(d_now[0], D_params), "D moved outside its own update"

    def after_G(opt, *_):
        seen["G"] += 1
        assert _same(d_now[0], D_params), "G's update moved D"

    handles = [o.register_step_pre_hook(before_D) for o in opts_D] + \
              [o.register_step_post_hook(after_D) for o in opts_D] + \
              [o.register_step_pre_hook(before_G) for o in opts_G] + \
              [o.register_step_post_hook(after_G) for o in opts_G]
    try:
        run()
    finally:
        for h in handles:
            h.remove()
    assert seen["G"] >= len(opts_G) and seen["D"] >= (1 if opts_D else 0), seen
    assert not _same(g_start, G_params), "G's update did not move G"
    assert all(p.grad is None for p in D_params), "D holds a gradient after G's step"


def _sgd(*players, lr=0.05):
    return torch.optim.SGD(_params(*players), lr=lr)


# ----------------------------------------------------------------------------------------------------------
# One case per GAN of the package: (run, D's parameters, G's parameters, D's optimizers, G's optimizers)
# ----------------------------------------------------------------------------------------------------------


def case_mlp():
    torch.manual_seed(0)
    G, D = mlp.Generator(z_dim=3, out_shape=(2,), hidden=(8,)), mlp.Discriminator(in_shape=(2,), hidden=(8,))
    oG, oD = _sgd(G), _sgd(D)
    return lambda: train.gan_step(G, D, oG, oD, torch.randn(8, 2), z_dim=3), D, G, [oD], [oG]


def case_dcgan():
    torch.manual_seed(0)
    G, D = dcgan.build(z_dim=4, width=4)
    oG, oD = _sgd(G), _sgd(D)
    real = torch.rand(4, 1, 28, 28) * 2 - 1
    return lambda: train.gan_step(G, D, oG, oD, real, z_dim=4), D, G, [oD], [oG]


def _zoo(G, D, z_dim, real, **kw):
    oG, oD = _sgd(G), _sgd(D)
    batches = iter(lambda: real, None)
    return lambda: gan_zoo.zoo_step(G, D, oG, oD, batches, z_dim, **kw), D, G, [oD], [oG]


def case_sngan():
    torch.manual_seed(0)
    G, D = resnet_gan.build(z_dim=4, g_width=8, d_width=8, spectral_norm=True)
    return _zoo(G, D, 4, torch.rand(2, 3, 32, 32) * 2 - 1, d_loss=losses.d_loss_hinge, g_loss=losses.g_loss_hinge)


def case_wgan_gp():
    torch.manual_seed(0)
    G, D = resnet_gan.build(z_dim=4, g_width=8, d_width=8, spectral_norm=False)
    return _zoo(G, D, 4, torch.rand(2, 3, 32, 32) * 2 - 1, d_loss=losses.d_loss_wgan, g_loss=losses.g_loss_wgan,
                n_critic=2, penalty=lambda D_, r, f: 10.0 * losses.gradient_penalty(D_, r, f))


def case_zoo_recipe(name):
    recipe = gan_zoo.TOY_RECIPES[name]
    torch.manual_seed(0)
    G, D = gan_zoo.build_toy(recipe, z_dim=4, hidden=8)
    return _zoo(G, D, 4, torch.randn(16, 2), d_loss=recipe.d_loss, g_loss=recipe.g_loss, n_critic=recipe.n_critic,
                penalty=recipe.penalty())


def case_zoo_seeds():
    recipe = gan_zoo.TOY_RECIPES["WGAN-GP"]
    G, D = gan_zoo.build_toy_seeds(recipe, [0, 1], z_dim=4, hidden=8)
    return _zoo(G, D, 4, torch.randn(2 * 8, 2), d_loss=recipe.d_loss, g_loss=recipe.g_loss, n_critic=2,
                penalty=recipe.penalty(), seeds=2)


def case_sagan(n_classes=0):
    torch.manual_seed(0)
    G = sagan.Generator(z_dim=8, width=8, n_classes=n_classes)
    D = sagan.Discriminator(width=8, n_classes=n_classes)
    oG, oD = _sgd(G), _sgd(D)
    real, y = torch.rand(4, 1, 28, 28) * 2 - 1, (torch.tensor([0, 1, 2, 0]) if n_classes else None)
    return lambda: sagan.sagan_step(G, D, oG, oD, real, y), D, G, [oD], [oG]


def case_pix2pix():
    torch.manual_seed(0)
    G = pix2pix.UNet(in_channels=1, out_channels=1, depth=3, width=4)
    D = pix2pix.PatchGAN(in_channels=2, width=4, n_layers=2)
    oG, oD = _sgd(G), _sgd(D)
    x, y = torch.rand(2, 1, 16, 16) * 2 - 1, torch.rand(2, 1, 16, 16) * 2 - 1
    return lambda: pix2pix.pix2pix_step(G, D, oG, oD, x, y), D, G, [oD], [oG]


def case_srgan():
    torch.manual_seed(0)
    G, D = srgan.SRResNet(width=8, n_blocks=1), srgan.Discriminator(width=4)
    phi = srgan.RotationNet(width=4).eval().requires_grad_(False)
    oG, oD = _sgd(G), _sgd(D)
    hr = torch.rand(2, 3, 16, 16) * 2 - 1
    lr = nn.functional.avg_pool2d(hr, 4)  # (2, 3, 4, 4)
    return lambda: srgan.srgan_step(G, D, phi, oG, oD, lr, hr), D, G, [oD], [oG]


def case_adversarial_mae():
    torch.manual_seed(0)
    m = mae.MAE(img_size=8, patch_size=2, in_chans=1, dim=16, depth=1, heads=2, dec_dim=8, dec_depth=1, dec_heads=2)
    D = mae_gan.Discriminator(in_chans=1, width=4, img_size=8)
    oG, oD = _sgd(m), _sgd(D)
    phi = nn.Conv2d(1, 2, 3).requires_grad_(False)
    x = torch.rand(4, 1, 8, 8) * 2 - 1
    run = functools.partial(mae_gan.adversarial_mae_step, m, D, oG, oD, x, mask_ratio=0.75, lam_adv=0.1,
                            lam_perc=0.5, phi=phi)
    return run, D, m, [oD], [oG]


def case_mae_decoder_generator():
    torch.manual_seed(0)
    m = mae.MAE(img_size=8, patch_size=2, in_chans=1, dim=16, depth=1, heads=2, dec_dim=8, dec_depth=1, dec_heads=2)
    G, D = mae_gan.decoder_generator(m, n_tokens=2), mae_gan.Discriminator(in_chans=1, width=4, img_size=8)
    return _zoo(G, D, G.z_dim, torch.rand(4, 1, 8, 8) * 2 - 1, d_loss=losses.d_loss,
                g_loss=losses.g_loss_nonsaturating)


def case_aae():
    torch.manual_seed(0)
    E, _, D = aae.build(in_shape=(1, 4, 4), z_dim=2, hidden=8)
    oE, oD = _sgd(E), _sgd(D)
    x = torch.rand(6, 1, 4, 4) * 2 - 1
    return lambda: aae.regularization_phase(E, D, x, priors.gaussian(), oD, oE), D, E, [oD], [oE]


def case_vaegan():
    torch.manual_seed(0)
    E, Dec, D = vae.build(channels=1, size=28, z_dim=4, width=4)
    G = vae.Generator(Dec)
    opts = {"E": _sgd(E), "G": _sgd(G), "D": _sgd(D)}
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    return lambda: vae.vaegan_step(E, G, D, opts, x), D, [*E.parameters(), *G.parameters()], [opts["D"]], \
        [opts["E"], opts["G"]]


def case_musegan(design):
    torch.manual_seed(0)
    G, D = musegan.build(design, n_tracks=2, n_bars=2, steps=8, n_pitches=24, z_part=4, width=4)
    real = (torch.rand(4, 2, 2, 8, 24) > 0.7).float()
    return _zoo(G, D, G.z_dim, real, d_loss=losses.d_loss_wgan, g_loss=losses.g_loss_wgan, n_critic=2,
                penalty=lambda D_, r, f: 10.0 * musegan.gradient_penalty(D_, r, f))


def _seqgan():
    torch.manual_seed(0)
    G, D = seqgan.build(seqgan.SIZES["smoke"])
    return G, D, torch.randint(0, G.vocab, (8, seqgan.SIZES["smoke"].seq_len))


def case_seqgan_gumbel():
    G, D, real = _seqgan()
    oG, oD = _sgd(G), _sgd(D)
    return lambda: seqgan.gumbel_gan_step(G, D, oG, oD, real), D, G, [oD], [oG]


def case_seqgan_policy_gradient():
    G, D, real = _seqgan()
    oG, oD = _sgd(G), _sgd(D)

    def run():
        seqgan.d_step(D, G, real, oD)
        seqgan.pg_step(G, D, oG, batch=8, n_rollouts=2)

    return run, D, G, [oD], [oG]


def case_graphgan():
    torch.manual_seed(0)
    n = 10
    edges = torch.tensor([[i, (i + 1) % n] for i in range(n)])
    model = graphgan.GraphGAN(n_vertices=n, dim=4)
    A, centres = graphgan.adjacency(n, edges), torch.arange(n)
    oD, oG = torch.optim.SGD([model.d], lr=0.5), torch.optim.SGD([model.g], lr=0.5)

    def run():
        graphgan.d_step(model, A, centres, oD)
        graphgan.g_step(model, centres, oG)

    return run, [model.d], [model.g], [oD], [oG]


CASES = {
    "mlp": case_mlp, "dcgan": case_dcgan, "sngan": case_sngan, "wgan-gp": case_wgan_gp,
    **{f"zoo {name}": functools.partial(case_zoo_recipe, name) for name in gan_zoo.TOY_RECIPES},
    "zoo seed-batched": case_zoo_seeds,
    "sagan": case_sagan, "sagan conditional": functools.partial(case_sagan, 3),
    "pix2pix": case_pix2pix, "srgan": case_srgan, "adversarial mae": case_adversarial_mae,
    "mae decoder as generator": case_mae_decoder_generator,
    "aae": case_aae, "vae-gan": case_vaegan,
    "musegan hybrid": functools.partial(case_musegan, "hybrid"),
    "musegan jamming": functools.partial(case_musegan, "jamming"),
    "seqgan gumbel": case_seqgan_gumbel, "seqgan policy gradient": case_seqgan_policy_gradient,
    "graphgan": case_graphgan,
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_optimizer_moves_only_its_player_and_D_gets_no_gradient_in_G_step(name):
    run, D, G, opts_D, opts_G = CASES[name]()
    check_two_player_step(run, _params(D), _params(G), opts_D, opts_G)


# ----------------------------------------------------------------------------------------------------------
# The check can fail: the same step written without detach, or without frozen
# ----------------------------------------------------------------------------------------------------------


def _hand_written_step(*, detach: bool, freeze: bool):
    """Chapter 01's step written out, optionally without `detach` in D's loss or without `frozen` in G's."""
    torch.manual_seed(0)
    G, D = mlp.Generator(z_dim=3, out_shape=(2,), hidden=(8,)), mlp.Discriminator(in_shape=(2,), hidden=(8,))
    oG, oD = _sgd(G), _sgd(D)

    def run():
        fake = G(torch.randn(8, 3))  # (8, 2)
        train.update(oD, losses.d_loss(D(torch.randn(8, 2)), D(fake.detach() if detach else fake)))
        with train.frozen(D) if freeze else contextlib.nullcontext():
            loss_G = losses.g_loss_nonsaturating(D(fake))
        train.update(oG, loss_G)

    return run, _params(D), _params(G), [oD], [oG]


def test_the_check_passes_the_taught_step_written_out():
    check_two_player_step(*_hand_written_step(detach=True, freeze=True))


def test_the_check_fails_a_d_step_without_detach():
    with pytest.raises(AssertionError, match="detached"):
        check_two_player_step(*_hand_written_step(detach=False, freeze=True))


def test_the_check_fails_a_g_step_without_frozen():
    with pytest.raises(AssertionError, match="frozen"):
        check_two_player_step(*_hand_written_step(detach=True, freeze=False))

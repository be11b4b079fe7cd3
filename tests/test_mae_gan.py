"""MAE meets GAN: reconstruction image, the adversarial MAE step, sharpness, the decoder as generator, checks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_lib.checks import ch08
from course_lib.course.exercises import ExerciseNotDone
from course_lib.models import mae as M
from course_lib.models import mae_gan as MG



def tiny_mae():
    torch.manual_seed(0)
    return M.MAE(img_size=8, patch_size=2, in_chans=1, dim=16, depth=1, heads=2, dec_dim=8, dec_depth=1, dec_heads=2)


def test_reconstruction_keeps_visible_patches():
    mae = tiny_mae()
    x = torch.randn(3, 1, 8, 8)
    g = torch.Generator().manual_seed(0)
    loss, img = MG.reconstruction(mae, x, 0.75, g)
    _, pred, mask = mae(x, 0.75, torch.Generator().manual_seed(0))
    m = M.unpatchify(mask[..., None].expand_as(pred), 2, 1)
    torch.testing.assert_close(img * (1 - m), x * (1 - m))
    torch.testing.assert_close(img * m, M.unpatchify(pred, 2, 1) * m)


def test_adversarial_step_moves_each_player_with_its_optimizer():
    mae, D = tiny_mae(), MG.Discriminator(in_chans=1, width=4, img_size=8)
    opt_G, opt_D = torch.optim.SGD(mae.parameters(), 0.1), torch.optim.SGD(D.parameters(), 0.1)
    g0 = {k: v.clone() for k, v in mae.state_dict().items()}
    d0 = {k: v.clone() for k, v in D.state_dict().items()}
    stats = MG.adversarial_mae_step(mae, D, opt_G, opt_D, torch.randn(4, 1, 8, 8), mask_ratio=0.75, lam_adv=0.1)
    assert set(stats) == {"loss_D", "loss_rec", "loss_adv"}
    assert any(not torch.equal(v, mae.state_dict()[k]) for k, v in g0.items())
    assert any(not torch.equal(v, D.state_dict()[k]) for k, v in d0.items())
    # with opt_G frozen (lr 0), the D step alone must leave the MAE untouched
    mae2, D2 = tiny_mae(), MG.Discriminator(in_chans=1, width=4, img_size=8)
    g0 = {k: v.clone() for k, v in mae2.state_dict().items()}
    MG.adversarial_mae_step(mae2, D2, torch.optim.SGD(mae2.parameters(), 0.0), torch.optim.SGD(D2.parameters(), 0.1),
                            torch.randn(4, 1, 8, 8), mask_ratio=0.75, lam_adv=0.1)
    assert all(torch.equal(v, mae2.state_dict()[k]) for k, v in g0.items())


def test_adv_weight_zero_is_plain_mae_gradient():
    mae, D = tiny_mae(), MG.Discriminator(in_chans=1, width=4, img_size=8)
    x = torch.randn(4, 1, 8, 8)
    torch.manual_seed(5)
    MG.adversarial_mae_step(mae, D, torch.optim.SGD(mae.parameters(), 0.1), torch.optim.SGD(D.parameters(), 0.1),
                            x, mask_ratio=0.75, lam_adv=0.0)
    ref = tiny_mae()
    opt = torch.optim.SGD(ref.parameters(), 0.1)
    torch.manual_seed(5)
    loss, _, _ = ref(x, 0.75)
    opt.zero_grad()
    loss.backward()
    opt.step()
    torch.testing.assert_close(mae.state_dict(), ref.state_dict())


def test_sharpness_orders_blur():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(4, 1, 28, 28, generator=g) > 0.5).float() * 2 - 1
    blur = F.avg_pool2d(x, 3, 1, 1)
    assert (MG.sharpness(blur) < MG.sharpness(x)).all()
    assert torch.allclose(MG.sharpness(torch.ones(2, 1, 8, 8)), torch.zeros(2))
    ramp = torch.arange(8.0).expand(8, 8)[None, None]  # linear image: Laplacian 0 everywhere
    assert MG.sharpness(ramp).abs().max() < 1e-10


def test_decoder_generator():
    mae = tiny_mae()
    G = MG.decoder_generator(mae, n_tokens=4)
    assert G.z_dim == 5 * 16
    z = torch.randn(3, G.z_dim)
    out = G(z)
    assert out.shape == (3, 1, 8, 8)
    assert G.decoder is mae.decoder  # shared, not copied
    torch.testing.assert_close(G(z), out)  # deterministic given z: the positions are fixed
    assert not torch.allclose(G(torch.randn(3, G.z_dim)), out)
    # the noise tokens sit at the first K slots of a fixed permutation; the rest are mask tokens
    assert torch.equal(G.ids_restore.sort(1).values, torch.arange(16)[None])


def test_generator_loss_check():
    def good(rec, logits, lam):
        return rec + lam * F.softplus(-logits).mean()

    def stub(*a):
        raise NotImplementedError

    ch08.generator_loss(good)
    with pytest.raises(ExerciseNotDone):
        ch08.generator_loss(stub)
    for wrong in (lambda r, l, a: r - a * F.softplus(-l).mean(),
                  lambda r, l, a: r + F.softplus(-l).mean(),
                  lambda r, l, a: r + a * (-torch.log(torch.sigmoid(l))).mean()):  # infinite for confident D
        with pytest.raises(AssertionError):
            ch08.generator_loss(wrong)

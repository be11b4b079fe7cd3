"""Masked autoencoder: patches, masking, position embeddings, the masked loss, compute on visible tokens, probes."""

from __future__ import annotations

import math

import pytest
import torch

from course_lib.models import mae as M
from course_lib.probes import knn_accuracy, linear_probe



def tiny(**kw) -> M.MAE:
    torch.manual_seed(0)
    args = dict(img_size=8, patch_size=2, in_chans=3, dim=16, depth=2, heads=2, dec_dim=8, dec_depth=1, dec_heads=2)
    return M.MAE(**(args | kw))


# ---------------------------------------------------------------------------------------------- patchify

def test_patchify_layout_by_hand():
    img = torch.arange(2 * 4 * 4, dtype=torch.float32).reshape(1, 2, 4, 4)  # (B, C, H, W)
    p = M.patchify(img, 2)  # (1, 4, 8)
    assert p.shape == (1, 4, 8)
    # patch 1 is the top-right 2x2 block; values are ordered (row, col, channel)
    want = torch.tensor([img[0, c, r, 2 + q] for r in range(2) for q in range(2) for c in range(2)])
    torch.testing.assert_close(p[0, 1], want)


@pytest.mark.parametrize("shape,p", [((3, 1, 28, 28), 4), ((2, 3, 32, 32), 2), ((2, 3, 8, 12), 4)])
def test_unpatchify_inverts_patchify(shape, p):
    x = torch.randn(shape)
    h = shape[2] // p
    assert torch.equal(M.unpatchify(M.patchify(x, p), p, shape[1], h=h), x)
    y = torch.randn(shape[0], (shape[2] // p) * (shape[3] // p), p * p * shape[1])
    assert torch.equal(M.patchify(M.unpatchify(y, p, shape[1], h=h), p), y)


def test_patchify_rejects_bad_sizes():
    with pytest.raises(ValueError):
        M.patchify(torch.zeros(1, 1, 28, 28), 5)


# ---------------------------------------------------------------------------------------------- masking

@pytest.mark.parametrize("ratio", [0.0, 0.25, 0.5, 0.75, 0.9])
def test_random_masking_counts_and_inverse(ratio):
    B, N, D = 5, 49, 3
    x = torch.randn(B, N, D)
    vis, mask, ids_restore = M.random_masking(x, ratio, torch.Generator().manual_seed(1))
    K = int(N * (1 - ratio))  # floored, as the reference's len_keep
    assert vis.shape == (B, K, D)
    assert torch.equal(mask.sum(1), torch.full((B,), float(N - K)))  # exactly N - K masked in every sample
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    # ids_restore is a permutation whose inverse, applied to the shuffled sequence, gives the original back
    assert torch.equal(ids_restore.sort(1).values, torch.arange(N).expand(B, N))
    ids_shuffle = ids_restore.argsort(1)
    torch.testing.assert_close(torch.gather(x, 1, ids_shuffle[..., None].expand(-1, -1, D))[:, :K], vis)
    # the visible tokens are exactly those the mask marks 0
    for b in range(B):
        kept = x[b][mask[b] == 0]
        assert sorted(kept[:, 0].tolist()) == sorted(vis[b, :, 0].tolist())


def test_random_masking_differs_per_sample_and_is_seeded():
    x = torch.randn(8, 49, 2)
    _, m1, _ = M.random_masking(x, 0.75, torch.Generator().manual_seed(3))
    _, m2, _ = M.random_masking(x, 0.75, torch.Generator().manual_seed(3))
    assert torch.equal(m1, m2)
    assert len({tuple(r.tolist()) for r in m1}) == 8  # each sample its own mask


def test_random_masking_is_uniform():
    _, mask, _ = M.random_masking(torch.zeros(4000, 16, 1), 0.75, torch.Generator().manual_seed(0))
    freq = mask.mean(0)  # each position masked with probability 0.75
    assert (freq - 0.75).abs().max() < 0.03


def test_mask_ratio_out_of_range():
    with pytest.raises(ValueError):
        M.random_masking(torch.zeros(1, 4, 1), 1.0)


# ---------------------------------------------------------------------------------------------- position embeddings

def test_sincos_1d_by_hand():
    e = M.sincos_1d(4, torch.tensor([0.0, 1.0, 2.0]))  # omega = [1, 1/100]
    want = torch.tensor([[0, 0, 1, 1], [math.sin(1), math.sin(0.01), math.cos(1), math.cos(0.01)],
                         [math.sin(2), math.sin(0.02), math.cos(2), math.cos(0.02)]])
    torch.testing.assert_close(e, want)


def test_sincos_2d_rows_and_columns():
    h, D = 7, 32
    e = M.sincos_2d(D, h)  # (49, 32)
    assert e.shape == (h * h, D)
    grid = e.reshape(h, h, D)
    # first half depends on the row only, second half on the column only
    assert torch.allclose(grid[:, :, :D // 2], grid[:, :1, :D // 2].expand(-1, h, -1))
    assert torch.allclose(grid[:, :, D // 2:], grid[:1, :, D // 2:].expand(h, -1, -1))
    assert torch.cdist(e, e).add(torch.eye(h * h)).min() > 0.1  # every patch gets its own code
    # similarity falls with distance along a row
    sim = e @ e[0]
    assert sim[0] > sim[1] > sim[2] > sim[3]
    with_cls = M.sincos_2d(D, h, cls_token=True)
    assert with_cls.shape == (1 + h * h, D) and torch.equal(with_cls[0], torch.zeros(D))


def test_position_embeddings_are_fixed_buffers():
    m = tiny()
    names = {n for n, _ in m.named_parameters()}
    assert not any("pos_embed" in n for n in names)
    torch.testing.assert_close(m.encoder.pos_embed[0], M.sincos_2d(16, 4, cls_token=True))


# ---------------------------------------------------------------------------------------------- the loss

def test_masked_mse_by_hand():
    pred = torch.tensor([[[1.0, 1.0], [0.0, 2.0], [5.0, 5.0]]])  # (1, 3, 2)
    target = torch.zeros(1, 3, 2)
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    # patch 0: (1 + 1) / 2 = 1; patch 1: (0 + 4) / 2 = 2; patch 2 visible, ignored -> (1 + 2) / 2
    torch.testing.assert_close(M.masked_mse(pred, target, mask), torch.tensor(1.5))


def test_loss_ignores_visible_patches():
    m = tiny()
    x = torch.randn(2, 3, 8, 8)
    g = torch.Generator().manual_seed(0)
    loss, pred, mask = m(x, 0.75, g)
    target = M.patchify(x, 2)
    hand = ((pred - target) ** 2).mean(-1)[mask.bool()].mean()
    torch.testing.assert_close(loss, hand)
    # changing the target on visible patches only does not change the loss
    x2 = M.unpatchify(target + 10 * (1 - mask)[..., None], 2, 3)
    torch.testing.assert_close(m.forward_loss(x2, pred, mask), loss)


def test_norm_pix_target():
    x = torch.randn(2, 3, 8, 8) * 3 + 1
    t = M.patch_targets(x, 2, norm_pix=True)
    torch.testing.assert_close(t.mean(-1), torch.zeros(2, 16), atol=1e-5, rtol=0)
    torch.testing.assert_close(t.var(-1), torch.ones(2, 16), atol=1e-3, rtol=0)


# ---------------------------------------------------------------------------------------------- the model

def test_encoder_sees_only_visible_tokens():
    m = tiny()
    seen = []
    m.encoder.blocks[0].register_forward_hook(lambda mod, inp, out: seen.append(inp[0].shape[1]))
    m(torch.randn(2, 3, 8, 8), 0.75)
    assert seen == [1 + 4]  # class token + round(16 * 0.25) visible patches, no mask tokens


def test_encoder_compute_scales_with_visible_tokens():
    from torch.utils.flop_counter import FlopCounterMode

    m = M.small_mae(64)
    x = torch.randn(4, 1, 28, 28)

    def enc_flops(ratio):
        with FlopCounterMode(display=False) as fc:
            m.encoder(x, ratio)
        return fc.get_total_flops()

    full, masked = enc_flops(0.0), enc_flops(0.75)
    linear_share = (1 + 12) / (1 + 49)
    assert masked / full < 1.1 * linear_share  # 4x fewer tokens: about 4x less compute (attention even less)
    # and the analytic count used for MFU agrees with the measured one (patch embedding + blocks)
    enc = m.encoder
    analytic = 4 * (2 * 49 * 16 * 64 + M.transformer_flops(13, 64, 4))
    assert abs(masked - analytic) / analytic < 0.05


def test_decoder_mask_token_fills_masked_places():
    m = tiny()
    latent, mask, ids_restore = m.encoder(torch.randn(2, 3, 8, 8), 0.75, torch.Generator().manual_seed(0))
    seen = []
    m.decoder.blocks[0].register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach()))
    m.decoder(latent, ids_restore)
    x = seen[0][:, 1:] - m.decoder.pos_embed[:, 1:]  # (B, N, E) tokens before the blocks, positions removed
    tok = m.decoder.mask_token[0, 0]
    torch.testing.assert_close(x[mask.bool()], tok.expand(int(mask.sum()), -1), atol=1e-6, rtol=0)
    assert not torch.allclose(x[~mask.bool()][0], tok)


def test_reconstruct_pastes_visible_patches():
    m = tiny()
    x = torch.randn(2, 3, 8, 8)
    masked, recon, pasted, mk = m.reconstruct(x, 0.5)
    torch.testing.assert_close(pasted * (1 - mk), x * (1 - mk))
    torch.testing.assert_close(pasted * mk, recon * mk)
    assert float(mk.mean()) == 0.5


def test_mae_learns_a_tiny_problem():
    torch.manual_seed(0)
    m = tiny(in_chans=1, img_size=8)
    # images that are constant per image: any visible patch reveals the masked ones
    x = torch.rand(64, 1, 1, 1).expand(64, 1, 8, 8) * 2 - 1
    opt = torch.optim.Adam(m.parameters(), 3e-3)
    first = None
    for _ in range(100):
        loss, _, _ = m(x, 0.75)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05 * first


def test_classifier_shapes_and_flops_formula():
    m = tiny()
    clf = M.ViTClassifier(m.encoder, 10)
    assert clf(torch.randn(3, 3, 8, 8)).shape == (3, 10)
    assert M.mae_train_flops(m, 0.75) < M.mae_train_flops(m, 0.0)


# ---------------------------------------------------------------------------------------------- probes

def test_probes_on_separable_features():
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(3, 5, generator=g) * 4
    y = torch.randint(3, (300,), generator=g)
    f = centers[y] + torch.randn(300, 5, generator=g)
    assert linear_probe(f[:200], y[:200], f[200:], y[200:]) > 0.95
    assert knn_accuracy(f[:200], y[:200], f[200:], y[200:], k=5) > 0.95
    noise = torch.randn(300, 5, generator=g)
    assert knn_accuracy(noise[:200], y[:200], noise[200:], y[200:], k=5) < 0.6


def test_knn_by_hand():
    train = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    ty = torch.tensor([0, 0, 1])
    test = torch.tensor([[1.0, 0.05], [0.05, 1.0]])
    assert knn_accuracy(train, ty, test, torch.tensor([0, 1]), k=1) == 1.0
    assert knn_accuracy(train, ty, test, torch.tensor([1, 0]), k=1) == 0.0


def test_visible_count_floors_like_the_reference():
    # models_mae.py: len_keep = int(L * (1 - mask_ratio)); rounding would give 37 and 5
    assert [M.n_visible(49, r) for r in (0.25, 0.5, 0.75, 0.9)] == [36, 24, 12, 4]


def test_structured_masks_are_noise_patterns():
    x = torch.randn(3, 49, 2)
    grid = M.grid_noise(3, 7, [1, 3, 5], [0, 2, 4, 6])  # 12 kept patches = K at 75 %
    _, mask, _ = M.random_masking(x, 0.75, noise=grid)
    kept = (mask == 0).reshape(3, 7, 7)
    assert kept[:, 1::2, ::2].all() and kept.sum() == 3 * 12
    _, mask, _ = M.random_masking(x, 0.75, noise=M.block_noise(3, 7, torch.Generator().manual_seed(0)))
    assert torch.equal(mask.sum(1), torch.full((3,), 37.0))
    m = mask.reshape(3, 7, 7)
    for b in range(3):  # one contiguous block: every masked patch but the centre one has a masked 4-neighbour
        idx = m[b].nonzero().tolist()
        assert all(any(0 <= r + dr < 7 and 0 <= c + dc < 7 and m[b, r + dr, c + dc] == 1
                       for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0))) for r, c in idx)

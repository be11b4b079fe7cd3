"""Masked autoencoder with a ViT encoder and a lighter ViT decoder (He et al., Meta AI / FAIR, 2021).

One method per idea, as in the paper's reference code: `patchify`, `random_masking`, the encoder on the
*visible* tokens only, a decoder that inserts a shared mask token, and a loss on the *masked* patches only.

Dimension key:
    B batch          C channels        H, W image side     P patch side
    h, w patches along H and W        N = h * w patches    K = int(N * (1 - mask_ratio)) visible patches
    D encoder width  E decoder width   T tokens in a sequence (1 + K in the encoder, 1 + N in the decoder)
    X = P * P * C    values in one patch
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..train import update

# ----------------------------------------------------------------------------------------------------------
# Patches and masks
# ----------------------------------------------------------------------------------------------------------


def patchify(imgs: torch.Tensor, p: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, N, P*P*C): row-major patches, each flattened as (row, col, channel)."""
    B, C, H, W = imgs.shape
    if H % p or W % p:
        raise ValueError(f"image side {H}x{W} is not a multiple of the patch size {p}")
    return rearrange(imgs, "b c (h p) (w q) -> b (h w) (p q c)", p=p, q=p)  # (B, N, X)


def unpatchify(x: torch.Tensor, p: int, c: int, h: int | None = None) -> torch.Tensor:
    """(B, N, P*P*C) -> (B, C, H, W), the exact inverse of `patchify` (square grid unless `h` is given)."""
    N = x.shape[1]
    h = h if h is not None else math.isqrt(N)
    if N % h:
        raise ValueError(f"{N} patches do not form a grid with {h} rows")
    return rearrange(x, "b (h w) (p q c) -> b c (h p) (w q)", h=h, p=p, q=p, c=c)  # (B, C, H, W)


def n_visible(n: int, mask_ratio: float) -> int:
    """K = int(N (1 - mask_ratio)), floored as the reference code's `len_keep`: the patches the encoder sees.
    (Rounding instead would differ at 25 % and 90 % of 49 patches: 37 / 5 visible, not 36 / 4.)"""
    if not 0.0 <= mask_ratio < 1.0:
        raise ValueError(f"mask_ratio must be in [0, 1), got {mask_ratio}")
    return max(1, int(n * (1 - mask_ratio)))


def random_masking(x: torch.Tensor, mask_ratio: float, generator: torch.Generator | None = None,
                   noise: torch.Tensor | None = None):
    """Per-sample random masking: keep K = int(N (1 - ratio)) tokens of each sample, a different set each.

    Returns x_visible (B, K, D), mask (B, N) with 1 = masked (in the original order), ids_restore (B, N).
    `noise` (B, N) replaces the uniform draw: the K tokens with the smallest noise are kept, so a structured
    mask (a block, a grid) is a noise pattern (`block_noise`, `grid_noise`).
    """
    B, N, D = x.shape
    K = n_visible(N, mask_ratio)
    if noise is None:
        dev = generator.device if generator is not None else x.device
        noise = torch.rand(B, N, generator=generator, device=dev)  # (B, N) uniform
    noise = noise.to(x.device)
    # Sorting uniform noise gives a uniformly random permutation per sample, in one batched op: the first K
    # indices are kept. argsort of that permutation is its inverse, which puts tokens back in place later.
    ids_shuffle = noise.argsort(dim=1)  # (B, N)
    ids_restore = ids_shuffle.argsort(dim=1)  # (B, N)
    ids_keep = ids_shuffle[:, :K]  # (B, K)
    x_visible = x.gather(1, ids_keep.unsqueeze(-1).expand(-1, -1, D))  # (B, K, D)
    mask = torch.ones(B, N, device=x.device)
    mask[:, :K] = 0  # in shuffled order: the first K are visible
    mask = mask.gather(1, ids_restore)  # (B, N) back in the original order
    return x_visible, mask, ids_restore


def block_noise(B: int, grid: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, N) noise whose smallest values lie farthest from a random centre per sample: the masked patches form
    one contiguous block around that centre (block-wise masking, MAE Fig. 6 / BEiT)."""
    rows, cols = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    pos = torch.stack([rows.flatten(), cols.flatten()], 1).float()  # (N, 2)
    centre = torch.rand(B, 1, 2, generator=generator) * (grid - 1)  # (B, 1, 2)
    return -(pos[None] - centre).norm(dim=-1)  # (B, N): far from the centre = small = kept


def grid_noise(B: int, grid: int, keep_rows, keep_cols) -> torch.Tensor:
    """(B, N) noise that keeps the patches on the given rows and columns of the grid (grid-wise sampling)."""
    keep = torch.zeros(grid, grid)
    keep[torch.tensor(keep_rows)[:, None], torch.tensor(keep_cols)[None, :]] = 1
    return (1 - keep).flatten().expand(B, -1).clone()  # (B, N): 0 = kept


# ----------------------------------------------------------------------------------------------------------
# Fixed 2-D sin-cos position embeddings (MAE, following Vaswani et al. per axis)
# ----------------------------------------------------------------------------------------------------------


def sincos_1d(dim: int, pos: torch.Tensor) -> torch.Tensor:
    """pos (M,) -> (M, dim): [sin(pos * w_i), cos(pos * w_i)], w_i = 1 / 10000^(2i / dim), i < dim / 2."""
    if dim % 2:
        raise ValueError(f"sin-cos embedding needs an even width, got {dim}")
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2))  # (dim/2,)
    angle = pos.double()[:, None] * omega[None, :]  # (M, dim/2)
    return torch.cat([angle.sin(), angle.cos()], dim=1).float()  # (M, dim)


def sincos_2d(dim: int, h: int, w: int | None = None, cls_token: bool = False) -> torch.Tensor:
    """(h*w, dim) embeddings of a patch grid in row-major order: first half encodes the row, second the column.

    With `cls_token`, a row of zeros is prepended for the class token: (1 + h*w, dim).
    """
    w = w if w is not None else h
    if dim % 4:
        raise ValueError(f"2-D sin-cos embedding needs a width divisible by 4, got {dim}")
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")  # (h, w) each
    emb = torch.cat([sincos_1d(dim // 2, rows.flatten()), sincos_1d(dim // 2, cols.flatten())], dim=1)  # (N, dim)
    return torch.cat([torch.zeros(1, dim), emb]) if cls_token else emb


# ----------------------------------------------------------------------------------------------------------
# Transformer block (pre-norm, as in ViT)
# ----------------------------------------------------------------------------------------------------------


class Attention(nn.Module):
    """softmax(Q K^T / sqrt(d)) V over all tokens, `heads` heads of width d = D / heads."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = rearrange(self.qkv(x), "b t (three h d) -> three b h t d", three=3, h=self.heads)  # (B, h, T, d)
        x = F.scaled_dot_product_attention(q, k, v)  # (B, h, T, d)
        return self.proj(rearrange(x, "b h t d -> b t (h d)"))  # (B, T, D)


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * mlp_ratio)), nn.GELU(), nn.Linear(int(dim * mlp_ratio), dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))  # (B, T, D)
        return x + self.mlp(self.norm2(x))  # (B, T, D)


def _init_weights(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


# ----------------------------------------------------------------------------------------------------------
# Encoder (visible tokens only) and decoder (with mask tokens)
# ----------------------------------------------------------------------------------------------------------


class Encoder(nn.Module):
    """ViT on the visible patches: no mask token ever enters it, so its cost scales with K, not N."""

    def __init__(self, *, img_size: int, patch_size: int, in_chans: int, dim: int, depth: int, heads: int,
                 mlp_ratio: float = 4.0):
        super().__init__()
        self.patch_size, self.in_chans, self.grid = patch_size, in_chans, img_size // patch_size
        self.num_patches, self.dim = self.grid ** 2, dim
        self.patch_embed = nn.Linear(patch_size * patch_size * in_chans, dim)  # = Conv2d(kernel=stride=P)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.register_buffer("pos_embed", sincos_2d(dim, self.grid, cls_token=True)[None], persistent=False)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.apply(_init_weights)
        nn.init.normal_(self.cls_token, std=0.02)

    def forward(self, imgs: torch.Tensor, mask_ratio: float, generator: torch.Generator | None = None,
                noise: torch.Tensor | None = None):
        """imgs (B, C, H, W) -> latent (B, 1 + K, D), mask (B, N), ids_restore (B, N)."""
        x = self.patch_embed(patchify(imgs, self.patch_size))  # (B, N, D)
        x = x + self.pos_embed[:, 1:]  # positions are added *before* masking: each token keeps its place
        x, mask, ids_restore = random_masking(x, mask_ratio, generator, noise)  # (B, K, D)
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(len(x), -1, -1)  # (B, 1, D)
        x = torch.cat([cls, x], dim=1)  # (B, 1 + K, D)
        for blk in self.blocks:
            x = blk(x)  # (B, 1 + K, D)
        return self.norm(x), mask, ids_restore

    def features(self, imgs: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, D): mean of the patch tokens of the whole (unmasked) image."""
        latent, _, _ = self(imgs, mask_ratio=0.0)  # (B, 1 + N, D)
        return latent[:, 1:].mean(dim=1)  # (B, D)


class Decoder(nn.Module):
    """Projects the latent to width E, inserts a shared, learned mask token at every masked place, unshuffles,
    adds position embeddings and predicts the pixels of every patch."""

    def __init__(self, *, num_patches: int, patch_size: int, in_chans: int, enc_dim: int, dim: int, depth: int,
                 heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.num_patches = num_patches
        self.embed = nn.Linear(enc_dim, dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.register_buffer("pos_embed", sincos_2d(dim, math.isqrt(num_patches), cls_token=True)[None],
                             persistent=False)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.pred = nn.Linear(dim, patch_size * patch_size * in_chans)
        self.apply(_init_weights)
        nn.init.normal_(self.mask_token, std=0.02)

    def forward(self, latent: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        """latent (B, 1 + K, D), ids_restore (B, N) -> predicted patches (B, N, X)."""
        x = self.embed(latent)  # (B, 1 + K, E)
        B, T, E = x.shape
        masks = self.mask_token.expand(B, self.num_patches + 1 - T, -1)  # (B, N - K, E)
        x_ = torch.cat([x[:, 1:], masks], dim=1)  # (B, N, E), shuffled order
        x_ = x_.gather(1, ids_restore.unsqueeze(-1).expand(-1, -1, E))  # (B, N, E), original order
        x = torch.cat([x[:, :1], x_], dim=1) + self.pos_embed  # (B, 1 + N, E)
        for blk in self.blocks:
            x = blk(x)  # (B, 1 + N, E)
        return self.pred(self.norm(x))[:, 1:]  # (B, N, X), class token dropped


# ----------------------------------------------------------------------------------------------------------
# The loss: on masked patches only
# ----------------------------------------------------------------------------------------------------------


def patch_targets(imgs: torch.Tensor, p: int, norm_pix: bool = False, eps: float = 1e-6) -> torch.Tensor:
    """The regression target (B, N, X): the patches, or each patch normalised by its own mean and variance."""
    target = patchify(imgs, p)  # (B, N, X)
    if norm_pix:
        mean, var = target.mean(dim=-1, keepdim=True), target.var(dim=-1, keepdim=True)  # (B, N, 1)
        target = (target - mean) / (var + eps).sqrt()
    return target


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, *,
               per_image: bool = False) -> torch.Tensor:
    """L = sum_n m_n * mean_x (pred_nx - target_nx)^2 / sum_n m_n : the mean squared error of masked patches,
    over the batch (a scalar) or, with `per_image`, for each image (B,).

    Visible patches (m_n = 0) contribute nothing: reconstructing what the encoder already saw teaches nothing.
    """
    per_patch = (pred - target).pow(2).mean(dim=-1)  # (B, N)
    if per_image:
        return (per_patch * mask).sum(1) / mask.sum(1)  # (B,)
    return (per_patch * mask).sum() / mask.sum()


def paste_visible(imgs: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor, p: int) -> torch.Tensor:
    """The image the MAE shows: its visible patches as they are, the masked ones as predicted.
    imgs (B, C, H, W), pred (B, N, X), mask (B, N) with 1 = masked -> (B, C, H, W)."""
    m = mask.unsqueeze(-1)  # (B, N, 1)
    patches = patchify(imgs, p) * (1 - m) + pred * m  # (B, N, X)
    return unpatchify(patches, p, imgs.shape[1], h=imgs.shape[-2] // p)  # (B, C, H, W)


def pretrain_step(model: "MAE", opt: torch.optim.Optimizer, x: torch.Tensor, mask_ratio: float,
                  amp=contextlib.nullcontext) -> torch.Tensor:
    """One MAE update: loss on the masked patches of x, backward, step. Returns the loss (detached)."""
    with amp():
        loss, _, _ = model(x, mask_ratio)
    update(opt, loss)
    return loss.detach()


class MAE(nn.Module):
    """Encoder + decoder + masked loss. `forward(imgs, mask_ratio)` returns (loss, pred (B, N, X), mask (B, N))."""

    def __init__(self, *, img_size: int = 28, patch_size: int = 4, in_chans: int = 1, dim: int = 128,
                 depth: int = 4, heads: int = 4, dec_dim: int = 64, dec_depth: int = 2, dec_heads: int = 4,
                 mlp_ratio: float = 4.0, norm_pix_loss: bool = False):
        super().__init__()
        self.patch_size, self.in_chans, self.norm_pix_loss = patch_size, in_chans, norm_pix_loss
        self.encoder = Encoder(img_size=img_size, patch_size=patch_size, in_chans=in_chans, dim=dim, depth=depth,
                               heads=heads, mlp_ratio=mlp_ratio)
        self.decoder = Decoder(num_patches=self.encoder.num_patches, patch_size=patch_size, in_chans=in_chans,
                               enc_dim=dim, dim=dec_dim, depth=dec_depth, heads=dec_heads, mlp_ratio=mlp_ratio)

    def forward_loss(self, imgs: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return masked_mse(pred.float(), patch_targets(imgs, self.patch_size, self.norm_pix_loss), mask)

    def forward(self, imgs: torch.Tensor, mask_ratio: float = 0.75, generator: torch.Generator | None = None,
                noise: torch.Tensor | None = None):
        latent, mask, ids_restore = self.encoder(imgs, mask_ratio, generator, noise)  # (B, 1 + K, D)
        pred = self.decoder(latent, ids_restore)  # (B, N, X)
        return self.forward_loss(imgs, pred, mask), pred, mask

    def to_image(self, patches: torch.Tensor) -> torch.Tensor:
        return unpatchify(patches, self.patch_size, self.in_chans)  # (B, C, H, W)

    @torch.no_grad()
    def reconstruct(self, imgs: torch.Tensor, mask_ratio: float = 0.75, generator: torch.Generator | None = None,
                    noise: torch.Tensor | None = None):
        """For figures: (masked input, full prediction, prediction with the visible patches pasted back, mask)
        as images (B, C, H, W); masked places of the input are set to the darkest value, -1."""
        _, pred, mask = self(imgs, mask_ratio, generator, noise)
        m = self.to_image(mask.unsqueeze(-1).expand_as(pred))  # (B, C, H, W), 1 = masked
        recon = self.to_image(pred.float())  # (B, C, H, W)
        if self.norm_pix_loss:  # show normalised predictions in the true patches' statistics
            t = patchify(imgs, self.patch_size)  # (B, N, X)
            recon = self.to_image(pred.float() * (t.var(-1, keepdim=True) + 1e-6).sqrt() + t.mean(-1, keepdim=True))
        masked = imgs * (1 - m) - m  # (B, C, H, W)
        return masked, recon, paste_visible(imgs, patchify(recon, self.patch_size), mask, self.patch_size), m


class ViTClassifier(nn.Module):
    """The MAE encoder with a classification head (mean-pooled patch tokens, LayerNorm, linear): fine-tuning."""

    def __init__(self, encoder: Encoder, n_classes: int):
        super().__init__()
        self.encoder = encoder
        self.fc_norm = nn.LayerNorm(encoder.dim)
        self.head = nn.Linear(encoder.dim, n_classes)
        nn.init.trunc_normal_(self.head.weight, std=2e-5)
        nn.init.zeros_(self.head.bias)

    def forward(self, imgs: torch.Tensor) -> torch.Tensor:
        return self.head(self.fc_norm(self.encoder.features(imgs)))  # (B, n_classes)


# ----------------------------------------------------------------------------------------------------------
# Sizes and compute
# ----------------------------------------------------------------------------------------------------------

PRESETS: dict[str, dict] = {
    # ViT-tiny encoder (Touvron et al. 2021 widths) with MAE's lighter decoder, as in IcarusWizard/MAE's CIFAR-10 run
    "tiny": dict(dim=192, depth=12, heads=3, dec_dim=128, dec_depth=4, dec_heads=4),
}


def small_mae(width: int, *, img_size: int = 28, patch_size: int = 4, in_chans: int = 1,
              norm_pix_loss: bool = False) -> MAE:
    """The course's small MAE for 28x28 images: encoder width D = `width` (from the scale), 4 blocks;
    decoder half as wide, 2 blocks."""
    heads = max(1, width // 32)
    return MAE(img_size=img_size, patch_size=patch_size, in_chans=in_chans, dim=width, depth=4, heads=heads,
               dec_dim=max(32, width // 2), dec_depth=2, dec_heads=max(1, width // 64), norm_pix_loss=norm_pix_loss)


def transformer_flops(tokens: int, dim: int, depth: int, mlp_ratio: float = 4.0) -> float:
    """Forward matmul FLOPs of `depth` blocks on one sequence: 2 * (4 D^2 + 2 r D^2) per token for the linear
    layers, plus 2 * 2 T^2 D for Q K^T and A V."""
    linear = 2 * tokens * (4 + 2 * mlp_ratio) * dim * dim
    attention = 4 * tokens * tokens * dim
    return depth * (linear + attention)


def mae_train_flops(model: MAE, mask_ratio: float) -> float:
    """Model FLOPs of one pretraining step per image (forward + backward = 3 x forward), for MFU."""
    enc, dec = model.encoder, model.decoder
    N, K = enc.num_patches, n_visible(enc.num_patches, mask_ratio)
    X, D, E = enc.patch_embed.in_features, enc.dim, dec.embed.out_features
    fwd = 2 * N * X * D  # patch embedding runs on all patches before masking
    fwd += transformer_flops(1 + K, D, len(enc.blocks))
    fwd += 2 * (1 + K) * D * E + transformer_flops(1 + N, E, len(dec.blocks)) + 2 * (1 + N) * E * X
    return 3.0 * fwd


def classifier_train_flops(encoder, n_classes: int) -> float:
    """Model FLOPs of one fine-tuning step per image: the encoder on all 1 + N tokens and the linear head,
    forward + backward = 3 x forward, for MFU."""
    N, X, D = encoder.num_patches, encoder.patch_embed.in_features, encoder.dim
    fwd = 2 * N * X * D + transformer_flops(1 + N, D, len(encoder.blocks)) + 2 * D * n_classes
    return 3.0 * fwd

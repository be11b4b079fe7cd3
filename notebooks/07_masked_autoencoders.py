# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 · Masked autoencoders
#
# A masked autoencoder (MAE; He, Chen, Xie, Li, Dollár and Girshick, *Masked Autoencoders Are Scalable Vision
# Learners*, Meta AI / FAIR, 2021) cuts an image into patches, hides most of them, and trains a Vision Transformer
# to fill in what is hidden. The network that reads the visible patches, the **encoder**, is the product: its
# features are then probed or fine-tuned for recognition. This chapter builds an MAE piece by piece as in the
# paper and measures what its encoder learned.
#
# **You will**
# 1. cut images into patches (`patchify`) and mask a random 75 % of them per image, by sorting uniform noise;
# 2. see why the encoder reads the visible patches *only*, and how a light decoder puts mask tokens back;
# 3. write the loss on *masked* patches only (optionally on per-patch normalised pixels);
# 4. train an MAE on MNIST and look at its reconstructions of held-out digits;
# 5. measure the encoder with a linear probe and a k-NN classifier, against the same encoder untrained;
# 6. sweep the mask ratio (25 / 50 / 75 / 90 %).
#
# **Prerequisites:** chapter 04 (autoencoders); attention and the Transformer block (queries, keys, values).
#
# **Scale.** `COURSE_SCALE=smoke|small|full` changes only the numbers. The numbers quoted in the text come from
# `small` on a 2-core CPU.

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from einops import rearrange

from course_lib import data, mae_run, plotting, train
from course_lib.checks import ch07 as check
from course_lib.models import mae as M
from course_lib.probes import extract, knn_accuracy, linear_probe
from course_lib.runlog import RunLog
from course_lib.scale import get_scale

S = get_scale()
device = train.get_device()
train.set_threads()
train.seed_everything(0)
print(f"scale: {S.name}   device: {device}   torch {torch.__version__}")

# %% [markdown]
# > **Common misconception.** MAE is sometimes credited to OpenAI. It is the work of He et al. at Meta AI (FAIR),
# > 2021 (arXiv:2111.06377).
#
# ## 1 · Data
#
# MNIST digits, 28×28, one channel, in $[-1, 1]$. The loss is computed on these normalised values, never on
# 0–255 integers; images are mapped back to $[0, 1]$ only for display.

# %%
x_train, y_train = data.load_images("mnist", train=True, n=S.n_train)
x_test, y_test = data.load_images("mnist", train=False, n=S.n_eval)
x_train, x_test = x_train.to(device), x_test.to(device)
print(f"train {tuple(x_train.shape)}  test {tuple(x_test.shape)}  range [{x_train.min():.0f}, {x_train.max():.0f}]")

# %% [markdown]
# ## 2 · Patches
#
# With patch side $P = 4$, a 28×28 image becomes a $7 \times 7$ grid of $N = 49$ patches, each flattened to
# $P \cdot P \cdot C = 16$ values: a sequence of 49 tokens, like words in a sentence.

# %%
P = 4


def patchify(imgs, p):
    return rearrange(imgs, "b c (h p) (w q) -> b (h w) (p q c)", p=p, q=p)  # (B, N, P*P*C)


patches = patchify(x_test[:8], P)  # (8, 49, 16)
print("patches:", tuple(patches.shape))
torch.testing.assert_close(patches, M.patchify(x_test[:8], P))
torch.testing.assert_close(M.unpatchify(patches, P, 1), x_test[:8])  # unpatchify is its exact inverse
print("patchify matches course_lib.models.mae.patchify; unpatchify(patchify(x)) == x")

# %% [markdown]
# ## 3 · Random masking, per sample, by sorting noise
#
# MAE keeps $K = \operatorname{round}(N(1-r))$ patches of every image, a *different* random set for each image.
# The trick of the reference code: draw uniform noise $u \in [0,1)^{B \times N}$, sort it, and keep the $K$
# indices with the smallest noise. `argsort` of a uniform vector is a uniform random permutation, so this draws
# all masks of the batch in one operation, and `argsort` of that permutation is its inverse (`ids_restore`),
# which puts tokens back in their places after the encoder.

# %%
def random_masking(x, mask_ratio, generator=None):
    B, N, D = x.shape
    K = round(N * (1 - mask_ratio))
    noise = torch.rand(B, N, generator=generator, device=x.device)  # (B, N)
    ids_shuffle = noise.argsort(dim=1)  # (B, N) small noise first: those are kept
    ids_restore = ids_shuffle.argsort(dim=1)  # (B, N) the inverse permutation
    x_visible = x.gather(1, ids_shuffle[:, :K, None].expand(-1, -1, D))  # (B, K, D)
    mask = torch.ones(B, N, device=x.device)
    mask[:, :K] = 0
    mask = mask.gather(1, ids_restore)  # (B, N) 1 = masked, in the original order
    return x_visible, mask, ids_restore


mine = random_masking(patches, 0.75, torch.Generator().manual_seed(0))
ref = M.random_masking(patches, 0.75, torch.Generator().manual_seed(0))
for a, b in zip(mine, ref):
    torch.testing.assert_close(a, b)
print(f"visible tokens {tuple(mine[0].shape)}; masked per image: {mine[1].sum(1).int().tolist()}")
print("random_masking matches course_lib.models.mae.random_masking")

# %%
m_img = M.unpatchify(mine[1][:, :, None].expand(-1, -1, P * P), P, 1)  # (8, 1, 28, 28), 1 = masked
plotting.image_grid(torch.cat([x_test[:8], x_test[:8] * (1 - m_img) - m_img]).cpu(), nrow=8,
                    title="75 % of the patches masked, a different set per image")
plt.show()

# %% [markdown]
# > **Common misconception.** Some tutorials "mask" an image by zeroing random *pixels* and then feed the whole
# > image to a CNN, computing the loss on every pixel. That is a *denoising* autoencoder, not an MAE. Single
# > missing pixels are filled by interpolating their neighbours, which needs no understanding of the image; MAE
# > hides whole *patches* (75 % of them), removes them from the encoder's input altogether, and scores only
# > their reconstruction.
#
# ## 4 · Encoder on visible tokens only, decoder with mask tokens
#
# *Positions.* A token does not know where its patch was, so a fixed 2-D sin-cos code is added to it *before*
# masking: half the channels encode the row, half the column, with sines and cosines of geometric frequencies.
# Nearby patches get similar codes:

# %%
pos = M.sincos_2d(64, 7)  # (49, 64)
sim = F.normalize(pos, dim=1) @ F.normalize(pos, dim=1).T  # (49, 49)
fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.6))
for ax, n in zip(axes, (0, 24, 45)):
    ax.imshow(sim[n].reshape(7, 7), cmap="viridis")
    ax.set_title(f"similarity to patch {n}", fontsize=9)
    ax.set_axis_off()
plt.show()

# %% [markdown]
# *Encoder.* A ViT (pre-norm Transformer blocks) over a class token and the $K$ **visible** tokens, no mask
# tokens at all. At a 75 % ratio it processes $1+12$ tokens instead of $1+49$: about 4× less compute per block
# (attention, quadratic in tokens, even less), which is what makes MAE cheap to pretrain.
#
# *Decoder.* Lighter (narrower, fewer blocks). It projects the latent to its own width, appends one **shared,
# learned mask token** for every hidden patch, unshuffles the sequence with `ids_restore`, adds its own position
# codes (so each mask token knows *which* patch to predict), and predicts the $P \cdot P \cdot C$ values of every
# patch. The model is in `course_lib/models/mae.py`; here we confirm the encoder never sees a mask token:

# %%
width = S.width // 2
mae = M.small_mae(width, patch_size=P).to(device)
seen = []
hook = mae.encoder.blocks[0].register_forward_hook(lambda mod, inp, out: seen.append(inp[0].shape[1]))
mae(x_test[:4], mask_ratio=0.75)
hook.remove()
n_par = sum(p.numel() for p in mae.parameters())
print(f"encoder input: {seen[0]} tokens (1 class token + {seen[0] - 1} visible patches out of 49); "
      f"{n_par / 1e3:.0f} k parameters")

# %% [markdown]
# **Exercise 1: unshuffle.** The decoder receives the visible tokens followed by the mask tokens, in *shuffled*
# order. Put every token back in its place: `x[b, n] = x_shuffled[b, ids_restore[b, n]]` (hint: `torch.gather`
# along dimension 1, with an index of shape `(B, N, E)`).

# %% tags=["exercise"]
def unshuffle(x_shuffled, ids_restore):
    ### BEGIN SOLUTION
    return x_shuffled.gather(1, ids_restore.unsqueeze(-1).expand(-1, -1, x_shuffled.shape[-1]))
    ### END SOLUTION


# %% tags=["check"]
check.unshuffle(unshuffle)

# %% [markdown]
# ## 5 · The loss: masked patches only
#
# With $m_n = 1$ for a masked patch, prediction $\hat x_n$ and target $x_n$ (both $P \cdot P \cdot C$ values),
#
# $$\mathcal{L} = \frac{\sum_n m_n \cdot \frac{1}{PPC}\lVert \hat x_n - x_n \rVert^2}{\sum_n m_n}.$$
#
# The visible patches do not count: the encoder saw them, so copying them teaches nothing. With the
# *normalised-pixel* option, each target patch is first standardised by its own mean and variance, which the
# paper found gives better features (the model must predict local contrast, not brightness).
#
# > **Common misconception.** MAE's loss is *not* $\lVert x - \hat x \rVert^2$ over the whole image. It is the
# > mean squared error over the **masked** patches only (optionally on normalised pixels), and the encoder never
# > receives mask tokens.
#
# **Exercise 2: the masked loss.** `pred` and `target` are `(B, N, X)`, `mask` is `(B, N)` with 1 = masked.

# %% tags=["exercise"]
def masked_mse(pred, target, mask):
    ### BEGIN SOLUTION
    per_patch = (pred - target).pow(2).mean(dim=-1)  # (B, N)
    return (per_patch * mask).sum() / mask.sum()
    ### END SOLUTION


# %% tags=["check"]
check.masked_mse(masked_mse)

# %% [markdown]
# ## 6 · The step and the loop
#
# One step: encode the visible patches of a batch, decode, take the masked loss, step AdamW
# ($\beta_2 = 0.95$ and weight decay 0.05, as in the paper) under a warmup + cosine learning rate. The loop below
# is all there is; `course train mae` runs the same step (`mae_run.pretrain_step`) with checkpoints and bf16.

# %%
def mae_step(model, opt, x, mask_ratio):
    loss, _, _ = model(x, mask_ratio)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def make_opt(model):
    return torch.optim.AdamW(model.parameters(), lr=1.5e-3, betas=(0.9, 0.95), weight_decay=0.05)


# the same step as the package's: identical weights after one update from identical states
a, b = M.small_mae(32, patch_size=P), M.small_mae(32, patch_size=P)
b.load_state_dict(a.state_dict())
oa, ob = make_opt(a), make_opt(b)
torch.manual_seed(1)
mae_step(a, oa, x_test[:16].cpu(), 0.75)
torch.manual_seed(1)
mae_run.pretrain_step(b, ob, x_test[:16].cpu(), 0.75)
torch.testing.assert_close(a.state_dict(), b.state_dict())
print("mae_step matches course_lib.mae_run.pretrain_step")


# %%
def pretrain(model, steps, mask_ratio, desc="MAE", seed=0):
    from tqdm.auto import tqdm

    opt, log = make_opt(model), RunLog()
    batches = data.Batches(x_train, batch_size=S.batch_size, seed=seed)
    model.train()
    for step in tqdm(range(steps), desc=desc, mininterval=1.0):
        for group in opt.param_groups:
            group["lr"] = mae_run.lr_at(step, steps, 1.5e-3, warmup=steps // 20)
        loss = mae_step(model, opt, next(batches), mask_ratio)
        if (step + 1) % S.log_every == 0:
            log.log(step + 1, loss=loss)
    return model.eval(), log


@torch.no_grad()
def masked_error(model, mask_ratio):
    """Held-out masked-patch MSE (same seeded masks every call)."""
    loss, _, _ = model(x_test, mask_ratio, torch.Generator(device=x_test.device).manual_seed(0))
    return float(loss)


train.seed_everything(0)
untrained = M.small_mae(width, patch_size=P).to(device).eval()  # kept as the baseline
train.seed_everything(0)
mae = M.small_mae(width, patch_size=P).to(device)  # the same initial weights
steps = S.image_steps
mae, log = pretrain(mae, steps, 0.75)
print(f"held-out masked-patch MSE at 75 %: untrained {masked_error(untrained, 0.75):.4f}, "
      f"trained {masked_error(mae, 0.75):.4f}  ({steps} steps of {S.batch_size})")
plotting.loss_curves(log, keys=("loss",), title="MAE loss (masked patches, train batches)")
plt.show()

# %% [markdown]
# ## 7 · Reconstructions of held-out digits
#
# Rows: the original; what the encoder sees (masked patches black); the decoder's output for every patch; the
# output with the visible patches pasted back, which is the reconstruction proper. The masked patches are filled
# with plausible strokes: blurry where the digit is ambiguous, because the mean squared error rewards the average
# of the plausible completions.

# %%
masked, recon, pasted, _ = mae.reconstruct(x_test[:10], 0.75, torch.Generator(device=x_test.device).manual_seed(0))
fig, ax = plt.subplots(figsize=(9, 4))
plotting.image_grid(torch.cat([x_test[:10], masked, recon, pasted]).cpu(), nrow=10, ax=ax,
                    title="original / masked (75 %) / prediction / visible patches pasted back")
plt.show()

# %% [markdown]
# ## 8 · What did the encoder learn? Linear probe and k-NN
#
# The decoder is thrown away. We freeze the encoder, describe each *unmasked* image by the mean of its patch
# tokens, and ask two classifiers that cannot change the encoder: logistic regression on the features (a
# **linear probe**) and a vote of the 20 nearest training images under cosine similarity (**k-NN**). The
# baseline is the *same* encoder at its random initialisation: random features of a Transformer already separate
# digits somewhat, so only the difference measures what pretraining added.

# %%
n_probe = min(5000, len(x_train))


def probe(model):
    f_tr = extract(model.encoder.features, x_train[:n_probe])
    f_te = extract(model.encoder.features, x_test)
    ytr, yte = y_train[:n_probe], y_test
    return linear_probe(f_tr, ytr, f_te, yte), knn_accuracy(f_tr, ytr, f_te, yte, k=20)


lin0, knn0 = probe(untrained)
lin1, knn1 = probe(mae)
print(f"linear probe accuracy: untrained encoder {100 * lin0:.1f}%, MAE-pretrained {100 * lin1:.1f}%")
print(f"k-NN (k=20) accuracy:  untrained encoder {100 * knn0:.1f}%, MAE-pretrained {100 * knn1:.1f}%")
print(f"({n_probe} training images for the probes, {len(x_test)} held-out test images)")

# %% [markdown]
# ## 9 · The mask ratio
#
# Too little masking and the task is solved by copying neighbours; too much and there is nothing left to go on.
# Each ratio below trains a fresh MAE (same initial weights, same number of steps, fewer than the main run);
# we record its held-out reconstruction error at its own ratio and its probe accuracies. On natural images the
# paper found 75 % best for fine-tuning and linear probing; on small digit images the optimum can differ.

# %%
ratios = [0.25, 0.5, 0.75, 0.9]
sweep_steps = max(10, S.image_steps // 3)
rows = []
for r in ratios:
    train.seed_everything(0)
    model, _ = pretrain(M.small_mae(width, patch_size=P).to(device), sweep_steps, r, desc=f"mask {r:.0%}")
    lin, knn = probe(model)
    rows.append((r, masked_error(model, r), lin, knn))
    print(f"mask ratio {r:.0%}: visible {M.n_visible(49, r):2d}/49  masked-patch MSE {rows[-1][1]:.4f}  "
          f"linear probe {100 * lin:.1f}%  k-NN {100 * knn:.1f}%")

fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3))
a1.plot([100 * r[0] for r in rows], [r[1] for r in rows], "o-")
a1.set(xlabel="mask ratio (%)", ylabel="held-out masked-patch MSE", title="reconstruction")
a2.plot([100 * r[0] for r in rows], [100 * r[2] for r in rows], "o-", label="linear probe")
a2.plot([100 * r[0] for r in rows], [100 * r[3] for r in rows], "s-", label="k-NN")
a2.axhline(100 * lin0, ls=":", c="gray", label="untrained, linear")
a2.set(xlabel="mask ratio (%)", ylabel="accuracy (%)", title=f"probes ({sweep_steps} steps each)")
a2.legend(frameon=False, fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# How to read the sweep: the held-out error is measured at each model's own ratio, so it mixes how hard the task
# is with how well the model learned it; the probes measure the encoder alone. Each sweep model gets only a third
# of the main run's steps, and an MAE spends its first few hundred steps predicting an average patch (the flat
# part of the loss curve above) before it starts to use the visible patches, so compare the sweep's numbers with
# each other, not with the main run. On natural images, with long training, the paper found 75 % best for both
# fine-tuning and linear probing, far more than a denoising autoencoder would ever corrupt; whether digits at this
# budget agree is what the printed columns say.
#
# ## 10 · Full scale: ViT-tiny on CIFAR-10, pretraining then fine-tuning
#
# On a GPU, the same model family at ViT-tiny size (width 192, 12 blocks, 3 heads; decoder 128 wide, 4 blocks)
# with patch 2 on CIFAR-10 is pretrained and then fine-tuned end to end as a classifier, against the same ViT
# trained from scratch (anchor: 89.8 % vs 74.1 %, IcarusWizard/MAE):
#
# ```
# course train mae --dataset cifar10 --preset tiny --patch 2 --epochs 800 --batch 512 --run-dir runs/mae-c10
# course train mae-finetune --init runs/mae-c10/checkpoint.pt --epochs 100 --run-dir runs/mae-c10-ft
# course train mae-finetune --scratch --preset tiny --patch 2 --epochs 100 --run-dir runs/vit-c10-scratch
# ```
#
# Both resume from `checkpoint.pt` when rerun, log to `metrics.jsonl`, use bf16 autocast on CUDA and report
# images/s and model FLOPs utilisation against a bf16 matmul rate measured on the same GPU.
#
# ## Summary
#
# * An MAE patchifies, masks a random 75 % of the patches per image (argsort of noise; `ids_restore` is the inverse
#   permutation), encodes the **visible** patches only, and lets a light decoder with a shared mask token predict
#   the rest. The loss counts the **masked** patches only.
# * The encoder's cost scales with the visible tokens, so masking most of the image also makes pretraining cheap.
# * Its features are judged by probes and fine-tuning; compared with the same encoder untrained, the pretrained
#   one gives clearly better k-NN and linear-probe accuracy.
# * MAE reconstructs masked images; it does not generate images from noise. Chapter 08 asks what happens when
#   its decoder meets a discriminator.

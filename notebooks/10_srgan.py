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
# # 10 · Super-resolution: SRGAN
#
# Super-resolution recovers a high-resolution (HR) image from a low-resolution (LR) one. Four times fewer pixels
# per side means sixteen HR pixels for every LR pixel: many HR images downsample to the same LR image, so the
# problem has no single answer. A network trained with a pixel-wise MSE predicts the *average* of all plausible
# answers, which is blurry but scores well in PSNR. SRGAN (Ledig et al., 2017) adds a perceptual loss and a
# discriminator, so the network picks *one* plausible sharp answer, which looks better and scores worse in PSNR.
# This chapter builds both and measures that trade-off.
#
# **You will**
# 1. make LR inputs from HR images by bicubic downsampling, and measure the bicubic baseline;
# 2. implement PSNR on the luma channel Y with the border cropped, as super-resolution papers report it;
# 3. build SRResNet (residual blocks, sub-pixel convolution with PixelShuffle) and pretrain it with MSE;
# 4. fine-tune it as SRGAN with a perceptual and an adversarial loss;
# 5. compare bicubic, SRResNet and SRGAN in numbers (PSNR / SSIM) and in crops.
#
# **Prerequisites:** chapter 02 (the D step and the G step), chapter 09 (PSNR / SSIM, image-to-image GANs).
#
# **Scale.** Numbers quoted in the text come from `small`. At `full`, `course train srgan --scale full
# --train-dir /path/to/DIV2K_train_HR` trains the paper's 16-block SRResNet on 96×96 crops (GPU, bf16), then
# SRGAN; targets on Set5 (Y): PSNR ≥ 31.5 dB for SRResNet, ≥ 29.0 dB for SRGAN (paper: 32.05 / 29.40).

# %%
import copy
import time

import matplotlib.pyplot as plt
import torch
from torch import nn
from tqdm.auto import tqdm

from course_lib import data, image_metrics, sr_data, train
from course_lib.checks import ch10 as check
from course_lib.models import srgan
from course_lib.scale import get_scale

S = get_scale()
device = train.get_device()
train.seed_everything(0)
print(f"scale: {S.name}   device: {device}   torch {torch.__version__}")

# %% [markdown]
# ## 1 · Data: LR made from HR
#
# As in the paper, the LR input is **made** from the HR image: crop HR to a multiple of 4, then bicubic
# downsampling by 4 with antialiasing (what MATLAB's `imresize` does, the convention of every SR benchmark). We
# train on random 48×48 HR crops (12×12 LR) from the 68 photographs of BSD68 and evaluate on another set,
# Set5, whole images (`course train srgan` also reports Set14).

# %%
SCALE, PATCH = 4, 48
pool = sr_data.load_hr_images("bsd68")  # list of (3, H, W) in [-1, 1]
set5 = sr_data.load_hr_images("set5")
hr_crops = sr_data.random_crops(pool, S.n_train // 4, PATCH, seed=0).to(device)  # (N, 3, 48, 48), augmented
print(f"training pool: BSD68, {len(pool)} images -> {len(hr_crops)} crops of {PATCH}x{PATCH}; "
      f"evaluation: Set5 ({len(set5)} images)")

hr = sr_data.modcrop(set5[1], SCALE)[None]  # (1, 3, H, W): the bird
lr = sr_data.downsample(hr, SCALE)  # (1, 3, H/4, W/4)
bic = sr_data.upsample_bicubic(lr, SCALE)  # (1, 3, H, W)
fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
for ax, img, title in zip(axes, (hr, lr, bic), (f"HR {tuple(hr.shape[-2:])}", f"LR {tuple(lr.shape[-2:])}",
                                                 "bicubic x4")):
    ax.imshow(data.to_unit(img[0]).permute(1, 2, 0).numpy(), interpolation="nearest"), ax.set_title(title)
    ax.set_axis_off()
plt.show()

# %% [markdown]
# ## 2 · Measuring: PSNR and SSIM on Y, border cropped
#
# $$\text{PSNR} = 10\log_{10}\frac{\text{MAX}^2}{\text{MSE}} \ \text{dB}, \qquad \text{MAX} = 1 \text{ for images in } [0, 1].$$
#
# SR papers compute it (and SSIM) on the **luma channel Y** of YCbCr (ITU-R BT.601, as MATLAB's `rgb2ycbcr`),
# after cropping **4 pixels** (the scale factor) at every border, where the reconstruction depends on pixels
# outside the image. Every table in this chapter says so; numbers computed otherwise (on RGB, or without the
# crop) differ by up to a decibel and are not comparable.

# %% tags=["exercise"]
def psnr(x, y):
    """PSNR in dB per image, x and y of shape (B, C, H, W) in [0, 1]; returns (B,)."""
    ### BEGIN SOLUTION
    mse = (x - y).double().square().flatten(1).mean(dim=1)  # (B,)
    return 10 * torch.log10(1.0 / mse)
    ### END SOLUTION


# %% tags=["check"]
check.psnr(psnr)

# %%
a, b = data.to_unit(bic), data.to_unit(hr)
y_a = image_metrics.crop_border(image_metrics.rgb_to_y(a), SCALE)  # (1, 1, H-8, W-8)
y_b = image_metrics.crop_border(image_metrics.rgb_to_y(b), SCALE)
torch.testing.assert_close(psnr(y_a, y_b).float(), image_metrics.sr_quality(a, b, border=SCALE)[0])
print(f"bird, bicubic: PSNR (Y, border {SCALE}) {psnr(y_a, y_b).item():.2f} dB; on RGB without the crop "
      f"{psnr(a, b).item():.2f} dB")

bicubic = lambda lr: sr_data.upsample_bicubic(lr, SCALE)  # noqa: E731
r = srgan.evaluate({"bicubic": bicubic}, set5, SCALE)["bicubic"]
print(f"Set5 x4 bicubic: PSNR (Y, border {SCALE}) {r['psnr'].mean():.2f} dB, SSIM (Y) {r['ssim'].mean():.4f}")

# %% [markdown]
# The published bicubic baseline is 28.42 dB on Set5 (MATLAB's `imresize`); PyTorch's antialiased bicubic is
# within a few hundredths of a decibel, which checks the whole pipeline (modcrop, downsampling, Y, border).
#
# ## 3 · SRResNet
#
# The generator works at the LR resolution for as long as it can, where convolutions are 16 times cheaper, and
# upsamples only at the end:
#
# * a 9×9 convolution, then $B$ **residual blocks** (conv–BN–PReLU–conv–BN, plus the identity), a long skip
#   around all of them;
# * two **sub-pixel convolutions** (Shi et al. 2016): a convolution to $4c$ channels, then `PixelShuffle(2)`
#   rearranges each group of 4 channels into a 2×2 block of pixels: $(B, 4c, h, w) \to (B, c, 2h, 2w)$. Twice
#   gives ×4. Unlike a transposed convolution, every output pixel gets the same number of kernel taps, so no
#   checkerboard pattern.
# * a 9×9 convolution back to RGB. We add the bicubic upsampling of the input to the output (`bicubic_skip`, as
#   VDSR does), so the network learns only the missing detail; this changes no loss and trains much faster on a
#   CPU.

# %% tags=["exercise"]
def pixel_shuffle(x, r):
    """(B, C·r², h, w) -> (B, C, h·r, w·r), exactly as nn.PixelShuffle(r)."""
    ### BEGIN SOLUTION
    B, Cr2, h, w = x.shape
    C = Cr2 // (r * r)
    x = x.reshape(B, C, r, r, h, w)  # channel index = c·r² + i·r + j
    x = x.permute(0, 1, 4, 2, 5, 3)  # (B, C, h, r, w, r)
    return x.reshape(B, C, h * r, w * r)
    ### END SOLUTION


# %% tags=["check"]
check.pixel_shuffle(pixel_shuffle)

# %%
width, n_blocks = S.width // 4, S.width // 16  # 32 channels, 8 blocks at small; the paper's 64, 16 at full
G = srgan.SRResNet(width=width, n_blocks=n_blocks, scale=SCALE).to(device)
x = torch.randn(2, 3, 12, 12, device=device)  # (B, 3, h, w)
h = G.head(x)  # (B, c, 12, 12)
h = h + G.post(G.blocks(h))  # (B, c, 12, 12)
u1 = G.up[0](h)  # (B, c, 24, 24)
u2 = G.up[1](u1)  # (B, c, 48, 48)
print(f"LR {tuple(x.shape)} -> residual trunk {tuple(h.shape)} -> x2 {tuple(u1.shape)} -> x4 {tuple(u2.shape)} "
      f"-> SR {tuple(G(x).shape)}   ({sum(p.numel() for p in G.parameters()) / 1e3:.0f}k parameters)")
torch.testing.assert_close(pixel_shuffle(G.up[0].conv(h), 2), nn.PixelShuffle(2)(G.up[0].conv(h)))

# %% [markdown]
# **Pretraining with MSE.** SRResNet minimises the pixel-wise content loss
# $\ell_{MSE} = \frac{1}{r^2WH}\sum_{x,y}(I^{HR}_{x,y} - G(I^{LR})_{x,y})^2$ (Ledig et al., eq. 4). LR batches are
# made on the fly from the HR crops.

# %%
pre_steps = S.image_steps // 4
opt_G = torch.optim.Adam(G.parameters(), lr=3e-4)
batches = data.Batches(hr_crops, batch_size=16, seed=0)
mse_log = []
t0 = time.perf_counter()
for step in tqdm(range(pre_steps), desc="SRResNet (MSE)"):
    hr_b = next(batches)  # (16, 3, 48, 48)
    lr_b = sr_data.downsample(hr_b, SCALE)  # (16, 3, 12, 12)
    loss = (G(lr_b) - hr_b).square().mean()  # l_MSE
    opt_G.zero_grad()
    loss.backward()
    opt_G.step()
    mse_log.append(loss.item())
torch.testing.assert_close(srgan.content_loss(G(lr_b), hr_b), (G(lr_b) - hr_b).square().mean())
print(f"SRResNet: {pre_steps} steps in {time.perf_counter() - t0:.0f} s, MSE {mse_log[0]:.4f} -> "
      f"{sum(mse_log[-20:]) / len(mse_log[-20:]):.4f} (mean of the last 20)")
G_srresnet = copy.deepcopy(G).eval()

# %% [markdown]
# ## 4 · SRGAN: perceptual and adversarial losses
#
# Fine-tuning starts from SRResNet (the paper does the same: a GAN started from scratch wastes its first steps on
# colours and shapes MSE finds easily). G's loss (Ledig et al., eqs. 3 and 6):
#
# $$\ell^{SR} = w_{mse}\,\ell_{MSE} + w_{perc}\,\underbrace{\frac{1}{W_\phi H_\phi}\sum\big(\phi(I^{HR}) - \phi(G(I^{LR}))\big)^2}_{\text{perceptual}}
#   + 10^{-3}\,\underbrace{\big(-\log D(G(I^{LR}))\big)}_{\text{adversarial}}$$
#
# and D is the usual binary classifier of real HR crops against $G(I^{LR})$. $\phi$ is a **fixed feature
# network**: the paper uses VGG-19's `relu5_4` (ImageNet weights). When those weights are absent (this machine
# has no network), the course trains its own: a small CNN that predicts by how much a crop of the training pool
# was rotated (a self-supervised task that needs edges and textures), trained on crops without rotation
# augmentation. Its name is printed with every result; it is much weaker than VGG-19. The perceptual term is
# divided by the energy of the target features, so its weight means the same for either network. We keep a
# little MSE ($w_{mse}=0.1$) to anchor colours, which the small feature network barely sees.
#
# > **Common misconception.** Seed 004 writes G's adversarial term as $\gamma \log(1 - D(\hat x_{HR}))$, the
# > saturating form: when D confidently rejects $G$'s outputs (as it does at the start of fine-tuning) its
# > gradient vanishes. SRGAN, like every GAN in this course, minimises $-\log D(G(I^{LR}))$ instead
# > (chapter 01).

# %%
phi_crops = sr_data.random_crops(pool, S.n_train // 4, PATCH, seed=1, augment=False).to(device)
phi = srgan.perceptual_network(phi_crops, steps=S.image_steps // 2, device=device)
D = srgan.Discriminator(width=width // 2).to(device)
opt_D = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.9, 0.999))
opt_G = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.9, 0.999))
gan_steps = S.image_steps // 8
gan_log = []
t0 = time.perf_counter()
for step in tqdm(range(gan_steps), desc="SRGAN"):
    hr_b = next(batches)  # (16, 3, 48, 48)
    lr_b = sr_data.downsample(hr_b, SCALE)  # (16, 3, 12, 12)
    stats = srgan.srgan_step(G, D, phi, opt_G, opt_D, lr_b, hr_b, w_mse=0.1, w_perc=1.0, w_adv=1e-3)
    gan_log.append({k: v.item() for k, v in stats.items()})
print(f"SRGAN: {gan_steps} steps in {time.perf_counter() - t0:.0f} s; last step: "
      + ", ".join(f"{k} {v:.4f}" for k, v in gan_log[-1].items()))
G_srgan = G.eval()

# %% [markdown]
# ## 5 · The perception–distortion trade-off, in numbers
#
# PSNR rewards the average of the plausible answers; a sharp, plausible answer that is not *the* answer pays for
# every misplaced detail. Blau & Michaeli (2018) proved the trade-off: below some distortion, perceptual quality
# must get worse. The table compares the three methods on the whole Set5 images.

# %%
methods = {"bicubic": bicubic,
           "SRResNet": lambda lr: srgan.super_resolve(G_srresnet, lr),
           "SRGAN": lambda lr: srgan.super_resolve(G_srgan, lr)}
res = srgan.evaluate(methods, set5, SCALE, device=device)
print(f"Set5 x4; PSNR (dB) and SSIM on the Y channel, {SCALE} border pixels cropped; "
      f"SRGAN's perceptual features: {phi.label}")
print(f"{'method':<10}{'PSNR (Y)':>10}{'SSIM (Y)':>10}")
for m in methods:
    print(f"{m:<10}{res[m]['psnr'].mean():10.2f}{res[m]['ssim'].mean():10.4f}")

# %% [markdown]
# Numbers average away what the eye sees. Crops of Set5 side by side, each with its own PSNR / SSIM (Y, border
# cropped):

# %%
crops = [(0, 200, 200), (1, 120, 110), (2, 100, 60)]  # (Set5 image, top, left) of 96x96 HR crops
fig, axes = plt.subplots(len(crops), 4, figsize=(12, 3.2 * len(crops)))
for row, (i, top, left) in zip(axes, crops):
    hr_i = sr_data.modcrop(set5[i], SCALE)[None].to(device)  # (1, 3, H, W)
    lr_i = sr_data.downsample(hr_i, SCALE)
    outs = {"HR (original)": hr_i} | {m: fn(lr_i) for m, fn in methods.items()}
    for ax, (name, img) in zip(row, outs.items()):
        p, s = (res[name]["psnr"][i], res[name]["ssim"][i]) if name in res else (None, None)
        ax.imshow(data.to_unit(img[0, :, top:top + 96, left:left + 96]).permute(1, 2, 0).cpu().numpy())
        ax.set_title(name if name.startswith("HR") else f"{name}\n{p.item():.2f} dB / {s.item():.3f}", fontsize=9)
        ax.set_axis_off()
plt.suptitle("Set5, x4: PSNR (Y) / SSIM (Y) of the whole image")
plt.show()

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3))
ax1.plot(mse_log), ax1.set_yscale("log"), ax1.set_title("SRResNet pretraining: MSE"), ax1.set_xlabel("step")
for k in ("mse", "perc"):
    ax2.plot([r[k] for r in gan_log], label=k)
ax2.set_yscale("log"), ax2.set_title("SRGAN fine-tuning: G's loss terms"), ax2.set_xlabel("step"), ax2.legend()
plt.show()

# %% [markdown]
# ## Summary
#
# * LR inputs are made from HR images (modcrop, bicubic ×4 with antialiasing); bicubic upsampling is the
#   baseline, and PSNR / SSIM are reported on Y with the border cropped, always said.
# * SRResNet: residual blocks at the LR resolution, sub-pixel convolution (`PixelShuffle`) to upsample; trained
#   with MSE it maximises PSNR and produces the average of plausible answers: smooth.
# * SRGAN adds a perceptual loss on a fixed network's features (VGG-19 in the paper, a course-trained network
#   here, labelled) and a non-saturating adversarial loss; it trades PSNR for sharper, more plausible texture.
# * Lower PSNR for SRGAN is the expected outcome, not a failure: distortion and perceptual quality cannot both be
#   optimal (Blau & Michaeli 2018).
#
# **Measured at `small`** (`COURSE_SCALE=small course run 10`, 322 s on one shared CPU core; width 32, 8 blocks,
# 375 MSE steps then 187 SRGAN steps on 48×48 crops): Set5 ×4, Y channel, 4 border pixels cropped — bicubic
# 28.43 dB / SSIM 0.8115, SRResNet 29.31 dB / 0.8239, SRGAN 29.04 dB / 0.8044, with the course rotation network
# (36.7 % held-out rotation accuracy) as the perceptual features. SRResNet beats bicubic by 0.9 dB; SRGAN gives
# back part of it in PSNR and falls below bicubic in SSIM, the perception–distortion trade-off in numbers.

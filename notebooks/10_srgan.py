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
# discriminator, so the network is pushed towards *one* plausible sharp answer, which should look more natural and
# must score worse in PSNR. This chapter builds both and measures that trade-off on both of its axes: distortion
# (PSNR, SSIM against the true image) and realism (NIQE, a no-reference statistic of natural images).
#
# **You will**
# 1. make LR inputs from HR images by bicubic downsampling, and measure the bicubic baseline;
# 2. implement PSNR on the luma channel Y with the border cropped, as super-resolution papers report it;
# 3. build SRResNet (residual blocks, sub-pixel convolution with PixelShuffle) and pretrain it with MSE;
# 4. fine-tune it as SRGAN with a perceptual and an adversarial loss;
# 5. measure realism with NIQE, fitted on the course's own natural photographs (no download, and not the network
#    SRGAN was trained against);
# 6. compare bicubic, SRResNet and SRGAN in numbers and in crops, and sweep the perception–distortion trade-off by
#    interpolating between the SRResNet and SRGAN weights.
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

from course_lib import data, image_metrics, plotting, sr_data, train
from course_lib.checks import ch10 as check
from course_lib.claims import claim, measured
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
# crop) are not comparable: on Set5's bicubic baseline they differ by whole decibels (measured below, image by
# image). The Y channel alone accounts for much of it: it spans 219 of 255 grey levels, which lowers its MSE.

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
rgb = torch.stack([image_metrics.psnr(data.to_unit(bicubic(sr_data.downsample(h, SCALE))), data.to_unit(h))[0]
                   for h in (sr_data.modcrop(img, SCALE)[None] for img in set5)])  # (5,): RGB, no crop
gap = r["psnr"] - rgb  # (5,)
print("PSNR (Y, border cropped) - PSNR (RGB, no crop), per Set5 image: "
      + ", ".join(f"{g:.2f}" for g in gap.tolist()) + " dB")
measured("psnr_bicubic", r["psnr"].mean().item(), unit="dB")
measured("psnr_rgb_bicubic", rgb.mean().item(), unit="dB")
measured("psnr_y_minus_rgb_min", gap.min().item(), unit="dB")
measured("psnr_y_minus_rgb_max", gap.max().item(), unit="dB")

# %% [markdown]
# The published bicubic baseline is 28.42 dB on Set5 (MATLAB's `imresize`); PyTorch's antialiased bicubic gives
# {rec:psnr_bicubic:.2f} dB, which checks the whole pipeline (modcrop, downsampling, Y, border). On RGB without
# the crop the same images score {rec:psnr_rgb_bicubic:.2f} dB: the two conventions differ by
# {rec:psnr_y_minus_rgb_min:.1f} to {rec:psnr_y_minus_rgb_max:.1f} dB image by image.
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
#   gives ×4. Unlike a transposed convolution with a kernel its stride does not divide, every output pixel gets
#   the same number of kernel taps, which removes the *uneven-overlap* cause of checkerboards. It does not remove
#   checkerboards: the four pixels of each 2×2 block come from four independently initialised filters, which can
#   disagree, and a sub-pixel convolution is itself a stride-2 transposed convolution (Shi et al. 2016). Aitken
#   et al. (2017) fix the start: **ICNR** initialises the four filters of each channel equal, so at
#   initialisation conv + PixelShuffle *is* nearest-neighbour upsampling after a convolution (checked below);
#   `srgan.UpsampleBlock` does so by default.
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
# ICNR: at initialisation, conv + PixelShuffle = conv with the first of each channel's four filters, then
# nearest-neighbour x2 upsampling; no pixel of a 2x2 block differs from its neighbours
with torch.no_grad():
    conv = G.up[0].conv
    first = nn.functional.conv2d(h, conv.weight[::4], conv.bias[::4], padding=1)  # (B, c, 12, 12)
    torch.testing.assert_close(nn.PixelShuffle(2)(conv(h)), nn.functional.interpolate(first, scale_factor=2))
print("ICNR: at initialisation, each sub-pixel convolution equals conv + nearest-neighbour upsampling")

# %% [markdown]
# **Pretraining with MSE.** SRResNet minimises the pixel-wise content loss
# $\ell_{MSE} = \frac{1}{r^2WH}\sum_{x,y}(I^{HR}_{x,y} - G(I^{LR})_{x,y})^2$ (Ledig et al., eq. 4). LR batches are
# made on the fly from the HR crops.

# %%
pre_steps = S.image_steps // 2
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
#   + w_{adv}\,\underbrace{\big(-\log D(G(I^{LR}))\big)}_{\text{adversarial}}$$
#
# and D is the usual binary classifier of real HR crops against $G(I^{LR})$. $\phi$ is a **fixed feature
# network**: the paper uses VGG-19's `relu5_4` (ImageNet weights). When those weights are absent (this machine
# has no network), the course trains its own: a small CNN that predicts by how much a crop of the training pool
# was rotated (a self-supervised task that needs edges and textures), trained on crops without rotation
# augmentation. Its name and its held-out accuracy are printed with every result; it is much weaker than VGG-19.
# The perceptual term is divided by the energy of the target features, so its weight means the same for either
# network. We keep a little MSE ($w_{mse}=0.1$) to anchor colours, which the small feature network barely sees;
# $w_{adv} = 10^{-3}$ as in the paper.
#
# > **Common misconception.** Seed 004 writes G's adversarial term as $\gamma \log(1 - D(\hat x_{HR}))$, the
# > saturating form: when D confidently rejects $G$'s outputs (as it does at the start of fine-tuning) its
# > gradient vanishes. SRGAN minimises $-\log D(G(I^{LR}))$ instead, the non-saturating form of chapter 01 that
# > Goodfellow et al. recommend (other GANs in this course use other losses again: hinge, WGAN-GP).

# %%
plotting.flow_diagram(
    {"hr": (0.06, 0.82, "HR crop\n(B, 3, 48, 48)"), "lr": (0.06, 0.18, "LR = bicubic ↓4\n(B, 3, 12, 12)"),
     "G": (0.24, 0.18, "G: SRResNet\n(from MSE pretraining)"), "sr": (0.42, 0.18, "SR = G(LR)\n(B, 3, 48, 48)"),
     "D": (0.62, 0.82, "D: conv net → one logit\n(SR.detach() for L_D)"), "phi": (0.62, 0.45, "φ: fixed feature net\n(VGG-19 or course's)"),
     "loss_D": (0.9, 0.82, "L_D = −log D(HR)\n− log(1 − D(SR))"),
     "loss_G": (0.86, 0.18, "L_G = w_mse·MSE + w_perc·‖φ(SR) − φ(HR)‖²\n+ w_adv·(−log D(SR))")},
    [("hr", "lr", "bicubic"), ("lr", "G", ""), ("G", "sr", ""), ("sr", "D", ""),
     ("hr", "D", ""), ("D", "loss_D", ""), ("D", "loss_G", ""), ("sr", "phi", ""), ("hr", "phi", ""),
     ("phi", "loss_G", "perceptual"), ("sr", "loss_G", "MSE")],
    title="SRGAN fine-tuning (boxes: tensors and networks; shaded: losses)", size=(12.0, 3.8))
plt.show()

# %% [markdown]
# Three fine-tuning runs (seeds 0, 1, 2: each its own D, its own batches), all from the one SRResNet above, so
# that a difference between SRGAN and SRResNet is not one seed's luck.

# %%
phi_crops = sr_data.random_crops(pool, S.n_train // 4, PATCH, seed=1, augment=False).to(device)
phi = srgan.perceptual_network(phi_crops, steps=S.image_steps // 2, device=device)
gan_steps, seeds, w_adv = S.image_steps // 6, (0, 1, 2), 1e-3
measured("rotation_accuracy", phi.rotation_accuracy)
measured("pre_steps", pre_steps)
measured("gan_steps", gan_steps)
G_srgan, gan_logs = {}, {}
t0 = time.perf_counter()
for seed in seeds:
    train.seed_everything(seed)
    G = copy.deepcopy(G_srresnet).train()
    D = srgan.Discriminator(width=width // 2).to(device)
    opt_D = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.9, 0.999))
    opt_G = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.9, 0.999))
    batches = data.Batches(hr_crops, batch_size=16, seed=100 + seed)
    gan_logs[seed] = []
    for step in tqdm(range(gan_steps), desc=f"SRGAN, seed {seed}"):
        hr_b = next(batches)  # (16, 3, 48, 48)
        lr_b = sr_data.downsample(hr_b, SCALE)  # (16, 3, 12, 12)
        stats = srgan.srgan_step(G, D, phi, opt_G, opt_D, lr_b, hr_b, w_mse=0.1, w_perc=1.0, w_adv=w_adv)
        gan_logs[seed].append({k: v.item() for k, v in stats.items()})
    G_srgan[seed] = G.eval()
print(f"SRGAN: {len(seeds)} x {gan_steps} steps in {time.perf_counter() - t0:.0f} s; seed {seeds[0]}'s last step: "
      + ", ".join(f"{k} {v:.4f}" for k, v in gan_logs[seeds[0]][-1].items()))

# %% [markdown]
# ## 5 · Measuring realism without a reference: NIQE
#
# PSNR and SSIM measure *distortion*: the distance to the one true image. A lower PSNR for SRGAN is equally
# consistent with a sharper, more natural image and with a worse one, so the trade-off needs a second axis that
# does not look at the true image at all. It must not be $D$ or $\phi$ either: SRGAN was trained against them,
# so their verdict on SRGAN would be circular.
#
# **NIQE** (Mittal, Soundararajan, Bovik 2013; the "perceptual" half of the PIRM 2018 super-resolution
# challenge's score) needs no training and no reference. Normalise an image's luma by its local mean and
# contrast, $\hat I = (I - \mu)/(\sigma + 1)$ with $\mu, \sigma$ under a 7×7 Gaussian: for natural photographs
# these coefficients are close to Gaussian, and blur, noise and artefacts change their shape. Each 96×96 patch is
# described by 36 numbers (at two scales: generalised-Gaussian fits of $\hat I$ and of the products of
# neighbouring values in four directions). A Gaussian $(\mu_n, \Sigma_n)$ fitted to the patches of pristine
# images is the model of "natural"; an image set's score is the distance of its patches' Gaussian from it,
#
# $$\text{NIQE} = \sqrt{(\mu_n - \mu_t)^\top \Big(\tfrac{\Sigma_n + \Sigma_t}{2}\Big)^{+} (\mu_n - \mu_t)}, \qquad \text{lower = more natural}.$$
#
# The course fits the natural model on the 68 BSD68 photographs (the published model was fitted on 125 other
# photographs, so these values are not comparable with published NIQE numbers), and scores each method on the
# patches of the 14 Set14 images pooled: Set5's five images hold only 2 to 25 patches each, too few for a stable
# score, so PSNR / SSIM stay on Set5 (the paper's table) and NIQE is on Set14. It is a fixed statistic, not a
# network: no method here was trained against it.

# %%
nat = sr_data.niqe_natural_model("bsd68")  # the natural model: BSD68's sharpest patches (cached)
print(f"NIQE natural model: {nat['n_patches']} patches of {nat['patch']}x{nat['patch']} from BSD68")
set14 = [sr_data.modcrop(img, SCALE)[None].to(device)  # (1, 3, H, W) each; all 14 at small, 3 at smoke
         for img in sr_data.load_hr_images("set14", n=min(14, max(3, S.n_eval // 100)))]
print(f"NIQE on {len(set14)} Set14 images")


def niqe_of(fn):
    """NIQE of a method's outputs on Set14 (patches pooled); fn: LR (1, 3, h, w) -> SR (1, 3, H, W)."""
    return image_metrics.niqe([data.to_unit(fn(sr_data.downsample(h, SCALE)))[0].cpu() for h in set14], nat)


set5_hr = [sr_data.modcrop(img, SCALE)[None].to(device) for img in set5]  # (1, 3, H, W) each


def grid_of(fn):
    """The 4x4-periodic part of a method's error on Set5, in grey levels (image_metrics.grid_pattern)."""
    return torch.cat([image_metrics.grid_pattern(data.to_unit(fn(sr_data.downsample(h, SCALE))).cpu(),
                                                 data.to_unit(h).cpu()) for h in set5_hr]).mean().item()


methods = {"bicubic": bicubic, "SRResNet": lambda lr: srgan.super_resolve(G_srresnet, lr)}
methods |= {f"SRGAN s{s}": (lambda G_: lambda lr: srgan.super_resolve(G_, lr))(G_srgan[s]) for s in seeds}
res = srgan.evaluate(methods, set5, SCALE, device=device)
for m in methods:
    res[m]["niqe14"], res[m]["grid"] = niqe_of(methods[m]), grid_of(methods[m])
hr_niqe = {"niqe14": image_metrics.niqe([data.to_unit(h[0]).cpu() for h in set14], nat)}
print(f"x4; PSNR (dB) and SSIM on Set5's Y channel, {SCALE} border pixels cropped; NIQE (course model, fitted on "
      f"BSD68) on Set14, lower = more natural; grid: the 4x4-periodic part of the error on Set5, in grey levels; "
      f"SRGAN's perceptual features: {phi.label}")
print(f"{'method':<12}{'PSNR Set5':>10}{'SSIM Set5':>10}{'NIQE Set14':>12}{'grid Set5':>11}")
print(f"{'HR (truth)':<12}{'':>10}{'':>10}{hr_niqe['niqe14']:12.2f}{0:11.2f}")
for m in methods:
    print(f"{m:<12}{res[m]['psnr'].mean():10.2f}{res[m]['ssim'].mean():10.4f}{res[m]['niqe14']:12.2f}"
          f"{res[m]['grid']:11.2f}")

# %%
psnr_g = [res[f"SRGAN s{s}"]["psnr"].mean().item() for s in seeds]
ssim_g = [res[f"SRGAN s{s}"]["ssim"].mean().item() for s in seeds]
niqe14_g = [res[f"SRGAN s{s}"]["niqe14"] for s in seeds]
p_res, s_res = res["SRResNet"]["psnr"].mean().item(), res["SRResNet"]["ssim"].mean().item()
for name, v in (("psnr_srresnet", p_res), ("ssim_srresnet", s_res), ("ssim_bicubic", res["bicubic"]["ssim"].mean().item()),
                ("psnr_srgan", psnr_g), ("ssim_srgan", ssim_g), ("niqe14_srgan", niqe14_g),
                ("niqe14_srresnet", res["SRResNet"]["niqe14"]), ("niqe14_bicubic", res["bicubic"]["niqe14"]),
                ("niqe14_hr", hr_niqe["niqe14"]), ("grid_bicubic", res["bicubic"]["grid"]),
                ("grid_srresnet", res["SRResNet"]["grid"]), ("grid_srgan", [res[f"SRGAN s{s}"]["grid"] for s in seeds])):
    measured(name, v)
claim("srresnet_beats_bicubic", p_res - res["bicubic"]["psnr"].mean().item(), ">", 0.4,
      "SRResNet (MSE) beats bicubic on Set5 PSNR (Y), in dB (one SRResNet)", unit="dB")
claim("niqe_sees_blur", res["bicubic"]["niqe14"] - hr_niqe["niqe14"], ">", 4.0,
      "NIQE scores the bicubic upsampling of Set14 as far less natural than the true images")
claim("srgan_costs_psnr", [p_res - p for p in psnr_g], ">", 0.05,
      "fine-tuning as SRGAN lowers Set5 PSNR (Y): PSNR(SRResNet) - PSNR(SRGAN), mean of 3 seeds", unit="dB")
measured("srgan_niqe_gain", [res["SRResNet"]["niqe14"] - n for n in niqe14_g])
measured("srgan_grid_gain", [res[f"SRGAN s{s}"]["grid"] - res["SRResNet"]["grid"] for s in seeds])


def verdict(values, what):
    """What three seeds allow one to conclude about a per-seed difference."""
    t = torch.tensor(values)
    m, sd = t.mean().item(), t.std().item()
    if (t > 0).all() and m > 2 * sd:
        return f"{what}: {m:.3g} ± {sd:.2g}, positive in every seed: the seeds agree"
    if (t < 0).all() and -m > 2 * sd:
        return f"{what}: {m:.3g} ± {sd:.2g}, negative in every seed: the seeds agree, the other way"
    return f"{what}: {m:.3g} ± {sd:.2g} over the seeds: no evidence either way at this scale"


print(verdict([res["SRResNet"]["niqe14"] - n for n in niqe14_g],
              "realism, NIQE(SRResNet) - NIQE(SRGAN) on Set14 (positive: SRGAN more natural)"))
print(verdict([res[f"SRGAN s{s}"]["grid"] - res["SRResNet"]["grid"] for s in seeds],
              "artefact, grid(SRGAN) - grid(SRResNet) on Set5 (positive: SRGAN's error more periodic)"))

# %% [markdown]
# **Reading the table.** Distortion: SRResNet beats bicubic by {rec:srresnet_beats_bicubic:.2f} dB of PSNR, and
# fine-tuning it as SRGAN gives back {rec:srgan_costs_psnr:pm} dB (three seeds). Realism: NIQE separates the
# true images ({rec:niqe14_hr:.2f}) from their bicubic upsampling ({rec:niqe14_bicubic:.2f}), so it sees blur;
# SRResNet scores {rec:niqe14_srresnet:.2f} and SRGAN {rec:niqe14_srgan:pm}, a gain of
# {rec:srgan_niqe_gain:pm}; the verdict printed above says whether the three seeds agree on its sign. A lower
# NIQE is not automatically a better image: NIQE rewards the local statistics of natural texture, and a
# periodic artefact has texture too. The last column measures one: the part of the error that repeats every 4
# pixels, the period of the two ×2 sub-pixel upsamplings, which image content averages out of (bicubic
# {rec:grid_bicubic:.2f}, SRResNet {rec:grid_srresnet:.2f}, SRGAN {rec:grid_srgan:pm} grey levels). The
# adversarial and perceptual terms push $G$ to add high frequencies, and nothing stops it from adding some of them
# as a grid, whatever ICNR's start; the second verdict above says whether SRGAN's error is more periodic than
# SRResNet's in this run. Look for the grid in the flat regions of the crops below (the skin, the background).
#
# Numbers average away what the eye sees. Crops of Set5 side by side, each with its own PSNR / SSIM (Y, border
# cropped), and below each the residual $|SR - HR|$ on Y (brighter = larger error):

# %%
show = {"bicubic": methods["bicubic"], "SRResNet": methods["SRResNet"], "SRGAN (seed 0)": methods["SRGAN s0"]}
crops = [(0, 200, 200), (1, 120, 110), (2, 100, 60)]  # (Set5 image, top, left) of 96x96 HR crops
fig, axes = plt.subplots(2 * len(crops), 4, figsize=(12, 6.2 * len(crops)))
for k, (i, top, left) in enumerate(crops):
    hr_i = sr_data.modcrop(set5[i], SCALE)[None].to(device)  # (1, 3, H, W)
    lr_i = sr_data.downsample(hr_i, SCALE)
    outs = {"HR (original)": hr_i} | {m: fn(lr_i) for m, fn in show.items()}
    for c, (name, img) in enumerate(outs.items()):
        crop = data.to_unit(img[0, :, top:top + 96, left:left + 96]).cpu()  # (3, 96, 96)
        ax = axes[2 * k, c]
        ax.imshow(crop.permute(1, 2, 0).numpy())
        key = "SRGAN s0" if name.startswith("SRGAN") else name
        title = name if name.startswith("HR") else f"{name}\n{res[key]['psnr'][i]:.2f} dB / {res[key]['ssim'][i]:.3f}"
        ax.set_title(title, fontsize=9), ax.set_axis_off()
        err = (image_metrics.rgb_to_y(crop[None]) - image_metrics.rgb_to_y(
            data.to_unit(hr_i[0, :, top:top + 96, left:left + 96]).cpu()[None])).abs()[0, 0]  # (96, 96)
        axes[2 * k + 1, c].imshow(err, cmap="inferno", vmin=0, vmax=0.15)
        axes[2 * k + 1, c].set_title("|SR - HR| on Y" if c else "", fontsize=8), axes[2 * k + 1, c].set_axis_off()
plt.suptitle("Set5, x4: PSNR (Y) / SSIM (Y) of the whole image; below, the error of the crop")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 6 · The perception–distortion trade-off, swept
#
# Blau & Michaeli (2018) proved that distortion and perceptual quality cannot both be optimal: below some
# distortion, the best achievable realism must get worse. A cheap way to trace the curve between the two ends,
# from ESRGAN (Wang et al. 2018, "network interpolation"): average the weights of the two networks,
# $\theta(\alpha) = (1-\alpha)\,\theta_\text{SRResNet} + \alpha\,\theta_\text{SRGAN}$ (batch-norm statistics
# too), which works because SRGAN was fine-tuned from SRResNet and both sit in one basin. Every $\alpha$ is a
# network; each is plotted at its (distortion, realism) point.

# %%
alphas = [0.0, 0.25, 0.5, 0.75, 1.0]
sd0, sd1 = G_srresnet.state_dict(), G_srgan[seeds[0]].state_dict()
sweep = []
for a in alphas:
    if a in (0.0, 1.0):  # the two ends are SRResNet and seed 0's SRGAN, measured above
        r_a = res["SRResNet" if a == 0.0 else f"SRGAN s{seeds[0]}"]
        sweep.append((r_a["psnr"].mean().item(), r_a["niqe14"]))
    else:
        G_a = copy.deepcopy(G_srresnet)
        G_a.load_state_dict({k: (1 - a) * sd0[k] + a * sd1[k] if sd0[k].is_floating_point() else sd1[k]
                             for k in sd0})  # theta(alpha), batch-norm statistics too
        fn = lambda lr, G_a=G_a: srgan.super_resolve(G_a, lr)  # noqa: E731
        sweep.append((srgan.evaluate({"a": fn}, set5, SCALE, device=device)["a"]["psnr"].mean().item(), niqe_of(fn)))
    print(f"alpha {a:.2f}: Set5 PSNR (Y) {sweep[-1][0]:.2f} dB, Set14 NIQE {sweep[-1][1]:.2f}")
fig, ax = plt.subplots(figsize=(6, 4.2))
ax.plot([p for p, _ in sweep], [n for _, n in sweep], "o-", label="θ(α): SRResNet (α=0) → SRGAN (α=1)")
for a, (p, n) in zip(alphas, sweep):
    ax.annotate(f"α={a:g}", (p, n), textcoords="offset points", xytext=(4, 4), fontsize=8)
ax.plot(res["bicubic"]["psnr"].mean(), res["bicubic"]["niqe14"], "s", label="bicubic")
ax.axhline(hr_niqe["niqe14"], color="gray", ls="--", label="HR (truth): NIQE")
ax.set_xlabel("distortion: Set5 PSNR (Y) in dB  (→ better)"), ax.set_ylabel("realism: Set14 NIQE  (↓ better)")
ax.set_title("the perception–distortion plane"), ax.legend(fontsize=8)
plt.show()
measured("sweep_psnr_drop", sweep[0][0] - sweep[-1][0], unit="dB")
measured("sweep_niqe_drop", sweep[0][1] - sweep[-1][1])
steps_down = sum(b[0] <= a[0] + 1e-3 for a, b in zip(sweep, sweep[1:]))  # PSNR never rises along alpha
measured("sweep_monotone_niqe", sum(b[1] <= a[1] for a, b in zip(sweep, sweep[1:])))
print(f"along alpha: PSNR falls (or stays) in {steps_down} of {len(sweep) - 1} steps, NIQE falls in "
      f"{sum(b[1] <= a[1] for a, b in zip(sweep, sweep[1:]))} of {len(sweep) - 1}")

# %% [markdown]
# From $\alpha = 0$ to $\alpha = 1$ the Set5 PSNR drops by {rec:sweep_psnr_drop:.2f} dB and the Set14 NIQE by
# {rec:sweep_niqe_drop:.2f}, with NIQE falling in {rec:sweep_monotone_niqe} of the 4 steps along the way: one
# knob that moves a network along the trade-off, instead of one retraining per point (ESRGAN's use of it). Read
# the plot with the table and its verdicts: at this scale the two ends are close, and part of a NIQE gain may
# be the grid artefact rather than natural detail; the paper's SRGAN, trained for 10⁵ steps against VGG-19
# features, moves much further along both axes.

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3))
ax1.plot(mse_log), ax1.set_yscale("log"), ax1.set_title("SRResNet pretraining: MSE"), ax1.set_xlabel("step")
for k in ("mse", "perc"):
    ax2.plot([r[k] for r in gan_logs[seeds[0]]], label=k)
ax2.set_yscale("log"), ax2.set_title(f"SRGAN fine-tuning (seed {seeds[0]}): G's loss terms"), ax2.set_xlabel("step")
ax2.legend()
plt.show()

# %% [markdown]
# ## Summary
#
# * LR inputs are made from HR images (modcrop, bicubic ×4 with antialiasing); bicubic upsampling is the
#   baseline, and PSNR / SSIM are reported on Y with the border cropped, always said.
# * SRResNet: residual blocks at the LR resolution, sub-pixel convolution (`PixelShuffle`, ICNR-initialised) to
#   upsample; trained with MSE it maximises PSNR and produces the average of plausible answers: smooth.
# * SRGAN adds a perceptual loss on a fixed network's features (VGG-19 in the paper, a course-trained network
#   here, labelled) and a non-saturating adversarial loss; it trades PSNR for realism.
# * Realism needs its own measure, one the model was not trained against: NIQE here, a no-reference statistic
#   of natural images. Distortion and realism cannot both be optimal (Blau & Michaeli 2018); interpolating the
#   weights traces the curve between the two.
#
# **Measured at `small`** (the verified record; width 32, 8 blocks, {rec:pre_steps} MSE steps, then three SRGAN
# fine-tunings of {rec:gan_steps} steps each, on 48×48 crops): on Set5 ×4, Y channel, 4 border pixels cropped,
# SRResNet reaches {rec:psnr_srresnet:.2f} dB against bicubic's {rec:psnr_bicubic:.2f} dB; SRGAN
# {rec:psnr_srgan:pm} dB (three seeds). On realism, NIQE on Set14 (course model): true images
# {rec:niqe14_hr:.2f}, bicubic {rec:niqe14_bicubic:.2f}, SRResNet {rec:niqe14_srresnet:.2f}, SRGAN
# {rec:niqe14_srgan:pm}. The perceptual features came from the course rotation network at
# {rec:rotation_accuracy:.2f} held-out rotation accuracy (chance 0.25): a weak feature space (with VGG-19 weights
# present the same code uses them); what part of SRGAN's change comes from the perceptual term and what from the adversarial one, this run
# does not measure (that would take one more fine-tuning per term). The fine-tunings are short
# ({rec:gan_steps} steps, their loss curves above still moving): the crops show SRGAN's sharper, more textured
# edges (the butterfly's stripes) together with the grid; `course train srgan --scale full` runs the paper's
# schedule.

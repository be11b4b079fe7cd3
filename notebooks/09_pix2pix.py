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
# # 09 · Image-to-image translation: Pix2Pix
#
# Many vision problems map one image to another: label map → photo, edges → object, grey → colour, day →
# night. Pix2Pix (Isola, Zhu, Zhou, Efros 2017) treats them all with one recipe: a **conditional GAN** whose
# generator is a **U-Net**, whose discriminator judges **patches** of (input, output) pairs, and whose loss adds
# an **L1** term to the adversarial one.
#
# **You will**
# 1. build paired datasets offline: Sobel edges → Fashion-MNIST images (derived deterministically from a real
#    dataset) and side-by-side photo / label pairs in the pix2pix layout;
# 2. compare a U-Net with skip connections to the plain encoder–decoder, and see which input sizes each accepts;
# 3. compute the PatchGAN's receptive field (70×70) by formula and by gradients;
# 4. run the paper's loss ablation (L1 only / cGAN only / L1 + cGAN) and measure L1, PSNR, SSIM and FD.
#
# **Prerequisites:** chapter 01 (the D and G steps, losses on logits), chapter 02 (convolutional GANs, FD).
#
# **Scale.** `COURSE_SCALE=smoke|small|full` changes only numbers. `small` runs in a few minutes on a laptop CPU;
# the full facades run (256×256) goes through `course train pix2pix` (see the end).

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from course_lib import data, features, image_metrics, losses, paired, plotting, train
from course_lib.checks import ch09 as check
from course_lib.models import pix2pix
from course_lib.scale import get_scale

S = get_scale()
device = train.get_device()
train.set_threads()
train.seed_everything(0)
print(f"scale: {S.name}   device: {device}   torch {torch.__version__}")

# %% [markdown]
# ## 1 · A conditional GAN for paired data
#
# We have pairs $(x, y)$: an input image $x$ and the image $y$ it should become. $G$ maps $x$ to $G(x)$; $D$ sees
# a *pair* and says whether the output belongs with the input. The conditional GAN objective is
#
# $$\mathcal{L}_\text{cGAN}(G, D) = \mathbb{E}_{x,y}[\log D(x, y)] + \mathbb{E}_{x}[\log(1 - D(x, G(x)))],$$
#
# and Pix2Pix adds an L1 distance to the target, weighted by $\lambda$ ($=100$ in the paper):
#
# $$\mathcal{L}_{L1}(G) = \mathbb{E}_{x,y}\lVert y - G(x)\rVert_1, \qquad
#   G^* = \arg\min_G \max_D \; \mathcal{L}_\text{cGAN}(G, D) + \lambda\,\mathcal{L}_{L1}(G).$$
#
# L1 alone already gets the low frequencies right (where things are), but it averages over the plausible outputs
# and so blurs; the cGAN term penalises that blur, because a blurred output does not look like a real pair.
#
# > **Common misconception.** "$G$ minimises $\mathcal{L}_\text{cGAN} + \lambda \lVert y - G(x)\rVert_1$", read
# > literally, means $G$ minimises $\log(1 - D(x, G(x)))$: the saturating loss of chapter 01, whose gradient
# > vanishes exactly when $D$ rejects $G$'s outputs. Pix2Pix (like every GAN since) trains $G$ to *maximise*
# > $\log D(x, G(x))$ instead, the non-saturating form, and halves $D$'s loss to slow $D$ down. Also, Pix2Pix
# > has no noise input $z$: the paper found $G$ learned to ignore it, and uses dropout as its only randomness.
#
# ## 2 · Paired data, offline
#
# **Edges → image.** From Fashion-MNIST (a real dataset) we derive the input deterministically: the Sobel gradient
# magnitude, thresholded to a binary edge map. Images are padded from 28 to 32 pixels so that the U-Net can halve
# them five times.

# %%
n_test = S.n_eval
x_tr, y_tr = paired.edges_to_image("fashion-mnist", train=True, n=S.n_train)  # (N, 1, 32, 32) each
x_te, y_te = paired.edges_to_image("fashion-mnist", train=False, n=n_test)  # (n_test, 1, 32, 32) each
print(f"edges -> image: {len(x_tr)} training pairs, {len(x_te)} test pairs, shape {tuple(x_tr.shape[1:])}")
fig, axes = plt.subplots(2, 1, figsize=(10, 3))
plotting.image_grid(x_te[:12], nrow=12, ax=axes[0], title="input x: Sobel edges")
plotting.image_grid(y_te[:12], nrow=12, ax=axes[1], title="target y: the image")
plt.show()

# %% [markdown]
# **Side-by-side pairs.** The pix2pix datasets store each pair as one JPEG: the photo on the left, its label map
# (or outline) on the right; the task runs right → left. `paired.load_side_by_side` reads
# `<data root>/facades/train/*.jpg` (the CMP Facades layout: 400 pairs of 512×256 for training) and raises a
# clear error naming the folder and the download when it is absent. Look at what your copy holds: the grid
# below is drawn from the files, whatever they are.

# %%
side = max(32, S.width // 4)  # 32 at smoke and small, 64 at full (the full run uses 256)
try:
    fx, fy = paired.load_side_by_side("facades", size=side)  # (N, 3, side, side) each: (right half, left half)
    print(f"{len(fx)} side-by-side pairs in {paired.pair_files('facades')[0].parent}")
    fig, axes = plt.subplots(2, 1, figsize=(10, 2.6))
    plotting.image_grid(fx[:10], nrow=10, ax=axes[0], title="input x (right half)")
    plotting.image_grid(fy[:10], nrow=10, ax=axes[1], title="target y (left half)")
    plt.show()
except data.DataMissingError as e:
    fx = None
    print(e)

# %% [markdown]
# ## 3 · The generator: U-Net against encoder–decoder
#
# Both halve the image at every layer down to a 1×1 bottleneck and grow it back with transposed convolutions.
# The **U-Net** also concatenates each encoder layer's output to the decoder layer of the same size, so the
# position of every edge is handed straight to the output instead of being squeezed through the bottleneck. The
# **encoder–decoder** is the same network without those skips.

# %%
width = S.width // 8
unet = pix2pix.UNet(in_channels=1, out_channels=1, depth=5, width=width)
encdec = pix2pix.UNet(in_channels=1, out_channels=1, depth=5, width=width, skips=False)
for name, net in [("U-Net", unet), ("encoder-decoder", encdec)]:
    print(f"{name:16s} {sum(p.numel() for p in net.parameters()):>9,} parameters;  "
          + ",  ".join(f"{s}x{s} -> {tuple(net(torch.zeros(2, 1, s, s)).shape[-2:])}" for s in (32, 64, 96)))
try:
    unet(torch.zeros(1, 1, 28, 28))
except pix2pix.SizeError as e:
    print("28x28 ->", e)

# %% [markdown]
# ## 4 · The discriminator: PatchGAN and its receptive field
#
# Instead of one verdict per image, the PatchGAN outputs a grid of logits, each judging one patch of the pair;
# the loss averages over them. It models the image as a field of independent patches, so L1 takes care of the
# large-scale layout and $D$ of local texture and sharpness. How large is a patch? Walking back from one output
# unit, a layer with kernel $k$ and stride $s$ turns a span of $r$ units into $(r-1)s + k$ input units. For the
# paper's discriminator (three 4×4 stride-2 layers, then two 4×4 stride-1 layers):

# %% tags=["exercise"]
def receptive_field(layers):
    """layers: [(kernel, stride), ...] from the input to the output -> the receptive field side in pixels."""
    ### BEGIN SOLUTION
    r = 1
    for k, s in reversed(layers):
        r = (r - 1) * s + k
    return r
    ### END SOLUTION


# %% tags=["check"]
check.receptive_field(receptive_field)

# %%
D70 = pix2pix.PatchGAN(in_channels=6, n_layers=3)
layers = [(m.kernel_size[0], m.stride[0]) for m in D70.modules() if isinstance(m, torch.nn.Conv2d)]
print(f"PatchGAN layers (kernel, stride): {layers}")
print(f"receptive field: by formula {receptive_field(layers)}, package {pix2pix.receptive_field(D70)}, "
      f"measured by gradients {pix2pix.receptive_field_measured(D70, x_channels=3, size=256)}")
print(f"on a 256x256 pair it outputs a {tuple(D70(torch.zeros(1, 3, 256, 256), torch.zeros(1, 3, 256, 256)).shape[-2:])} "
      f"grid of patch logits")

# %%
# where one output unit of the 70x70 PatchGAN looks: |d logit / d input| on a 256x256 input
D70.eval()
inp = torch.randn(1, 3, 256, 256, requires_grad=True)
out = D70(inp, torch.randn(1, 3, 256, 256))  # (1, 1, 30, 30)
out[0, 0, 15, 15].backward()
sal = inp.grad.abs().sum(1)[0]  # (256, 256)
fig, ax = plt.subplots(figsize=(3.5, 3.5))
ax.imshow(sal > 0, cmap="gray")
ax.set_title("input pixels that reach\none patch logit (70x70)")
ax.set_axis_off()
plt.show()
for n in (0, 1, 2, 3, 4):
    print(f"n_layers={n}: {pix2pix.receptive_field(pix2pix.PatchGAN(n_layers=n))}x{pix2pix.receptive_field(pix2pix.PatchGAN(n_layers=n))} patches")

# %% [markdown]
# The paper compares 1×1 ("PixelGAN"), 16×16, 70×70 and 286×286 (the whole image) and finds 70×70 the best
# trade-off: smaller patches give artefacts, the full-image GAN has more parameters and is not better.
#
# ## 5 · The step
#
# $D$ is updated on $(x, y)$ against $(x, G(x))$ with $G(x)$ detached; then $G$ on the non-saturating cGAN loss
# plus $\lambda$ L1, through the updated $D$. **Exercise.** Write $G$'s loss from $D$'s patch logits on
# $(x, G(x))$, the output and the target.

# %% tags=["exercise"]
def pix2pix_g_loss(fake_logits, fake, target, lam):
    ### BEGIN SOLUTION
    return F.softplus(-fake_logits).mean() + lam * (fake - target).abs().mean()
    ### END SOLUTION


# %% tags=["check"]
check.pix2pix_g_loss(pix2pix_g_loss)


# %%
def step(G, D, opt_G, opt_D, x, y, lam=100.0):
    fake = G(x)  # (B, Cy, S, S)
    # D: real pair -> 1, fake pair -> 0 on every patch; detach so this loss moves D only; halved as in the paper
    loss_D = 0.5 * losses.d_loss(D(x, y), D(x, fake.detach()))
    opt_D.zero_grad(set_to_none=True)
    loss_D.backward()
    opt_D.step()
    loss_G = pix2pix_g_loss(D(x, fake), fake, y, lam)
    opt_G.zero_grad(set_to_none=True)
    loss_G.backward()
    opt_G.step()
    return loss_D.detach(), loss_G.detach()


# the package's pix2pix.pix2pix_step is this step: same models and seed -> same parameters after a step
def tiny():
    train.seed_everything(2)
    G = pix2pix.UNet(in_channels=1, out_channels=1, depth=5, width=4, dropout=0.0)
    D = pix2pix.PatchGAN(in_channels=2, width=4, n_layers=2)
    return G, D, *pix2pix.optimizers(G, D)


G1, D1, oG1, oD1 = tiny()
step(G1, D1, oG1, oD1, x_tr[:8], y_tr[:8])
G2, D2, oG2, oD2 = tiny()
pix2pix.pix2pix_step(G2, D2, oG2, oD2, x_tr[:8], y_tr[:8])
for a, b in zip([*G1.parameters(), *D1.parameters()], [*G2.parameters(), *D2.parameters()]):
    torch.testing.assert_close(a, b)
print("inline step == pix2pix.pix2pix_step")

# %% [markdown]
# ## 6 · The loss ablation, and U-Net vs encoder–decoder
#
# Four runs on edges → Fashion-MNIST with the same data, steps and seed: the U-Net with L1 only, cGAN only and
# L1 + cGAN, and the encoder–decoder with L1 + cGAN. In `pix2pix_step`, "L1 only" means no $D$ at all, and
# "cGAN only" means $\lambda = 0$.

# %%
steps, batch = S.image_steps // 3, S.batch_size // 2
runs = {  # name: (skips, use D, lambda)
    "L1 only": (True, False, 100.0),
    "cGAN only": (True, True, 0.0),
    "L1 + cGAN": (True, True, 100.0),
    "enc-dec, L1 + cGAN": (False, True, 100.0),
}


def run(skips, use_D, lam):
    train.seed_everything(0)
    G = pix2pix.UNet(in_channels=1, out_channels=1, depth=5, width=width, skips=skips).to(device)
    D = pix2pix.PatchGAN(in_channels=2, width=width, n_layers=2).to(device) if use_D else None
    opt_G, opt_D = pix2pix.optimizers(G, D)
    batches = data.Batches(x_tr.to(device), y_tr.to(device), batch_size=batch, seed=0)
    for _ in tqdm(range(steps), desc=f"skips={skips} D={use_D} lambda={lam:g}", mininterval=1.0):
        x, y = next(batches)
        pix2pix.pix2pix_step(G, D, opt_G, opt_D, x, y, lam=lam)
    return G


print(f"{steps} steps of batch {batch} per run; the discriminator here is a {pix2pix.receptive_field(pix2pix.PatchGAN(n_layers=2))}x"
      f"{pix2pix.receptive_field(pix2pix.PatchGAN(n_layers=2))} PatchGAN (the 70x70 one is larger than these 32x32 images)")
outputs = {name: pix2pix.translate(Gm, x_te) for name, Gm in ((n, run(*cfg)) for n, cfg in runs.items())}

# %%
fig, axes = plt.subplots(len(outputs) + 2, 1, figsize=(10, 1.25 * (len(outputs) + 2)))
plotting.image_grid(x_te[:12], nrow=12, ax=axes[0], title="input edges")
for ax, (name, out) in zip(axes[1:], outputs.items()):
    plotting.image_grid(out[:12], nrow=12, ax=ax, title=name)
plotting.image_grid(y_te[:12], nrow=12, ax=axes[-1], title="target")
plt.tight_layout()
plt.show()

# %% [markdown]
# **Measured.** L1 and PSNR reward being close to the target pixel by pixel (they favour the blurry average);
# SSIM compares local structure; FD compares the *distribution* of outputs with that of real images in the
# features of the course's Fashion-MNIST classifier (not Inception: the number is labelled so). All on the 28×28
# image inside the padding, on held-out test pairs.

# %%
net = features.course_classifier("fashion-mnist", device=device)
unpad = lambda t: paired.crop_to(t, 28)  # noqa: E731  (B, 1, 28, 28)
f_real = features.extract_features(net, unpad(y_te))  # (n_test, F)
print(f"{'':20s} {'L1':>7s} {'PSNR dB':>8s} {'SSIM':>6s}   {features.fd_name(net)}")
table = {}
for name, out in outputs.items():
    a, b = data.to_unit(unpad(out)), data.to_unit(unpad(y_te))  # [0, 1]
    l1 = (unpad(out) - unpad(y_te)).abs().mean().item()
    ps, ss = image_metrics.psnr(a, b).mean().item(), image_metrics.ssim(a, b).mean().item()
    fd = features.score(net, f_real, features.extract_features(net, unpad(out)), verbose=False)["fd"]
    table[name] = (l1, ps, ss, fd)
    print(f"{name:20s} {l1:7.4f} {ps:8.2f} {ss:6.3f}   {fd:9.3f}")

# %% [markdown]
# What to look for (at `small`; at `smoke` the networks have barely started): **L1 only** has the best or
# near-best L1 and PSNR but soft, grey textures; **cGAN only** produces sharper, higher-contrast garments that
# need not match the target (worse L1 and PSNR, sometimes shapes that ignore the edges); **L1 + cGAN** keeps
# L1's fidelity and moves FD towards the real distribution. The **encoder–decoder** must carry every edge
# position through a 1×1 bottleneck and loses detail: compare its row with the U-Net's. The paper's own
# ablation shows the same pattern on facades and cityscapes. In the course's `small` run (500 steps per run, a
# U-Net 16 channels wide) the table read L1 / FD: L1 only 0.214 / 54, cGAN only 0.244 / 33, L1 + cGAN 0.212 / 40,
# encoder–decoder 0.267 / 79: the cGAN term buys realism (FD), L1 keeps fidelity, and the skips matter most.
#
# ## 7 · Side-by-side pairs: label map → photo
#
# The same step on the side-by-side pairs from §2 (the last 10 pairs held out), U-Net with L1 + cGAN,
# at a side the scale can afford. The 70×70 PatchGAN needs larger images than these; its 3-layer version is used
# at full scale.

# %%
if fx is not None:
    depth = side.bit_length() - 1  # halve down to 1x1
    train.seed_everything(0)
    G = pix2pix.UNet(in_channels=3, out_channels=3, depth=depth, width=width).to(device)
    D = pix2pix.PatchGAN(in_channels=6, width=width, n_layers=2).to(device)
    opt_G, opt_D = pix2pix.optimizers(G, D)
    batches = data.Batches(fx[:-10].to(device), fy[:-10].to(device), batch_size=min(batch, len(fx) - 10), seed=0)
    for _ in tqdm(range(steps), desc=f"pairs {side}x{side}", mininterval=1.0):
        x, y = next(batches)
        pix2pix.pix2pix_step(G, D, opt_G, opt_D, x, y)
    out = pix2pix.translate(G, fx[-10:])  # (10, 3, side, side)
    a, b = data.to_unit(out), data.to_unit(fy[-10:])
    print(f"held-out pairs ({side}x{side}): L1 {(out - fy[-10:]).abs().mean():.4f}   "
          f"PSNR {image_metrics.psnr(a, b).mean():.2f} dB   SSIM {image_metrics.ssim(a, b).mean():.3f}")
    fig, axes = plt.subplots(3, 1, figsize=(10, 3.6))
    for ax, t, title in zip(axes, (fx[-10:], out, fy[-10:]), ("input", "G(x)", "target")):
        plotting.image_grid(t, nrow=10, ax=ax, title=title)
    plt.tight_layout()
    plt.show()

# %% [markdown]
# With 90 training pairs and a few minutes of CPU, expect the layout and colours of the target class, not
# detail. FID on facades needs Inception features (there is no course classifier for photographs); the full run
# computes FID (Inception) when its weights are present:
#
# ```bash
# course train pix2pix --dataset facades --scale full      # 256x256, U-Net depth 8, 70x70 PatchGAN, lambda 100
# course train pix2pix --dataset facades --scale full --no-skips        # the encoder-decoder
# course train pix2pix --dataset edges-fashion-mnist --loss l1          # the ablation, one run per loss
# ```
#
# It uses bf16 autocast on CUDA, checkpoints and resumes, logs losses, saves sample grids, and ends with L1,
# PSNR, SSIM and FID. Target on facades: FID ≤ 125 (mmgeneration's reproduction 125.0, the official model 119.1).
#
# ## Summary
#
# * Pix2Pix is a conditional GAN on pairs: $D(x, y)$ sees the input with the output, $G$ has no noise input.
# * The U-Net's skips carry low-level detail around the bottleneck; the encoder–decoder must squeeze it through.
# * The PatchGAN judges overlapping 70×70 patches: receptive field $r \leftarrow (r-1)s + k$, from the output back.
# * L1 fixes the layout but blurs; the cGAN term sharpens; together they do both. Measure both kinds of quality:
#   distortion (L1, PSNR, SSIM) and realism (FD / FID).
#
# Next: **chapter 10 — super-resolution**, where the same tension between distortion and realism is measured.

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
# 4. run the paper's loss ablation (L1 only / cGAN only / L1 + cGAN) over three seeds and measure L1, PSNR, SSIM
#    and FD;
# 5. look at the PatchGAN's map of verdicts on a real and a generated pair.
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
from course_lib.claims import claim, measured
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
# L1 alone already gets the low frequencies right (where things are), but where several outputs are plausible
# for one input its minimiser is their per-pixel *median* (L2's would be their mean): still a compromise between
# the answers, so it blurs. The cGAN term penalises that blur, because a blurred output does not look like a real
# pair.
#
# > **Common misconception.** "$G$ minimises $\mathcal{L}_\text{cGAN} + \lambda \lVert y - G(x)\rVert_1$", read
# > literally, means $G$ minimises $\log(1 - D(x, G(x)))$: the saturating loss of chapter 01, whose gradient
# > vanishes exactly when $D$ rejects $G$'s outputs. Pix2Pix, as Goodfellow et al. (2014) recommend, trains $G$
# > to *maximise* $\log D(x, G(x))$ instead, the non-saturating form, and halves $D$'s loss to slow $D$ down.
# > (Not every GAN does this: chapter 03's hinge and WGAN-GP losses have their own $G$ losses.) Also, Pix2Pix
# > has no noise input $z$: the paper found $G$ learned to ignore it, and uses dropout as its only randomness.
#
# The data flow of one training step: $D$ sees the condition $x$ with either the target $y$ or $G$'s output;
# $G$'s loss has two terms, one through $D$ and one straight to the target.

# %%
plotting.flow_diagram(
    {"x": (0.06, 0.5, "input x\n(B, Cx, S, S)"), "G": (0.25, 0.5, "G: U-Net\n(dropout = its noise)"),
     "fake": (0.45, 0.8, "G(x)\n(B, Cy, S, S)"), "y": (0.45, 0.2, "target y\n(B, Cy, S, S)"),
     "D": (0.68, 0.5, "D: PatchGAN on\ncat(x, ·) → (B, 1, P, P)"),
     "loss_D": (0.91, 0.8, "L_D = ½·BCE per patch:\n(x, y) → 1, (x, G(x)) → 0"),
     "loss_G": (0.91, 0.2, "L_G = −log D(x, G(x))\n+ λ·|y − G(x)|₁")},
    [("x", "G", ""), ("G", "fake", ""), ("fake", "D", "G(x).detach() for L_D;\nG(x) for L_G, D frozen"),
     ("y", "D", "(x, y)"), ("D", "loss_D", "patch logits"), ("D", "loss_G", "D(x, G(x))"),
     ("y", "loss_G", "L1 against G(x)")],
    title="Pix2Pix: a conditional GAN on pairs (boxes: tensors and networks; shaded: losses)", size=(12.0, 3.6))
plt.show()

# %% [markdown]
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
# below is drawn from the files, whatever they are. (The offline copy on the course's test machines is *not* CMP
# Facades, despite its folder: 100 pairs of a person's photo and its contour sketch, see `data/README.md`; there
# the task is sketch → photo.)

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
print("n_layers  patch (formula)  logit map on 32x32  pixels one central logit sees on 32x32 (measured)")
for n in (0, 1, 2, 3):
    Dn = pix2pix.PatchGAN(in_channels=2, width=4, n_layers=n)
    P = Dn(torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 32, 32)).shape[-1]
    print(f"{n:8d}  {pix2pix.receptive_field(Dn):>9d}x{pix2pix.receptive_field(Dn):<6d}  {P:>9d}x{P:<8d}  "
          f"{pix2pix.receptive_field_measured(Dn, x_channels=1, size=32):>13d}x{pix2pix.receptive_field_measured(Dn, x_channels=1, size=32)}")

# %% [markdown]
# The paper compares 1×1 ("PixelGAN"), 16×16, 70×70 and 286×286 (the whole image) and finds 70×70 the best
# trade-off: smaller patches give artefacts, the full-image GAN has more parameters and is not better.
#
# A patch is a fraction of the *image*: on the 32×32 images of this chapter's small runs, the 34×34 PatchGAN
# (`n_layers=2`) already sees 31×31 of the 32×32 pixels from one logit, so it is an image-level discriminator.
# The runs below use `n_layers=1`: 16×16 patches (the paper's own 16×16 PatchGAN), a 14×14 map of verdicts on a
# 32×32 pair, half the image per verdict, as 70×70 is about a quarter of a 256×256 image side.
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
# Four runs on edges → Fashion-MNIST with the same data and steps: the U-Net with L1 only, cGAN only and
# L1 + cGAN, and the encoder–decoder with L1 + cGAN; each one with three seeds, since a difference between two
# runs of one seed may be the seed's. In `pix2pix_step`, "L1 only" means no $D$ at all, and "cGAN only" means
# $\lambda = 0$. $D$ is the 16×16 PatchGAN.
#
# **Measured**, on held-out test pairs, on the 28×28 image inside the padding: L1 and PSNR reward being close to
# the target pixel by pixel (they favour the blurry compromise); SSIM compares local structure; FD compares the
# *distribution* of outputs with that of real images in the features of the course's Fashion-MNIST classifier
# (not Inception: the number is labelled so). `pix2pix.translate` keeps dropout on (the paper's noise) and uses
# the batch-norm statistics gathered in training, so each output depends on its own input only. (The paper's
# test-time rule, the statistics of the test batch, is instance normalisation at its batch size of 1;
# applied to a batch of 64 test images it would make each output depend on the other 63.)

# %%
steps, batch, seeds = S.image_steps // 4, S.batch_size // 2, (0, 1, 2)
runs = {  # name: (skips, use D, lambda)
    "L1 only": (True, False, 100.0),
    "cGAN only": (True, True, 0.0),
    "L1 + cGAN": (True, True, 100.0),
    "enc-dec, L1 + cGAN": (False, True, 100.0),
}
net = features.course_classifier("fashion-mnist", device=device)
unpad = lambda t: paired.crop_to(t, 28)  # noqa: E731  (B, 1, 28, 28)
f_real = features.extract_features(net, unpad(y_te))  # (n_test, F)


def run(skips, use_D, lam, seed):
    train.seed_everything(seed)
    G = pix2pix.UNet(in_channels=1, out_channels=1, depth=5, width=width, skips=skips).to(device)
    D = pix2pix.PatchGAN(in_channels=2, width=width, n_layers=1).to(device) if use_D else None
    opt_G, opt_D = pix2pix.optimizers(G, D)
    batches = data.Batches(x_tr.to(device), y_tr.to(device), batch_size=batch, seed=seed)
    for _ in tqdm(range(steps), desc=f"seed {seed} skips={skips} D={use_D} lambda={lam:g}", mininterval=1.0):
        x, y = next(batches)
        pix2pix.pix2pix_step(G, D, opt_G, opt_D, x, y, lam=lam)
    return G, D


def quality(out):
    """L1, PSNR, SSIM and FD of translated test inputs against their targets."""
    a, b = data.to_unit(unpad(out)), data.to_unit(unpad(y_te))  # [0, 1]
    fd = features.score(net, f_real, features.extract_features(net, unpad(out)), verbose=False)["fd"]
    return {"L1": (unpad(out) - unpad(y_te)).abs().mean().item(), "PSNR": image_metrics.psnr(a, b).mean().item(),
            "SSIM": image_metrics.ssim(a, b).mean().item(), "FD": fd}


print(f"{steps} steps of batch {batch} per run, seeds {seeds}; D: a "
      f"{pix2pix.receptive_field(pix2pix.PatchGAN(n_layers=1))}x{pix2pix.receptive_field(pix2pix.PatchGAN(n_layers=1))}"
      f" PatchGAN")
table = {name: {k: [] for k in ("L1", "PSNR", "SSIM", "FD")} for name in runs}  # per seed
outputs, pairs_D = {}, {}  # seed 0's outputs; per seed, the L1 + cGAN run's (G, D)
for seed in seeds:
    for name, cfg in runs.items():
        Gm, Dm = run(*cfg, seed)
        out = pix2pix.translate(Gm, x_te)  # (n_test, 1, 32, 32)
        for k, v in quality(out).items():
            table[name][k].append(v)
        if seed == seeds[0]:
            outputs[name] = out
        if name == "L1 + cGAN":
            pairs_D[seed] = (Gm, Dm)

mean_sd = lambda v: f"{torch.tensor(v).mean():.3f} ± {torch.tensor(v).std():.3f}"  # noqa: E731
print(f"{'':20s} {'L1':>15s} {'PSNR dB':>15s} {'SSIM':>15s}   {features.fd_name(net)} (mean ± sd over {len(seeds)} seeds)")
for name, t in table.items():
    print(f"{name:20s} " + " ".join(f"{mean_sd(t[k]):>15s}" for k in ("L1", "PSNR", "SSIM")) + f"   {mean_sd(t['FD'])}")

# %%
fig, axes = plt.subplots(len(outputs) + 2, 1, figsize=(10, 1.25 * (len(outputs) + 2)))
plotting.image_grid(x_te[:12], nrow=12, ax=axes[0], title="input edges")
for ax, (name, out) in zip(axes[1:], outputs.items()):
    plotting.image_grid(out[:12], nrow=12, ax=ax, title=f"{name} (seed {seeds[0]})")
plotting.image_grid(y_te[:12], nrow=12, ax=axes[-1], title="target")
plt.tight_layout()
plt.show()

# %%
# The phenomena of the ablation, as claims over the seeds (each value: one seed's difference between two runs)
diff = lambda a, b, k: [u - v for u, v in zip(table[a][k], table[b][k])]  # noqa: E731
for name, t in table.items():
    key = name.lower().replace(" + ", "_").replace(", ", "_").replace(" ", "_").replace("-", "")
    for k in ("L1", "PSNR", "SSIM", "FD"):
        measured(f"{k.lower()}_{key}", t[k])
claim("cgan_term_lowers_fd", diff("L1 only", "cGAN only", "FD"), ">", 5.0,
      "the cGAN loss moves outputs towards real garments: FD(L1 only) - FD(cGAN only), course classifier, "
      "mean of 3 seeds")
claim("l1_term_keeps_fidelity", diff("cGAN only", "L1 + cGAN", "L1"), ">", 0.005,
      "without the L1 term the outputs stray from the target: L1(cGAN only) - L1(L1 + cGAN), mean of 3 seeds")
claim("skips_lower_l1", diff("enc-dec, L1 + cGAN", "L1 + cGAN", "L1"), ">", 0.02,
      "the U-Net's skips keep detail: L1(encoder-decoder) - L1(U-Net), both L1 + cGAN, mean of 3 seeds")
measured("fd_l1_only_minus_l1_cgan", diff("L1 only", "L1 + cGAN", "FD"))


def verdict(values, what):
    """What three seeds allow one to conclude about a difference (a - b per seed)."""
    t = torch.tensor(values)
    m, sd = t.mean().item(), t.std().item()
    if (t > 0).all() and m > 2 * sd:
        return f"{what}: lower in every seed ({m:.3g} ± {sd:.2g}): evidence that it helps"
    if (t < 0).all() and -m > 2 * sd:
        return f"{what}: higher in every seed ({m:.3g} ± {sd:.2g}): evidence that it hurts"
    return f"{what}: {m:.3g} ± {sd:.2g} over the seeds: no evidence either way at this scale"


print(verdict(diff("L1 only", "L1 + cGAN", "FD"), "adding the cGAN term to L1, FD(L1 only) - FD(L1 + cGAN)"))
print(verdict(diff("L1 only", "L1 + cGAN", "L1"), "adding the cGAN term to L1, L1(L1 only) - L1(L1 + cGAN)"))

# %% [markdown]
# What the runs show (at `small`, three seeds; at `smoke` the networks have barely started):
#
# * **The cGAN loss buys realism.** Alone (**cGAN only**) it brings FD down to {rec:fd_cgan_only:pm}, against
#   {rec:fd_l1_only:pm} for L1 only (course classifier): the outputs' distribution moves towards that of real
#   garments.
# * **L1 keeps fidelity.** Without it (**cGAN only**) the outputs are crisp, contrasty garments that need not
#   match the target (L1 {rec:l1_cgan_only:pm} against {rec:l1_l1_cgan:pm} with it): $D$ judges whether a pair is
#   plausible, not whether the output is *this* input's target.
# * **The skips matter most.** The **encoder–decoder** must carry every edge position through a 1×1 bottleneck:
#   L1 {rec:l1_encdec_l1_cgan:pm} and FD {rec:fd_encdec_l1_cgan:pm}, against the U-Net's {rec:l1_l1_cgan:pm}
#   and {rec:fd_l1_cgan:pm}; compare its row with the U-Net's.
# * **L1 only against L1 + cGAN** is the paper's headline comparison, and here the weakest: FD
#   {rec:fd_l1_only:pm} against {rec:fd_l1_cgan:pm}, L1 {rec:l1_l1_only:pm} against {rec:l1_l1_cgan:pm}, PSNR
#   {rec:psnr_l1_only:pm} against {rec:psnr_l1_cgan:pm} dB; the verdict printed above says what the three seeds
#   allow. With $\lambda = 100$ the L1 term dominates $G$'s loss, and a few hundred steps with a 16×16
#   PatchGAN leave the adversarial term little room: on 32×32 garments whose outlines pin down most of the
#   shape there is little blur for it to remove. The paper's ablation shows the gain in sharpness on facades
#   and cityscapes at 256×256, after 200 epochs; the full-scale run (§8) is where to look for it.
#
# ## 7 · What the PatchGAN sees: its map of verdicts
#
# $D$'s output is not one number but a map: one logit per 16×16 patch of the pair. Below, seed 0's L1 + cGAN
# discriminator, after training, on a real pair $(x, y)$ and on the generated pair $(x, G(x))$ for the same
# inputs; bright = "real" ($\sigma(\text{logit})$ near 1). It is evaluated in eval mode (its running statistics).

# %%
G0, D0 = pairs_D[seeds[0]]
k = 6
D0.eval()
with torch.no_grad():
    fake0 = pix2pix.translate(G0, x_te)  # (n_test, 1, 32, 32)
    p_real = torch.sigmoid(D0(x_te.to(device), y_te.to(device))).cpu()  # (n_test, 1, 14, 14)
    p_fake = torch.sigmoid(D0(x_te.to(device), fake0.to(device))).cpu()  # (n_test, 1, 14, 14)
fig, axes = plt.subplots(5, k, figsize=(1.6 * k, 8.2))
rows = [(x_te, "input x"), (y_te, "target y"), (p_real, "D on (x, y)"), (fake0, "G(x)"), (p_fake, "D on (x, G(x))")]
for r, (t, title) in enumerate(rows):
    for c in range(k):
        ax = axes[r, c]
        if title.startswith("D"):
            ax.imshow(t[c, 0], cmap="magma", vmin=0, vmax=1)
            ax.set_title(f"{title}\nmean {t[c].mean():.2f}", fontsize=8)
        else:
            ax.imshow(data.to_unit(t[c, 0]), cmap="gray", vmin=0, vmax=1)
            ax.set_title(title, fontsize=8)
        ax.set_axis_off()
plt.suptitle("the 16x16 PatchGAN's 14x14 map of patch verdicts, sigma(logit)")
plt.tight_layout()
plt.show()
D0.train()
gap = []
for seed, (Gs_, Ds_) in pairs_D.items():
    Ds_.eval()
    with torch.no_grad():
        out_s = pix2pix.translate(Gs_, x_te).to(device)  # (n_test, 1, 32, 32)
        gap.append((torch.sigmoid(Ds_(x_te.to(device), y_te.to(device))).mean()
                    - torch.sigmoid(Ds_(x_te.to(device), out_s)).mean()).item())
    Ds_.train()
measured("patch_real_minus_fake", gap)
print(f"mean sigma(logit) on real pairs minus on generated pairs, test set, per seed: {[round(g, 3) for g in gap]}")

# %% [markdown]
# The map localises the verdict: each value judges one 16×16 patch of the pair, so a dark region says which
# part of the output $D$ finds wrong, and that per-patch verdict is what the loss averages and what $G$'s
# gradient comes from: every patch pushes its own part of the output. Averaged over the test set, the mean
# σ(logit) on real pairs minus that on generated pairs is {rec:patch_real_minus_fake:pm} (three seeds, each
# printed above). A small gap on average is what the game drives towards (a $D$ that cannot tell them apart),
# while single patches can still be judged very differently: read the maps, not only the mean.
#
# ## 8 · Side-by-side pairs
#
# The same step on the side-by-side pairs from §2 (label map → photo for CMP Facades; sketch → photo for the
# offline copy), the last 10 pairs held out, U-Net with L1 + cGAN, at a side the scale can afford, with the
# 16×16 PatchGAN. The 70×70 PatchGAN needs larger images than these; it is used at full scale.

# %%
if fx is not None:
    depth = side.bit_length() - 1  # halve down to 1x1
    train.seed_everything(0)
    G = pix2pix.UNet(in_channels=3, out_channels=3, depth=depth, width=width).to(device)
    D = pix2pix.PatchGAN(in_channels=6, width=width, n_layers=1).to(device)
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
# With the pairs present less the 10 held out (90 of the offline copy's 100; CMP Facades has 400) and a few
# minutes of CPU, expect the layout (the silhouette, where things are), not detail or faithful colours. FID on
# facades needs Inception features (there is no course classifier for photographs); the full run computes FID
# (Inception) when its weights are present:
#
# ```bash
# course train pix2pix --dataset facades --scale full      # 256x256, U-Net depth 8, 70x70 PatchGAN, lambda 100
# course train pix2pix --dataset facades --scale full --no-skips        # the encoder-decoder
# course train pix2pix --dataset edges-fashion-mnist --loss l1          # the ablation, one run per loss
# ```
#
# It trains as the paper does: batch 1, Adam (2e-4, β₁ = 0.5), random jitter (each pair resized to 286×286 and
# a random 256×256 crop taken, the same for input and target) and mirroring, and a learning rate constant for the
# first half of the steps and decayed linearly to zero over the second half; at batch 1 it translates at test
# time with the test image's own batch statistics, as the paper does. It uses bf16 autocast on CUDA, checkpoints
# and resumes, logs losses, saves sample grids, and ends with L1, PSNR, SSIM and FID. Target on facades: FID ≤ 125 (mmgeneration's reproduction 125.0, the official model 119.1).
#
# ## Summary
#
# * Pix2Pix is a conditional GAN on pairs: $D(x, y)$ sees the input with the output, $G$ has no noise input.
# * The U-Net's skips carry low-level detail around the bottleneck; the encoder–decoder must squeeze it through.
# * The PatchGAN judges overlapping 70×70 patches: receptive field $r \leftarrow (r-1)s + k$, from the output back.
#   A patch is a fraction of the image: on 32×32 images the 16×16 PatchGAN plays that role; its map of verdicts
#   shows where $D$ finds the output wrong.
# * L1 fixes the layout (its minimiser, the median of the plausible outputs, still blurs); the cGAN term moves
#   the outputs towards real ones; together they do both. Measure both kinds of quality, over seeds: distortion
#   (L1, PSNR, SSIM) and realism (FD / FID).
#
# Next: **chapter 10 — super-resolution**, where the same tension between distortion and realism is measured.

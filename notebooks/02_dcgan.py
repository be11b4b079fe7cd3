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
# # 02 · DCGAN
#
# Chapter 01 trained an MLP GAN on flattened digits. Images have structure an MLP ignores: nearby pixels belong
# together and the same stroke can appear anywhere. DCGAN (Radford, Metz & Chintala, 2016) made GANs
# convolutional with five architecture guidelines, and for years it was the baseline every GAN paper compared to.
# This chapter builds it, trains it on MNIST, removes one guideline to measure what it was for, and introduces
# the numbers the rest of the course reports: the Fréchet distance and KID.
#
# **You will**
# 1. build G and D from the five guidelines, knowing why each one is there, and draw the data flow of one step;
# 2. train DCGAN on MNIST and watch samples appear over training;
# 3. predict, then measure over three seeds, what removing BatchNorm does;
# 4. walk the latent space by interpolation;
# 5. evaluate samples with FD and KID on features of a classifier the course trains, against held-out real
#    images as the floor.
#
# **Prerequisites:** chapter 01 (the GAN game, the D step and the G step, non-saturating loss); convolutions.
#
# **Scale.** Numbers quoted in the text come from the verified `small` run (`results/record.md`; a few minutes
# on a laptop CPU), and the claims the text makes are checked in the notebook. At `full`, the same
# model trains on CIFAR-10 through `course train dcgan --dataset cifar10 --scale full` (a GPU, bf16), evaluated
# with Inception features (FID).

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from course_lib import data, features, losses, metrics, plotting, train
from course_lib.checks import ch02 as check
from course_lib.claims import claim, measured
from course_lib.models import dcgan
from course_lib.scale import get_scale

S = get_scale()
device = train.get_device()
train.set_threads()
train.seed_everything(0)
print(f"scale: {S.name}   device: {device}   torch {torch.__version__}")

# %% [markdown]
# ## 1 · The five guidelines
#
# | # | guideline | why |
# |---|---|---|
# | 1 | strided convolutions in D, fractionally-strided (transposed) ones in G, **no pooling** | the network learns its own down- and up-sampling instead of a fixed max/average |
# | 2 | **BatchNorm** in G and D, except G's output and D's input | normalised activations keep gradients alive through the stack and stop G from collapsing every $z$ to one image early on; on the output/input layers it made samples oscillate |
# | 3 | **no fully connected hidden layers** | $z$ is projected straight to a small feature map; D ends in a convolution. Fewer parameters, spatial structure kept |
# | 4 | **ReLU** in G, **Tanh** at its output | the output is bounded in $[-1,1]$, like the data after normalisation |
# | 5 | **LeakyReLU(0.2)** in D | the paper found it "worked well, especially for higher resolution"; an intuition: D also passes gradient for negative pre-activations, and D's input gradient is all G learns from |
#
# For 28×28 MNIST, G projects $z$ to a 7×7 map, then doubles the side twice; D mirrors it. A transposed
# convolution with kernel $k$, stride $s$, padding $p$ maps a side $h$ to $(h-1)s - 2p + k$, so $(4, 2, 1)$
# doubles it exactly.

# %% tags=["exercise"]
def transposed_conv_size(h, kernel, stride, padding):
    """Output side of nn.ConvTranspose2d(kernel, stride, padding) on an h×h input."""
    ### BEGIN SOLUTION
    return (h - 1) * stride - 2 * padding + kernel
    ### END SOLUTION


# %% tags=["check"]
check.transposed_conv_size(transposed_conv_size)

# %% [markdown]
# Here are G and D for MNIST, written out layer by layer (`w` is the base width, `Z` the latent size):

# %%
Z = 100
w = S.width // 8  # base width: 16 at small; `course train dcgan` uses 64 on CIFAR-10 at full


def dcgan_generator(Z, w, batchnorm=True):
    bn = (lambda c: nn.BatchNorm2d(c)) if batchnorm else (lambda c: nn.Identity())
    return nn.Sequential(
        nn.ConvTranspose2d(Z, 2 * w, 7, 1, 0, bias=not batchnorm), bn(2 * w), nn.ReLU(True),  # (B, 2w, 7, 7)
        nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=not batchnorm), bn(w), nn.ReLU(True),      # (B, w, 14, 14)
        nn.ConvTranspose2d(w, 1, 4, 2, 1), nn.Tanh(),                                          # (B, 1, 28, 28)
    )


def dcgan_discriminator(w, batchnorm=True):
    bn = (lambda c: nn.BatchNorm2d(c)) if batchnorm else (lambda c: nn.Identity())
    return nn.Sequential(
        nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.2, True),                                    # (B, w, 14, 14)
        nn.Conv2d(w, 2 * w, 4, 2, 1, bias=not batchnorm), bn(2 * w), nn.LeakyReLU(0.2, True),  # (B, 2w, 7, 7)
        nn.Conv2d(2 * w, 1, 7, 1, 0), nn.Flatten(),                                            # (B, 1): a logit
    )


G_net, D_net = dcgan_generator(Z, w), dcgan_discriminator(w)
z = torch.randn(8, Z)  # (B, Z)
x = G_net(z[:, :, None, None])  # (B, Z, 1, 1) -> (B, 1, 28, 28)
print(f"G: {tuple(z.shape)} -> {tuple(x.shape)}   D: {tuple(x.shape)} -> {tuple(D_net(x).shape)}")

# %% [markdown]
# The first layer is worth a second look. DCGAN's paper calls it a projection: a matrix multiplication of $z$
# reshaped into a 4-D tensor. A transposed convolution with a 7×7 kernel on a 1×1 input *is* that matrix
# multiplication, so "no fully connected layers" means no dense **hidden** layers, not that $z$ is never
# multiplied by a matrix.
#
# > **Numerical practice.** DCGAN's paper and `pytorch/examples` end D in a `Sigmoid` and train it with
# > `BCELoss`. That is not wrong while D is unsure, but it fails quietly once D is confident. PyTorch does not
# > crash: `BCELoss` clamps the log at $-100$ and guards its backward against dividing by a probability near 0
# > or 1, so the loss or its gradient is silently wrong, and the gradient vanishes, just when the sample D
# > rejects hardest needs it most. (Only a hand-written `torch.log(torch.sigmoid(l))` gives $-\infty$ and NaN.)
# > Output the **logit** and use a loss on logits (`softplus`, or `BCEWithLogitsLoss`), which computes
# > $\log\sigma$ exactly. The cell below compares the two, on G's loss for a fake D rejects (label 1, negative
# > logit) and on D's loss for a fake D takes for real (label 0, positive logit):

# %%
for logit, label in ((-5.0, 1.0), (-40.0, 1.0), (40.0, 0.0)):
    l1, l2 = torch.tensor([logit], requires_grad=True), torch.tensor([logit], requires_grad=True)
    y = torch.tensor([label])
    bce = nn.BCELoss()(torch.sigmoid(l1), y)  # Sigmoid + BCELoss
    bce.backward()
    on_logits = F.binary_cross_entropy_with_logits(l2, y)  # softplus on the logit, exact
    on_logits.backward()
    print(f"logit {logit:+5.0f}, label {label:.0f}:  Sigmoid+BCELoss: loss {bce.item():7.3f}, "
          f"d loss/d logit {l1.grad.item():+.1e}   on logits: loss {on_logits.item():7.3f}, "
          f"d loss/d logit {l2.grad.item():+.1e}")

# %% [markdown]
# At logit $-5$ the two agree. At $-40$ with label 1 the loss is still right but its gradient is about a
# millionth of the exact $-1$: G would learn nothing from the fakes D rejects most firmly. At $+40$ with label 0,
# $\sigma$ rounds to exactly 1 in float32, the log is clamped, and both the loss (100 instead of 40) and the
# gradient (0 instead of 1) are wrong.
#
# The package's `course_lib.models.dcgan` builds the same networks for 28, 32 or 64-pixel images; the cell below
# checks that ours is the same function (same layers, same weights, same output).

# %%
G_pkg = dcgan.Generator(z_dim=Z, channels=1, image_size=28, width=w)
D_pkg = dcgan.Discriminator(channels=1, image_size=28, width=w)
G_pkg.net.load_state_dict(G_net.state_dict())
D_pkg.net.load_state_dict(D_net.state_dict())
G_net.eval(), G_pkg.eval(), D_net.eval(), D_pkg.eval()
x = G_net(z[:, :, None, None])
torch.testing.assert_close(G_pkg(z), x)
torch.testing.assert_close(D_pkg(x), D_net(x))
print("the notebook's G and D equal course_lib.models.dcgan")

# %% [markdown]
# ## 2 · Training on MNIST
#
# The step is chapter 01's: D ascends $V$ on a real batch and a detached fake batch, then G descends the
# non-saturating loss $-\mathbb{E}_z[\log D(G(z))]$ through the updated D, drawn here as data flow:

# %%
plotting.flow_diagram(
    {"z": (0.07, 0.5, "z ~ N(0, I)\n(B, Z)"), "G": (0.25, 0.5, "generator G\ntransposed convs"),
     "xf": (0.45, 0.5, "x̃ = G(z)\n(B, 1, 28, 28)"), "x": (0.45, 0.9, "real x\n(B, 1, 28, 28)"),
     "D": (0.66, 0.7, "discriminator D\nstrided convs → logit"),
     "D2": (0.66, 0.22, "the updated D\n(frozen: no D update)"),
     "loss_D": (0.90, 0.7, "loss_D = softplus(−D(x))\n+ softplus(D(x̃.detach()))\nupdates D only"),
     "loss_G": (0.90, 0.22, "loss_G = softplus(−D(x̃))\nupdates G only: its gradient\nflows back through D to G")},
    [("z", "G", ""), ("G", "xf", ""), ("x", "D", ""), ("xf", "D", "x̃.detach()"), ("xf", "D2", "x̃"),
     ("D", "loss_D", "logits"), ("D2", "loss_G", "logits")],
    size=(12, 4.2), title="one DCGAN step: first the D update (top), then the G update through the updated D")
plt.show()

# %% [markdown]
# The detach on the top path keeps D's loss from moving G; on the bottom path D's weights are frozen, so G's
# loss moves G alone, with the gradient flowing *through* D.
#
# DCGAN's optimiser settings: Adam with
# learning rate $2\cdot10^{-4}$ and $\beta_1 = 0.5$ (the paper: the default 0.9 made training oscillate), weights
# initialised from $\mathcal{N}(0, 0.02^2)$.

# %%
DATASET = "mnist"  # try "fashion-mnist": the same chapter on clothes (FD/KID then use a classifier of clothes)
x_train, y_train = data.load_images(DATASET, train=True, n=S.n_train)  # (N, 1, 28, 28) in [-1, 1]
steps = S.image_steps
fixed_z = torch.randn(64, Z, generator=torch.Generator().manual_seed(1)).to(device)  # (64, Z)
print(f"{len(x_train)} training images, {steps} steps of batch {S.batch_size}")


def train_dcgan(batchnorm: bool, seed: int = 0, snapshots=()):
    """Train a DCGAN; returns G, the metrics log and G(fixed_z) at the `snapshots` steps."""
    train.seed_everything(seed)
    G, D = dcgan.build(z_dim=Z, channels=1, image_size=28, width=w, batchnorm=batchnorm)
    G, D = G.to(device), D.to(device)
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    batches = data.Batches(x_train.to(device), batch_size=S.batch_size, seed=seed)
    log, shots = [], {}
    for step in tqdm(range(1, steps + 1), desc=f"DCGAN ({'BatchNorm' if batchnorm else 'no BatchNorm'})"):
        stats = train.gan_step(G, D, opt_G, opt_D, next(batches), Z,
                               d_loss=losses.d_loss, g_loss=losses.g_loss_nonsaturating)
        if step % max(1, steps // 100) == 0:
            log.append({"step": step, **{k: v.item() for k, v in stats.items()}})
        if step in snapshots:
            with torch.no_grad():
                G.eval()
                shots[step] = G(fixed_z).cpu()
                G.train()
    return G.eval(), log, shots


snap_steps = sorted({max(1, steps // 20), steps // 4, steps // 2, steps})
G, log, shots = train_dcgan(batchnorm=True, snapshots=snap_steps)

# %%
fig, axes = plt.subplots(1, len(snap_steps), figsize=(3.2 * len(snap_steps), 3.4))
for ax, s in zip(axes, snap_steps):
    plotting.image_grid(shots[s][:36], nrow=6, ax=ax, title=f"step {s}")
plt.suptitle("G(fixed z) over training")
plt.show()

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.2))
plotting.loss_curves(log, keys=("loss_D", "loss_G"), ax=ax1, title="losses")
ax1.axhline(2 * math.log(2), ls=":", c="C0", lw=1, label="loss_D at D = 1/2 (2 log 2)")
ax1.axhline(math.log(2), ls=":", c="C1", lw=1, label="loss_G at D = 1/2 (log 2)")
ax1.legend(frameon=False, fontsize=8)
plotting.loss_curves(log, keys=("D_real", "D_fake"), ax=ax2, title="D(x) and D(G(z))")
plt.show()
half = len(log) // 2
loss_d_first, loss_d_last = (sum(r["loss_D"] for r in rows) / len(rows) for rows in (log[:half], log[-len(log) // 4:]))
measured("loss_d_first_half", loss_d_first), measured("loss_d_last_quarter", loss_d_last)
print(f"mean loss_D: first half {loss_d_first:.3f}, last quarter {loss_d_last:.3f}  (2 log 2 = {2 * math.log(2):.3f})")
claim("d_ahead_early", loss_d_first, "<", 1.0, "D is ahead over the first half of the run (mean loss_D < 1, "
      "against 2 log 2 = 1.39 at balance; seed 0, the run shown)")
claim("game_rebalances", loss_d_last - loss_d_first, ">", 0.0,
      "D's loss rises back towards balance late in the run (last-quarter mean above first-half mean; seed 0)")

# %% [markdown]
# The dotted lines are where the losses sit when D outputs ½ everywhere: $2\log 2$ for D's loss (two
# cross-entropy terms of $\log 2$) and $\log 2$ for G's, so at that equilibrium D's loss is *twice* G's, not
# equal to it. In this run D gets ahead early: its loss is far below $2\log 2$, $D(x)$ close to 1 and $D(G(z))$
# close to 0 (mean `loss_D` {rec:loss_d_first_half:.2f} over the first half). That is not yet a failure: with the
# non-saturating loss G keeps a strong gradient from the fakes D rejects, the samples keep improving (figure
# above), and later the game moves back towards balance (mean `loss_D` {rec:loss_d_last_quarter:.2f} over the last
# quarter). The failure to watch for is a D whose loss stays near 0 while the samples stop changing; chapter 03's
# diagnostics (gradient norms, D's scores) tell the two apart.
#
# ## 3 · Ablation: no BatchNorm
#
# Same seed, same data order, same steps; only guideline 2 removed from both players, and each variant trained
# with three seeds. The claim to test: BatchNorm helps G get started and keeps samples diverse.
#
# **Predict first** (a discussion question, graded by hand): without BatchNorm, will the samples after the same
# budget be (a) about as good, (b) somewhat worse, or (c) collapsed onto one or a few images? Which of
# section 5's precision and recall do you expect to fall, and why? Write your answer, then run.
#
# > **Common misconception.** "BatchNorm largely solves mode collapse." DCGAN's authors report that it helped G
# > avoid collapsing every sample to *one point* early in training, not that it prevents mode collapse; DCGANs
# > with BatchNorm still drop modes (this chapter does not measure it; chapters 01 and 03 count modes on 2-D
# > data). Its reliable effect is on optimisation, and the measurement below is of sample quality under a fixed
# > budget, nothing more.

# %%
SEEDS = (0, 1, 2)
G_nobn, log_nobn, shots_nobn = train_dcgan(batchnorm=False, snapshots=(steps,))
G_bn_seeds = {0: G} | {seed: train_dcgan(batchnorm=True, seed=seed)[0] for seed in SEEDS[1:]}
G_nobn_seeds = {0: G_nobn} | {seed: train_dcgan(batchnorm=False, seed=seed)[0] for seed in SEEDS[1:]}
fig, axes = plt.subplots(1, 2, figsize=(7, 3.6))
plotting.image_grid(shots[steps][:36], nrow=6, ax=axes[0], title="with BatchNorm")
plotting.image_grid(shots_nobn[steps][:36], nrow=6, ax=axes[1], title="without BatchNorm")
plt.show()

# %% [markdown]
# ## 4 · Walking the latent space
#
# If G has learned a smooth map, points between two latents decode to images between the two samples, not to
# noise. Samples of $\mathcal{N}(0, I_Z)$ live near the sphere of radius $\sqrt{Z}$; the straight line between two
# of them passes closer to the origin, where G saw no training inputs. Spherical interpolation (slerp) stays on
# the shell:
#
# $$\text{slerp}(z_0, z_1; t) = \frac{\sin((1-t)\Omega)}{\sin\Omega} z_0 + \frac{\sin(t\Omega)}{\sin\Omega} z_1,
# \qquad \cos\Omega = \frac{z_0\cdot z_1}{\lVert z_0\rVert\lVert z_1\rVert}.$$

# %%
g = torch.Generator().manual_seed(7)
ends = torch.randn(4, 2, Z, generator=g)  # 4 pairs (z0, z1)
t = torch.linspace(0, 1, 9)
path = torch.cat([dcgan.slerp(z0, z1, t) for z0, z1 in ends])  # (4·9, Z)
print(f"|z| along one path: {[round(v, 1) for v in path[:9].norm(dim=1).tolist()]}   (sqrt(Z) = {Z ** 0.5:.1f})")
with torch.no_grad():
    frames = G(path.to(device)).cpu()  # (36, 1, 28, 28)
plotting.image_grid(frames, nrow=9, title="slerp between 4 pairs of latents")
plt.show()

# %% [markdown]
# ## 5 · Measuring sample quality: Fréchet distance and KID
#
# Looking at grids does not scale and does not compare runs. The **Fréchet Inception Distance** (Heusel et al.
# 2017) embeds real and generated images with a fixed network, fits a Gaussian to each set of features, and
# measures the Fréchet (2-Wasserstein) distance between the Gaussians:
#
# $$d^2 = \lVert\mu_r-\mu_g\rVert^2 + \operatorname{Tr}\big(\Sigma_r+\Sigma_g-2(\Sigma_r\Sigma_g)^{1/2}\big).$$
#
# In one dimension it is $(\mu_1-\mu_2)^2+(\sigma_1-\sigma_2)^2$: means and spreads must both match.

# %% tags=["exercise"]
def frechet_1d(mu1, sigma1, mu2, sigma2):
    """Fréchet distance² between N(mu1, sigma1²) and N(mu2, sigma2²)."""
    ### BEGIN SOLUTION
    return (mu1 - mu2) ** 2 + (sigma1 - sigma2) ** 2
    ### END SOLUTION


# %% tags=["check"]
check.frechet_1d(frechet_1d)

# %% [markdown]
# The same formula in $F$ dimensions, written out; the cell checks it against `course_lib.metrics`. The matrix
# square root goes through a symmetric eigendecomposition with tiny negative eigenvalues clipped to 0, so a
# near-singular covariance (fewer samples than features) cannot produce NaN.

# %%
def frechet_distance(a, b):
    mu_a, mu_b = a.double().mean(0), b.double().mean(0)  # (F,)
    cov_a, cov_b = torch.cov(a.double().T), torch.cov(b.double().T)  # (F, F)
    root_a = metrics.sqrtm_psd(cov_a)  # (F, F)
    tr_sqrt = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp_min(0).sqrt().sum()  # Tr((Σa Σb)^½)
    return float((mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * tr_sqrt)


fa, fb = torch.randn(300, 16), torch.randn(200, 16) * 1.5 + 0.3
torch.testing.assert_close(frechet_distance(fa, fb), metrics.frechet_distance(fa, fb), rtol=1e-6, atol=1e-9)
print(f"FD of two Gaussian samples, by hand and by course_lib.metrics: {frechet_distance(fa, fb):.4f}")

# %% [markdown]
# **Which network?** FID means Inception-v3 features with the standard weights, and only those numbers are
# comparable with papers. Inception was trained on colour photographs; for MNIST digits a classifier trained on
# MNIST is a sharper lens. The course trains a small one (cached under `runs/classifiers/`, its test accuracy
# printed) and every number it produces is labelled **"FD (course classifier)"**; the two are never compared.
#
# **KID** (Bińkowski et al. 2018) is the unbiased estimate of the squared MMD between the feature sets with the
# kernel $k(x,y)=(x\cdot y/F+1)^3$. FD is biased (it shrinks as the sample grows), KID is not, so KID is the
# fairer number at the small sample sizes of a laptop run.
#
# **The floor.** Even perfect samples do not score 0 against a finite reference set: held-out real images
# against the training images give the value a perfect generator would get with this many samples.

# %%
net = features.course_classifier(DATASET, device=device)
x_ref, _ = data.load_images(DATASET, train=True, n=S.n_eval, seed=1)  # reference: training images
x_heldout, _ = data.load_images(DATASET, train=False, n=S.n_eval)  # the floor: held-out real images


@torch.no_grad()
def sample(G, n, seed=0):
    zs = torch.randn(n, Z, generator=torch.Generator().manual_seed(seed))
    return torch.cat([G(zs[i:i + 256].to(device)).cpu() for i in range(0, n, 256)])  # (n, 1, 28, 28)


ref = features.extract_features(net, x_ref)  # (n_eval, F)
sets = {"held-out MNIST (floor)": x_heldout, "DCGAN": sample(G, S.n_eval),
        "DCGAN without BatchNorm": sample(G_nobn, S.n_eval)}
feats = {name: features.extract_features(net, imgs) for name, imgs in sets.items()}  # each (n_eval, F)
scores = {name: features.score(net, ref, f, what=name, kid_subset=S.n_eval // 2) for name, f in feats.items()}
print(f"({S.n_eval} images each, features of the course classifier, test accuracy {100 * net.test_accuracy:.1f}%; "
      f"seed 0 above, all seeds below)")
seed_feats = {"DCGAN": [features.extract_features(net, sample(g, S.n_eval)) for g in G_bn_seeds.values()],
              "DCGAN without BatchNorm": [features.extract_features(net, sample(g, S.n_eval))
                                          for g in G_nobn_seeds.values()]}
seed_scores = {name: [features.score(net, ref, f, what=f"{name}, seed {seed}", kid_subset=S.n_eval // 2)
                      for seed, f in zip(SEEDS, fs)] for name, fs in seed_feats.items()}
fd_bn, fd_nobn = ([r["fd"] for r in seed_scores[k]] for k in seed_feats)
measured("fd_floor", scores["held-out MNIST (floor)"]["fd"])
measured("kid_floor", scores["held-out MNIST (floor)"]["kid"])
measured("fd_bn", fd_bn), measured("fd_nobn", fd_nobn)
measured("kid_bn", [r["kid"] for r in seed_scores["DCGAN"]])
measured("kid_nobn", [r["kid"] for r in seed_scores["DCGAN without BatchNorm"]])
claim("batchnorm_lowers_fd", [b / a for a, b in zip(fd_bn, fd_nobn)], ">=", 3.0,
      "without BatchNorm the FD (course classifier) is at least 3x that with BatchNorm (mean of 3 seeds)")
claim("dcgan_far_from_floor", [f / scores["held-out MNIST (floor)"]["fd"] for f in fd_bn], ">=", 5.0,
      "at small the DCGAN's FD is still at least 5x the held-out floor (mean of 3 seeds)")

# %% [markdown]
# Precision and recall (Kynkäänniemi et al. 2019) split the distance in two: the fraction of samples that fall
# on the real data's manifold (quality) and the fraction of real images whose neighbourhood the samples reach
# (diversity). Same features, same label.

# %%
pr = {}
for name, f in feats.items():
    p, r = metrics.precision_recall(ref, f, k=3)
    print(f"{name:<28} precision (course classifier): {p:.3f}   recall (course classifier): {r:.3f}   (seed 0)")
for name, fs in seed_feats.items():
    pr[name] = [metrics.precision_recall(ref, f, k=3) for f in fs]  # one (precision, recall) per seed
    print(f"{name:<28} over seeds {list(SEEDS)}: precision {[round(p, 3) for p, _ in pr[name]]}, "
          f"recall {[round(r, 3) for _, r in pr[name]]}")
measured("precision_floor", metrics.precision_recall(ref, feats["held-out MNIST (floor)"], k=3)[0])
measured("precision_bn", [p for p, _ in pr["DCGAN"]]), measured("recall_bn", [r for _, r in pr["DCGAN"]])
measured("precision_nobn", [p for p, _ in pr["DCGAN without BatchNorm"]])
measured("recall_nobn", [r for _, r in pr["DCGAN without BatchNorm"]])
measured("nobn_collapsed_seeds", sum(r < 0.05 for _, r in pr["DCGAN without BatchNorm"]))  # recall near 0
claim("batchnorm_keeps_recall", [a[1] - b[1] for a, b in zip(pr["DCGAN"], pr["DCGAN without BatchNorm"])],
      ">=", 0.2, "with BatchNorm the samples reach far more of the real data (recall higher by >= 0.2, "
      "mean of 3 seeds)")

# %% [markdown]
# One more look at diversity, in the classifier's own terms: the digit the course classifier assigns to each of
# the DCGAN's samples (seed 0), against the same count on held-out real digits. A generator that dropped a
# digit would show an empty bar.

# %%
with torch.no_grad():
    net.eval()
    classes = {name: features.apply_batched(net, sets[name]).argmax(1).cpu()
               for name in ("held-out MNIST (floor)", "DCGAN")}  # (n_eval,) predicted digit per image
fig, ax = plt.subplots(figsize=(7, 2.6))
for k, (name, c) in enumerate(classes.items()):
    ax.bar(torch.arange(10) + 0.4 * k - 0.2, torch.bincount(c, minlength=10) / len(c), width=0.4, label=name)
ax.set_xticks(range(10))
ax.set_xlabel("digit assigned by the course classifier")
ax.set_ylabel("fraction of images")
ax.legend(frameon=False, fontsize=8)
plt.show()
share = torch.bincount(classes["DCGAN"], minlength=10) / len(classes["DCGAN"])
measured("rarest_digit_share", float(share.min()))
print(f"DCGAN samples: rarest digit {int(share.argmin())} ({100 * float(share.min()):.1f}%), "
      f"most common {int(share.argmax())} ({100 * float(share.max()):.1f}%)")

# %% [markdown]
# What the numbers say at `small` (1,500 steps, width 16, 2,000 images, three seeds). **BatchNorm matters a
# lot at this budget:** without it the FD (course classifier) is {rec:fd_nobn:pm} against {rec:fd_bn:pm} with it,
# and recall drops from {rec:recall_bn:pm} to {rec:recall_nobn:pm} (precision {rec:precision_bn:pm} against
# {rec:precision_nobn:pm}): in {rec:nobn_collapsed_seeds} of the three seeds the generator without BatchNorm
# collapses onto one or a few patterns (recall below 0.05), the paper's reason for guideline 2 in its most extreme
# form; in the others it collapses only in part, which is why the spread over seeds is so wide. **The DCGAN is still far from the data:** its FD is many times
# the floor of held-out real images ({rec:fd_floor:.1f}; precision of the floor {rec:precision_floor:.2f}), and
# in the grid only part of the samples read as clean digits. 1,500 steps of a width-16 network is a short run;
# the classifier's digit counts (the rarest digit gets {rec:rarest_digit_share:.2f} of the samples) say whether
# it at least spreads over all ten digits. The floor's KID ({rec:kid_floor:.2f}) can be negative: KID is an
# unbiased estimate of a quantity that is 0 for a perfect generator, so its estimates scatter around 0. At
# `full`, `course train dcgan --dataset cifar10 --scale full` trains the width-64, 32×32 model on a GPU and keeps
# the checkpoint with the best FID (Inception) when the Inception weights are present.
#
# ## Summary
#
# * DCGAN = five guidelines: strided convolutions, BatchNorm (not on G's output or D's input), no dense hidden
#   layers, ReLU + Tanh in G, LeakyReLU in D; plus Adam($2\cdot10^{-4}$, $\beta_1=0.5$) and $\mathcal{N}(0,0.02^2)$.
# * D outputs a logit; losses take logits (`Sigmoid` + `BCELoss` does not crash, it silently loses the gradient).
# * At balance D's loss is $2\log 2$ and G's $\log 2$; a D that is ahead for a while is normal, a D at 0 with
#   frozen samples is not.
# * Removing one guideline and measuring, over several seeds, is how to know what it is for: without BatchNorm
#   the small run collapses.
# * Latent interpolation (slerp) shows a smooth generator.
# * FD/FID and KID compare feature statistics; every number names its feature network, held-out real images give
#   the floor, and FD (course classifier) is never compared with FID (Inception).

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
# 1. build G and D from the five guidelines, knowing why each one is there;
# 2. train DCGAN on MNIST and watch samples appear over training;
# 3. ablate BatchNorm and measure the effect;
# 4. walk the latent space by interpolation;
# 5. evaluate samples with FD and KID on features of a classifier the course trains, against held-out real
#    images as the floor.
#
# **Prerequisites:** chapter 01 (the GAN game, the D step and the G step, non-saturating loss); convolutions.
#
# **Scale.** Numbers quoted in the text come from `small` (a few minutes on a laptop CPU). At `full`, the same
# model trains on CIFAR-10 through `course train dcgan --dataset cifar10 --scale full` (a GPU, bf16), evaluated
# with Inception features (FID).

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from course_lib import data, features, losses, metrics, plotting, train
from course_lib.checks import ch02 as check
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
# | 5 | **LeakyReLU(0.2)** in D | D also passes gradient for negative pre-activations, and that gradient is all G learns from |
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
# > **Common misconception.** "D ends in a sigmoid that outputs a probability, trained with `BCELoss`." The
# > probability is $\sigma(\text{logit})$, but the network should output the **logit** and the loss should take
# > logits (`softplus`, or `BCEWithLogitsLoss`): once $D$ is confident, $\log\sigma$ computed from a rounded
# > probability is $-\infty$ and training stops with NaNs.
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
# non-saturating loss $-\mathbb{E}_z[\log D(G(z))]$ through the updated D. DCGAN's optimiser settings: Adam with
# learning rate $2\cdot10^{-4}$ and $\beta_1 = 0.5$ (the default 0.9 made training oscillate), weights
# initialised from $\mathcal{N}(0, 0.02)$.

# %%
x_train, y_train = data.load_images("mnist", train=True, n=S.n_train)  # (N, 1, 28, 28) in [-1, 1]
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
plotting.loss_curves(log, keys=("D_real", "D_fake"), ax=ax2, title="D(x) and D(G(z))")
plt.show()

# %% [markdown]
# The losses do not go to zero and should not: in a balanced game $D(x)$ and $D(G(z))$ hover around values
# that neither player can improve alone. A curve of D's loss sliding to 0 means D has won and G's gradients are
# about to vanish (chapter 03 is about that).
#
# ## 3 · Ablation: no BatchNorm
#
# Same seed, same data order, same steps; only guideline 2 removed from both players. The claim to test:
# BatchNorm helps G get started and keeps samples diverse.
#
# > **Common misconception.** "BatchNorm largely solves mode collapse." DCGAN's authors report that it helped G
# > avoid collapsing every sample to *one point* early in training, not that it prevents mode collapse; DCGANs
# > with BatchNorm still collapse (chapter 03 measures it). Its reliable effect is on optimisation, and the
# > measurement below is of sample quality under a fixed budget, nothing more.

# %%
G_nobn, log_nobn, shots_nobn = train_dcgan(batchnorm=False, snapshots=(steps,))
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
net = features.course_classifier("mnist", device=device)
x_ref, _ = data.load_images("mnist", train=True, n=S.n_eval, seed=1)  # reference: training images
x_heldout, _ = data.load_images("mnist", train=False, n=S.n_eval)  # the floor: held-out real images


@torch.no_grad()
def sample(G, n, seed=0):
    zs = torch.randn(n, Z, generator=torch.Generator().manual_seed(seed))
    return torch.cat([G(zs[i:i + 256].to(device)).cpu() for i in range(0, n, 256)])  # (n, 1, 28, 28)


ref = features.extract_features(net, x_ref)  # (n_eval, F)
sets = {"held-out MNIST (floor)": x_heldout, "DCGAN": sample(G, S.n_eval),
        "DCGAN without BatchNorm": sample(G_nobn, S.n_eval)}
feats = {name: features.extract_features(net, imgs) for name, imgs in sets.items()}  # each (n_eval, F)
scores = {name: features.score(net, ref, f, what=name, kid_subset=S.n_eval // 2) for name, f in feats.items()}
print(f"({S.n_eval} images each, features of the course classifier, test accuracy {100 * net.test_accuracy:.1f}%)")

# %% [markdown]
# Precision and recall (Kynkäänniemi et al. 2019) split the distance in two: the fraction of samples that fall
# on the real data's manifold (quality) and the fraction of real images whose neighbourhood the samples reach
# (diversity). Same features, same label.

# %%
for name, f in feats.items():
    p, r = metrics.precision_recall(ref, f, k=3)
    print(f"{name:<28} precision (course classifier): {p:.3f}   recall (course classifier): {r:.3f}")

# %% [markdown]
# At `small` scale (1,500 steps, width 16, 2,000 images) the samples are recognisable digits and the floor is far
# below both models; how far BatchNorm moves the numbers at this budget is the measurement above, reported as it
# came out. At `full`, `course train dcgan --dataset cifar10 --scale full` trains the width-64, 32×32 model on a
# GPU and keeps the checkpoint with the best FID (Inception) when the Inception weights are present.
#
# ## Summary
#
# * DCGAN = five guidelines: strided convolutions, BatchNorm (not on G's output or D's input), no dense hidden
#   layers, ReLU + Tanh in G, LeakyReLU in D; plus Adam($2\cdot10^{-4}$, $\beta_1=0.5$) and $\mathcal{N}(0,0.02)$.
# * D outputs a logit; losses take logits.
# * Removing one guideline and measuring is how to know what it is for; one run at one budget is evidence, not
#   proof.
# * Latent interpolation (slerp) shows a smooth generator.
# * FD/FID and KID compare feature statistics; every number names its feature network, held-out real images give
#   the floor, and FD (course classifier) is never compared with FID (Inception).

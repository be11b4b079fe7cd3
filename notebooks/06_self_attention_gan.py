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
# # 06 · Self-attention GAN
#
# A convolution sees a small neighbourhood; a deep stack of them sees far, but only through many layers, and a
# generator built from them struggles to keep distant parts of an image consistent (the two eyes of a face, the
# legs of a dog). The Self-Attention GAN (SAGAN; Zhang, Goodfellow, Metaxas, Odena 2019) lets every position of a
# feature map look at every other position in one step, and combines this with the stabilisers of chapter 03.
#
# **You will**
# 1. write the self-attention block out: 1×1 query / key / value projections, a softmax over positions, and an
#    output gate $\gamma$ that starts at 0, and check it against the package;
# 2. check that spectral normalisation really bounds a layer's largest singular value by 1;
# 3. train SAGAN (attention in $G$ and $D$, spectral norm in both, hinge loss, TTUR) and the same network
#    without attention on the same budget, and compare them with FD / KID;
# 4. look at where chosen query pixels attend, and at $\gamma$ over training.
#
# **Prerequisites:** chapter 01 (the D step and G step), chapter 03 (hinge loss, spectral norm, TTUR), and
# matrix products / softmax.
#
# **Scale.** `COURSE_SCALE=smoke|small|full` changes only numbers. At `small` the two MNIST runs take a few
# minutes on a laptop CPU; the full-scale CIFAR-10 runs go through `course train sagan` (see the end).

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from course_lib import data, features, losses, plotting, train
from course_lib.checks import ch06 as check
from course_lib.models import sagan
from course_lib.scale import get_scale

S = get_scale()
device = train.get_device()
train.set_threads()
train.seed_everything(0)
print(f"scale: {S.name}   device: {device}   torch {torch.__version__}")

# %% [markdown]
# ## 1 · The self-attention block
#
# Take a feature map $x \in \mathbb{R}^{C\times H\times W}$ as $N = HW$ vectors $x_1,\dots,x_N$. Three 1×1
# convolutions project every position to a **query** $f(x_j) = W_f x_j$, a **key** $g(x_i) = W_g x_i$ (both with
# $C/8$ channels) and a **value** $h(x_i) = W_h x_i$ ($C/2$ channels). Position $j$ attends to position $i$ with
#
# $$\beta_{j,i} = \frac{\exp(s_{ji})}{\sum_{i'=1}^{N}\exp(s_{ji'})}, \qquad s_{ji} = f(x_j)^\top g(x_i),$$
#
# a probability distribution over all $N$ positions for every query $j$. The output at $j$ is the attention-weighted
# sum of the values, projected back to $C$ channels, and added to the input through a learnable gate:
#
# $$o_j = W_v\Big(\sum_{i=1}^{N}\beta_{j,i}\,h(x_i)\Big), \qquad y_j = \gamma\, o_j + x_j, \qquad \gamma_\text{init}=0.$$
#
# With $\gamma = 0$ the block is the identity: training starts from a purely convolutional network and lets
# the gate open only as far as non-local evidence helps. Here it is with plain tensors:

# %%
def self_attention(x, W_f, W_g, W_h, W_v, gamma):
    """x (B, C, H, W); W_f, W_g (Cq, C); W_h (Cv, C); W_v (C, Cv); gamma a scalar."""
    B, C, H, W = x.shape
    xs = x.flatten(2)  # (B, C, N)
    f = torch.einsum("qc,bcn->bnq", W_f, xs)  # (B, N, Cq): queries
    g = torch.einsum("qc,bcn->bqn", W_g, xs)  # (B, Cq, N): keys
    h = torch.einsum("vc,bcn->bnv", W_h, xs)  # (B, N, Cv): values
    beta = torch.softmax(f @ g, dim=-1)  # (B, N, N): row j is a distribution over positions i
    o = torch.einsum("cv,bnv->bcn", W_v, beta @ h)  # (B, C, N)
    return gamma * o.reshape(B, C, H, W) + x, beta  # (B, C, H, W), (B, N, N)


# %% [markdown]
# The package's block (`course_lib.models.sagan.SelfAttention`) computes the same thing with 1×1 convolutions;
# with spectral normalisation switched off the weights are the plain conv kernels, so we can compare exactly.

# %%
block = sagan.SelfAttention(16, spectral=False)
x = torch.randn(2, 16, 5, 5)  # (B, C, H, W)
with torch.no_grad():
    block.gamma.fill_(0.7)
    block.record = True
    y_pkg = block(x)
    W = {k: getattr(block, k).weight[:, :, 0, 0] for k in "fghv"}  # 1x1 kernels as matrices
    y_ours, beta = self_attention(x, W["f"], W["g"], W["h"], W["v"], 0.7)
torch.testing.assert_close(y_ours, y_pkg)
torch.testing.assert_close(beta, block.attn)
torch.testing.assert_close(beta.sum(-1), torch.ones(2, 25))  # every query's weights sum to 1
with torch.no_grad():
    block.gamma.zero_()
    torch.testing.assert_close(block(x), x)  # gamma = 0: the identity
print("inline self-attention == package block; rows of beta sum to 1; gamma = 0 gives the identity")

# %% [markdown]
# The attention matrix has $N^2$ entries: $196^2 \approx 38$k for a 14×14 map, $1024^2 \approx 1$M for 32×32, per image.
# That quadratic cost is why SAGAN places attention at *one* middle resolution, not everywhere.
#
# > **Common misconception.** "SAGAN inserts self-attention between the layers of $G$ and $D$ so that it captures
# > long-range dependencies at every scale." The paper adds one block (in $G$ and in $D$) at a single middle-sized
# > feature map; its ablation compares placements (8×8 to 64×64 maps) and finds the larger middle maps best, while
# > attention on small maps behaves like a local convolution. Attention complements convolutions, it does not
# > replace them, and $\gamma$ starting at 0 lets the network decide how much to use it.
#
# **Exercise 1.** Write the attention weights $\beta$ from queries and keys given as (B, N, Cq) tensors.

# %% tags=["exercise"]
def attention_weights(q, k):
    """q, k: (B, N, Cq) -> beta (B, N, N), beta[b, j, i] = softmax over i of q_j . k_i."""
    ### BEGIN SOLUTION
    return torch.softmax(q @ k.transpose(1, 2), dim=-1)
    ### END SOLUTION


# %% tags=["check"]
check.attention_weights(attention_weights)

# %% [markdown]
# ## 2 · Spectral normalisation in both players
#
# Spectral normalisation (Miyato et al. 2018) divides a weight matrix by its largest singular value,
# $\bar W = W/\sigma(W)$, so each layer is 1-Lipschitz. $\sigma(W)$ is estimated by **power iteration**, one step
# per forward pass, reusing the vector $u$ from the previous step:
#
# $$v \leftarrow \frac{W^\top u}{\lVert W^\top u\rVert}, \quad u \leftarrow \frac{W v}{\lVert W v\rVert}, \quad \sigma(W)\approx u^\top W v.$$
#
# Chapter 03 used it in $D$. SAGAN also puts it in $G$, where it keeps the generator's layers from amplifying
# their inputs without bound. Check that after a few forward passes the normalised weight's largest singular
# value is 1:

# %%
layer = torch.nn.Linear(64, 32)
with torch.no_grad():
    layer.weight.mul_(4.0)  # a layer that amplifies its input
layer = sagan.sn(layer)
W_raw = layer.parametrizations.weight.original.detach().clone()  # (32, 64)
for _ in range(10):
    layer(torch.randn(8, 64))  # each training-mode forward runs one power iteration
sigma_raw = torch.linalg.matrix_norm(W_raw, ord=2)
sigma_sn = torch.linalg.matrix_norm(layer.weight.detach(), ord=2)
print(f"largest singular value: raw weight {sigma_raw:.3f}  ->  spectrally normalised {sigma_sn:.4f}")
assert abs(sigma_sn - 1) < 1e-2

# %% [markdown]
# ## 3 · Hinge loss and the SAGAN step
#
# SAGAN trains with the hinge loss on raw scores $D(x)\in\mathbb{R}$:
#
# $$L_D = \mathbb{E}_{x}\big[\max(0,\,1-D(x))\big] + \mathbb{E}_{z}\big[\max(0,\,1+D(G(z)))\big], \qquad L_G = -\mathbb{E}_{z}\big[D(G(z))\big].$$
#
# $D$ stops paying for a real sample once its score passes $+1$ and for a fake once it is below $-1$, so it
# does not keep pushing samples it already separates well.

# %%
def d_loss_hinge(real_scores, fake_scores):
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def g_loss_hinge(fake_scores):
    return -fake_scores.mean()


r, f = torch.randn(64, 1), torch.randn(64, 1)
torch.testing.assert_close(d_loss_hinge(r, f), losses.d_loss_hinge(r, f))
torch.testing.assert_close(g_loss_hinge(f), losses.g_loss_hinge(f))
print("hinge losses == course_lib.losses")

# %% [markdown]
# **Exercise 2.** The discriminator's hinge loss, from scratch.

# %% tags=["exercise"]
def hinge_d_loss(real_scores, fake_scores):
    ### BEGIN SOLUTION
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()
    ### END SOLUTION


# %% tags=["check"]
check.hinge_d_loss(hinge_d_loss)

# %% [markdown]
# **TTUR.** The two time-scale update rule (Heusel et al. 2017) gives $D$ a larger learning rate than $G$: SAGAN
# uses $4\times10^{-4}$ for $D$ and $10^{-4}$ for $G$, Adam with $\beta_1 = 0$, $\beta_2 = 0.9$, and **one** $D$ step
# per $G$ step (instead of several). The step is chapter 01's, with the hinge loss:

# %%
def step(G, D, opt_G, opt_D, real):
    z = torch.randn(len(real), G.z_dim, device=real.device)  # (B, Z)
    fake = G(z)  # (B, 1, 28, 28)
    # D step: fake.detach(), so this loss moves D only
    loss_D = d_loss_hinge(D(real), D(fake.detach()))
    opt_D.zero_grad(set_to_none=True)
    loss_D.backward()
    opt_D.step()
    # G step through the *updated* D
    loss_G = g_loss_hinge(D(fake))
    opt_G.zero_grad(set_to_none=True)
    loss_G.backward()
    opt_G.step()
    return loss_D.detach(), loss_G.detach()


# the package's sagan.sagan_step is this step (train.d_step / train.g_step with the hinge losses): same models,
# same seed -> same parameters after one step
def tiny():
    train.seed_everything(1)
    G = sagan.Generator(z_dim=16, width=8)
    D = sagan.Discriminator(width=8)
    return G, D, *sagan.optimizers(G, D)


real = torch.rand(8, 1, 28, 28) * 2 - 1  # (8, 1, 28, 28)
G1, D1, oG1, oD1 = tiny()
torch.manual_seed(5)
step(G1, D1, oG1, oD1, real)
G2, D2, oG2, oD2 = tiny()
torch.manual_seed(5)
sagan.sagan_step(G2, D2, oG2, oD2, real)
for a, b in zip([*G1.parameters(), *D1.parameters()], [*G2.parameters(), *D2.parameters()]):
    torch.testing.assert_close(a, b)
print("inline step == sagan.sagan_step")

# %% [markdown]
# ## 4 · SAGAN on MNIST, with and without attention
#
# The generator is a ResNet (the SNGAN layout that SAGAN builds on): $z$ → 3×3 → 7×7 → 14×14 → 28×28, with
# the attention block on the 14×14 map; the discriminator mirrors it (attention on its 14×14 map). The
# baseline is the *same* network with the attention blocks removed, trained on the same data, steps and seed.

# %%
width, batch, steps = S.width // 8, S.batch_size // 2, S.image_steps // 2
x_train, _ = data.load_images("mnist", train=True, n=S.n_train)  # (N, 1, 28, 28)
print(f"{len(x_train)} MNIST images; width {width}, batch {batch}, {steps} steps per model")


def train_sagan(attention: bool):
    train.seed_everything(0)
    G = sagan.Generator(z_dim=64, width=width, attention=attention).to(device)
    D = sagan.Discriminator(width=width, attention=attention).to(device)
    opt_G, opt_D = sagan.optimizers(G, D)
    batches = data.Batches(x_train.to(device), batch_size=batch, seed=0)
    history = []
    for t in tqdm(range(1, steps + 1), desc=f"SAGAN, attention={attention}", mininterval=1.0):
        stats = sagan.sagan_step(G, D, opt_G, opt_D, next(batches))
        if t % max(1, steps // 50) == 0 or t == steps:
            history.append({"step": t, "loss_D": stats["loss_D"].item(), "loss_G": stats["loss_G"].item(),
                            **sagan.gammas(G, D)})
    return G, D, history


G_att, D_att, hist_att = train_sagan(attention=True)
G_plain, D_plain, hist_plain = train_sagan(attention=False)

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 4))
plotting.image_grid(sagan.sample(G_att, 64, seed=3), nrow=8, ax=axes[0], title="SAGAN (attention)")
plotting.image_grid(sagan.sample(G_plain, 64, seed=3), nrow=8, ax=axes[1], title="same network, no attention")
steps_logged = [h["step"] for h in hist_att]
axes[2].plot(steps_logged, [h["gamma_G"] for h in hist_att], label=r"$\gamma$ in G")
axes[2].plot(steps_logged, [h["gamma_D"] for h in hist_att], label=r"$\gamma$ in D")
axes[2].axhline(0, color="k", lw=0.5)
axes[2].set_xlabel("step"), axes[2].set_title(r"attention gate $\gamma$ over training"), axes[2].legend()
plt.tight_layout()
plt.show()
print(f"final gamma: G {hist_att[-1]['gamma_G']:+.4f}, D {hist_att[-1]['gamma_D']:+.4f}")

# %% [markdown]
# $\gamma$ leaves 0 as soon as the attention output helps; its size says how much of each block's output comes
# from non-local evidence. (Its sign carries no meaning on its own: $W_v$ can flip the output.) In the course's
# `small` run both gates stay small, $|\gamma| \approx 0.01$–$0.02$ after 750 steps: these networks still lean
# almost entirely on their convolutions, as one would expect for small, centred digits.
#
# ### Where does a pixel look?
#
# Record the generator's attention matrix while it draws a batch, and show row $j$ (a 14×14 map) for a few
# query positions $j$, upsampled over the generated image. The query is marked with a cross.

# %%
queries = [(4, 7), (7, 7), (10, 5), (7, 10)]  # (row, col) on the 14x14 attention map
G_att.attn.record = True
imgs = sagan.sample(G_att, 4, seed=11)  # (4, 1, 28, 28)
attn = G_att.attn.attn.cpu()  # (4, 196, 196)
G_att.attn.record = False
side = int(attn.shape[-1] ** 0.5)
fig, axes = plt.subplots(len(imgs), len(queries) + 1, figsize=(2 * (len(queries) + 1), 2 * len(imgs)))
for b in range(len(imgs)):
    axes[b, 0].imshow(data.to_unit(imgs[b, 0]), cmap="gray")
    axes[b, 0].set_title("G(z)" if b == 0 else "")
    for q, (r, c) in enumerate(queries):
        a = attn[b, r * side + c].reshape(1, 1, side, side)  # (1, 1, 14, 14)
        a = F.interpolate(a, size=imgs.shape[-2:], mode="bilinear", align_corners=False)[0, 0]  # (28, 28)
        ax = axes[b, q + 1]
        ax.imshow(data.to_unit(imgs[b, 0]), cmap="gray")
        ax.imshow(a, cmap="inferno", alpha=0.6)
        ax.plot(c * 2 + 0.5, r * 2 + 0.5, "c+", ms=12, mew=2)
        ax.set_title(f"query ({r},{c})" if b == 0 else "")
for ax in axes.flat:
    ax.set_axis_off()
plt.tight_layout()
plt.show()

# %% [markdown]
# Early in training the maps are nearly uniform (a softmax of small scores); as the run goes on they
# concentrate on strokes of the digit, often far from the query, which a 3×3 convolution at this layer cannot
# reach. After the short `small` run some maps already pick out distant strokes while others are still diffuse.
#
# ### With vs without attention, measured
#
# FD and KID compare features of generated and real images. Inception features (FID) are the standard for
# natural images; for MNIST the course uses its own classifier's features, so the numbers are labelled
# "FD (course classifier)" and are not comparable with published FIDs.

# %%
net = features.course_classifier("mnist", device=device)
x_real, _ = data.load_images("mnist", train=False, n=S.n_eval)  # (n_eval, 1, 28, 28)
f_real = features.extract_features(net, x_real)  # (n_eval, F)
scores = {}
for name, G in [("SAGAN (attention)", G_att), ("no attention", G_plain)]:
    f_fake = features.extract_features(net, sagan.sample(G, S.n_eval, seed=7))  # (n_eval, F)
    scores[name] = features.score(net, f_real, f_fake, what=f"{name}, {S.n_eval} samples")

# %% [markdown]
# At `small` (750 steps of a network 16 channels wide) attention brings no measurable gain: in the course's run
# the network *without* attention had the lower FD (about 189 against 222), while the two KIDs lie within one
# standard error of each other (about 221 and 227, ± 15), and which one wins can change with the seed. MNIST
# digits are small and centred, so a 3×3 convolution stack already sees most of a digit. Attention earns
# its cost on larger images with structure far apart: on CIFAR-10 and ImageNet the paper and later
# reproductions measure clear FID gains. That experiment needs a GPU:
#
# ```bash
# course train sagan --dataset cifar10 --scale full                   # unconditional; target FID-50k <= 18
# course train sagan --dataset cifar10 --scale full --conditional     # projection D; target <= 11
# course train sagan --dataset cifar10 --scale full --no-attention    # the ablation
# ```
#
# Each run uses bf16 autocast on CUDA, saves a checkpoint, samples and a metrics log (losses, $\gamma$) under
# `runs/`, resumes when started again, and ends with FID (Inception) when the Inception weights are present,
# FD (course classifier) otherwise. The class-conditional version feeds the label into $G$ through conditional
# BatchNorm and into $D$ through a projection, $D(x, y) = \psi(\phi(x)) + e_y^\top\phi(x)$ (Miyato & Koyama 2018).
#
# ## Summary
#
# * Self-attention: 1×1 query / key / value projections, $\beta = \operatorname{softmax}(f^\top g)$ over positions
#   for every query, the weighted sum of values projected back, and $y = \gamma o + x$ with $\gamma$ starting at 0.
# * SAGAN = attention at one middle resolution in $G$ and $D$ + spectral norm in both + hinge loss + TTUR
#   (lr 1e-4 / 4e-4, one D step per G step).
# * $\gamma$ shows how much each network uses attention; attention maps show queries reaching distant pixels.
# * Measure the benefit, do not assume it: on MNIST at this budget there is none to measure; it grows with image
#   size.
#
# Next: **chapter 07 — masked autoencoders**, where attention over image patches becomes the whole encoder.

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
# # 05 · VAE and VAE-GAN
#
# The variational autoencoder (VAE, Kingma & Welling 2014) is the probabilistic cousin of chapter 04's
# autoencoder: its encoder outputs a *distribution* over codes, and it is trained by maximising a lower bound on
# the data's log-likelihood. Its samples are famously blurry. The VAE-GAN (Larsen et al. 2016) keeps the VAE's
# encoder and prior, but measures reconstructions through a discriminator's eyes and lets that discriminator
# judge samples too.
#
# **You will**
# 1. write the VAE: encoder giving $\mu$ and $\log\sigma^2$, the reparameterisation trick (and why it is needed
#    *here*), the closed-form KL term checked against a Monte Carlo estimate, the ELBO and the knob $\beta$;
# 2. report the test-set ELBO in nats, and see why the samples are blurry;
# 3. write the VAE-GAN's three losses, which network each one updates, and train all three jointly;
# 4. compare VAE, VAE-GAN and a plain GAN with the same networks, data and budget: samples, reconstructions, a
#    sharpness measure, and FD / KID on the course classifier's features.
#
# **Prerequisites:** chapter 01 (the GAN step), chapter 04 (autoencoders, the prior), chapter 02's FD / KID.
#
# **Scale.** `COURSE_SCALE=smoke|small|full` changes only the numbers. The numbers quoted in the text are from
# `small`.

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from course_lib import data, features, losses, plotting, train
from course_lib.checks import ch05 as check
from course_lib.models import vae
from course_lib.scale import get_scale

S = get_scale()
device = train.get_device()
amp = train.autocast(device)
train.set_threads()
train.seed_everything(0)
print(f"scale: {S.name}   device: {device}   torch {torch.__version__}")

x_train, _ = data.load_images("mnist", train=True, n=S.n_train)  # (N, 1, 28, 28) in [-1, 1]
x_test, y_test = data.load_images("mnist", train=False, n=S.n_eval)  # (M, 1, 28, 28)
Z, W, STEPS, BATCH = 16, S.width // 4, S.image_steps, S.batch_size
print(f"train {tuple(x_train.shape)}, test {tuple(x_test.shape)}; Z={Z}, conv width {W}, {STEPS} steps of {BATCH}")


def new_models(seed=0):
    train.seed_everything(seed)
    E, Dec, D = (m.to(device) for m in vae.build(channels=1, size=28, z_dim=Z, width=W))
    return E, Dec, D


def batches(seed=0):
    return data.Batches(x_train.to(device), batch_size=BATCH, seed=seed)

# %% [markdown]
# ## 1 · The VAE
#
# A latent-variable model $p_\theta(x) = \int p_\theta(x\mid z)\,p(z)\,dz$ with $p(z)=\mathcal N(0, I)$ and a
# decoder giving $p_\theta(x\mid z)$: here a Bernoulli per pixel, its probability $\sigma(\text{logit})$, with the
# pixel intensity in $[0,1]$ as target (the usual convention for grey-scale MNIST). The integral is intractable,
# so an encoder proposes $q_\phi(z\mid x) = \mathcal N(\mu_\phi(x), \operatorname{diag}\sigma^2_\phi(x))$ and we
# maximise the **evidence lower bound**
#
# $$\log p_\theta(x) \;\ge\; \mathrm{ELBO}(x) = \underbrace{\mathbb{E}_{q_\phi(z\mid x)}[\log p_\theta(x\mid z)]}_{\text{reconstruction}}
# \;-\; \underbrace{\mathrm{KL}\big(q_\phi(z\mid x)\,\|\,p(z)\big)}_{\text{match the prior}} .$$
#
# For two diagonal Gaussians the KL has a closed form; with $p = \mathcal N(0, I)$,
#
# $$\mathrm{KL} = \tfrac12 \sum_j \big(\mu_j^2 + \sigma_j^2 - \log\sigma_j^2 - 1\big).$$
#
# The encoder outputs $\log\sigma^2$ (any real number) rather than $\sigma$ (which must stay positive).

# %%
def kl_normal(mu, logvar):  # (B,)
    return 0.5 * (mu ** 2 + logvar.exp() - logvar - 1).sum(dim=1)


# the closed form against a Monte Carlo estimate  KL = E_q[log q(z) - log p(z)]
g = torch.Generator().manual_seed(0)
mu, logvar = torch.tensor([[0.8, -0.5, 1.5]]), torch.tensor([[-1.0, 0.4, 0.0]])
z = mu + (0.5 * logvar).exp() * torch.randn(200_000, 3, generator=g)  # (n, 3) samples of q
log_q = (-0.5 * (z - mu) ** 2 / logvar.exp() - 0.5 * logvar - 0.5 * math.log(2 * math.pi)).sum(1)
log_p = (-0.5 * z ** 2 - 0.5 * math.log(2 * math.pi)).sum(1)
print(f"KL closed form {float(kl_normal(mu, logvar)):.4f}   Monte Carlo (200k samples) {float((log_q - log_p).mean()):.4f}")
torch.testing.assert_close(kl_normal(mu, logvar), (log_q - log_p).mean().view(1), atol=0.02, rtol=0)
torch.testing.assert_close(kl_normal(mu, logvar), vae.kl_normal(mu, logvar))

# %% [markdown]
# ### The reparameterisation trick, and why it is needed *here*
#
# The reconstruction term is an expectation over $z\sim q_\phi(z\mid x)$, a distribution whose parameters are
# the encoder's outputs. Drawing $z$ with a sampler (`Normal(mu, std).sample()`) gives a number with no gradient
# with respect to $\mu$ and $\sigma$: the encoder would get no signal from the reconstruction. Writing the same
# sample as a deterministic function of the parameters and outside noise,
#
# $$z = \mu + \sigma \odot \varepsilon,\qquad \varepsilon\sim\mathcal N(0, I),$$
#
# gives $\partial z/\partial\mu = 1$ and $\partial z/\partial\sigma = \varepsilon$ (`Normal(mu, std).rsample()` is
this same computation).

# %%
mu = torch.tensor([0.5, -1.0], requires_grad=True)
logvar = torch.tensor([0.0, 0.7], requires_grad=True)
sampled = torch.distributions.Normal(mu, (0.5 * logvar).exp()).sample()
print(f"Normal(mu, std).sample():   requires_grad={sampled.requires_grad}  (no path back to the encoder)")


def reparameterize(mu, logvar):
    return mu + (0.5 * logvar).exp() * torch.randn_like(mu)  # z = μ + σ ⊙ ε


z = reparameterize(mu, logvar)
z.sum().backward()
print(f"mu + sigma * eps:           requires_grad={z.requires_grad}, dz/dmu = {mu.grad.tolist()}")

# %% [markdown]
# > **Common misconception.** The reparameterisation trick is sometimes presented as what lets gradients reach
# > *any* encoder, the adversarial autoencoder included. It is needed only when the code is a **sample** from a
# > distribution the encoder outputs, as in the VAE. Chapter 04's AAE has a deterministic encoder, and gradients
# > reach it through $D(E(x))$ with no trick at all.
#
# The loss we minimise is the negative ELBO, with a weight $\beta$ on the KL ($\beta=1$: the ELBO itself;
# $\beta>1$: the β-VAE, trading reconstruction for a code closer to the prior):

# %%
def negative_elbo(x, logits, mu, logvar, beta=1.0):
    rec = F.binary_cross_entropy_with_logits(logits, (x + 1) / 2, reduction="none").flatten(1).sum(1)  # -log p(x|z)
    kl = kl_normal(mu, logvar)
    return (rec + beta * kl).mean(), rec.mean(), kl.mean()


def vae_step(E, Dec, x, opt, beta=1.0):
    mu, logvar = E(x)  # (B, Z) each
    loss, rec, kl = negative_elbo(x, Dec(reparameterize(mu, logvar)), mu, logvar, beta)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return {"loss": loss.detach(), "rec": rec.detach(), "kl": kl.detach()}


# the same step as the package's, from the same weights and the same noise
(E1, Dec1, _), (E2, Dec2, _) = new_models(1), new_models(1)
o1, o2 = (torch.optim.Adam([*E.parameters(), *Dec.parameters()], lr=1e-3) for E, Dec in ((E1, Dec1), (E2, Dec2)))
xb = x_train[:BATCH].to(device)
torch.manual_seed(7)
s1 = vae_step(E1, Dec1, xb, o1, beta=2.0)
torch.manual_seed(7)
s2 = vae.vae_step(E2, Dec2, xb, o2, beta=2.0)
for k in s1:
    torch.testing.assert_close(s1[k], s2[k])
print("inline VAE step == vae.vae_step")

# %% [markdown]
# The first loop: a VAE with $\beta = 1$, then the same with $\beta = 4$, same budget.

# %%
def train_vae(beta, seed=0):
    E, Dec, _ = new_models(seed)
    opt = torch.optim.Adam([*E.parameters(), *Dec.parameters()], lr=1e-3)
    stream = batches(seed)
    for step in tqdm(range(STEPS), desc=f"VAE beta={beta}", mininterval=1):
        stats = vae_step(E, Dec, next(stream), opt, beta)
    return E, Dec


E_vae, Dec_vae = train_vae(beta=1.0)
E_b4, Dec_b4 = train_vae(beta=4.0)
print(f"{'':10} {'test ELBO (nats)':>16} {'E[-log p(x|z)]':>15} {'KL':>7}")
for name, (E, Dec) in (("beta = 1", (E_vae, Dec_vae)), ("beta = 4", (E_b4, Dec_b4))):
    r = vae.elbo(E, Dec, x_test)
    print(f"{name:10} {r['elbo']:16.2f} {r['rec']:15.2f} {r['kl']:7.2f}")

# %% [markdown]
# The ELBO (in nats per image, on held-out test digits) is a bound on $\log p(x)$; higher is better. $\beta=4$
# pays for its smaller KL with a larger reconstruction term, and a lower ELBO.
#
# ### Why VAE samples are blurry
#
# Look at samples $\mathrm{Dec}(z)$, $z\sim\mathcal N(0,I)$ (we show the Bernoulli *mean* image, as is usual).

# %%
G_vae, G_b4 = vae.Generator(Dec_vae), vae.Generator(Dec_b4)
fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
plotting.image_grid(x_test[:36], nrow=6, ax=axes[0], title="real test digits")
plotting.image_grid(vae.generate(G_vae, 36, Z, seed=1), nrow=6, ax=axes[1], title="VAE samples, beta = 1")
plotting.image_grid(vae.generate(G_b4, 36, Z, seed=1), nrow=6, ax=axes[2], title="VAE samples, beta = 4")
plt.show()

# %% [markdown]
# Two reasons, both visible in the loss:
#
# 1. **A pixel-wise likelihood rewards the average.** When $z$ does not pin down every detail (stroke
#    thickness, exact position), the decoder that maximises $\mathbb{E}_q[\log p(x\mid z)]$ outputs, per pixel,
#    the *mean* of all images compatible with $z$. An average of slightly different digits is a blurred digit.
#    The picture below makes it literal: the reconstructions of one digit from several codes $z\sim q(z\mid x)$,
#    and their average next to the average of its real nearest neighbours.
# 2. **The KL pulls codes together.** Posteriors of different images overlap (the KL keeps them wide and near
#    the origin), so one $z$ must serve several images, and the decoder hedges between them. A larger $\beta$
#    means more overlap and more blur.

# %%
x0 = x_test[:1].to(device)  # (1, 1, 28, 28)
with torch.no_grad():
    E_vae.eval(), Dec_vae.eval()
    mu0, lv0 = E_vae(x0)
    z0 = mu0 + (0.5 * lv0).exp() * torch.randn(8, Z, generator=torch.Generator().manual_seed(0)).to(device)
    recs = G_vae(z0).cpu()  # (8, 1, 28, 28)
nearest = x_test[torch.cdist(x_test.flatten(1), x_test[:1].flatten(1))[:, 0].topk(8, largest=False).indices]
fig, axes = plt.subplots(1, 4, figsize=(12, 2.2), gridspec_kw={"width_ratios": [1, 8, 1, 1]})
plotting.image_grid(x0.cpu(), nrow=1, ax=axes[0], title="x")
plotting.image_grid(recs, nrow=8, ax=axes[1], title="Dec(z), z ~ q(z|x): eight codes, eight different guesses")
plotting.image_grid(recs.mean(0, keepdim=True), nrow=1, ax=axes[2], title="their mean")
plotting.image_grid(nearest.mean(0, keepdim=True), nrow=1, ax=axes[3], title="mean of 8 real\nneighbours")
plt.show()
print(f"sharpness (variance of the Laplacian, higher = crisper): real digits {vae.sharpness(x_test):.4f}, "
      f"VAE samples {vae.sharpness(vae.generate(G_vae, len(x_test), Z)):.4f}")

# %% [markdown]
# ## 2 · VAE-GAN (Larsen et al. 2016)
#
# Keep the encoder, the prior and the KL. Use the decoder also as a GAN generator, add a discriminator
# $\mathrm{Dis}$, and replace the pixel-wise likelihood by a Gaussian likelihood in a hidden layer $l$ of the
# discriminator, $\mathrm{Dis}_l$, whose features care about edges and strokes rather than exact pixel values:
#
# $$\mathcal L_\text{prior} = \mathrm{KL}(q(z\mid x)\,\|\,p(z)),\qquad
# \mathcal L^{\mathrm{Dis}_l}_\text{llike} = \tfrac12\big\lVert \mathrm{Dis}_l(\tilde x) - \mathrm{Dis}_l(x)\big\rVert^2,\ \ \tilde x = \mathrm{Dec}(z),\ z\sim q(z\mid x),$$
#
# $$\mathcal L_\text{GAN} = \log \mathrm{Dis}(x) + \log(1-\mathrm{Dis}(\tilde x)) + \log(1 - \mathrm{Dis}(\mathrm{Dec}(z_p))),\quad z_p\sim p(z).$$
#
# Each network gets its own loss (paper, Algorithm 1), and all three train **jointly**, one step each per batch:
#
# | network | minimises | why |
# |---|---|---|
# | encoder | $\beta\,\mathcal L_\text{prior} + \mathcal L^{\mathrm{Dis}_l}_\text{llike}$ | codes near the prior, reconstructions right in feature space |
# | decoder | $\gamma\,\mathcal L^{\mathrm{Dis}_l}_\text{llike} - \mathcal L_\text{GAN}$ (non-saturating: $-\log\mathrm{Dis}$ on both fakes) | reconstruct, and fool $\mathrm{Dis}$ |
# | discriminator | $-\mathcal L_\text{GAN}$ | real vs. reconstructions *and* prior samples |
#
# The GAN term does not update the encoder, and the feature loss does not update the discriminator.
#
# > **Common misconception.** The source document describes VAE-GAN as "first train a VAE, then train a GAN on
# > its latent space". Larsen et al. train the three networks **jointly** from the start, and the defining change
# > is the reconstruction loss measured in the discriminator's features, not in pixels. The same document also
# > writes "G minimises V, i.e. maximises $\log(1-D(G(z)))$": minimising $V$ means *minimising*
# > $\log(1-D(G(z)))$ (or, non-saturating, maximising $\log D(G(z))$).

# %%
GAMMA = 1.0  # weight of the feature reconstruction in the decoder's loss


def vaegan_step(E, G, D, opts, x, gamma=GAMMA):
    mu, logvar = E(x)  # (B, Z)
    x_rec = G(reparameterize(mu, logvar))  # (B, 1, 28, 28)  x~ = Dec(z), z ~ q(z|x)
    x_p = G(torch.randn_like(mu))  # (B, 1, 28, 28)  Dec(z_p), z_p ~ p(z)
    # discriminator: real -> 1, both kinds of fakes -> 0 (chapter 01's d_step; it detaches the fakes)
    stats = train.d_step(D, x, torch.cat([x_rec, x_p]), opts["D"])
    # encoder and decoder, through the updated discriminator
    f_real = D.features(x).detach()  # (B, F) a target, not trained by L_llike
    f_rec = D.features(x_rec)  # (B, F)
    l_like = 0.5 * (f_rec - f_real).pow(2).sum(1).mean()
    l_gan = losses.g_loss_nonsaturating(D.head(torch.cat([f_rec, D.features(x_p)])))
    loss_E = kl_normal(mu, logvar).mean() + l_like
    loss_G = gamma * l_like + l_gan
    # each loss is differentiated w.r.t. its own network only
    grads_E = torch.autograd.grad(loss_E, list(E.parameters()), retain_graph=True)
    grads_G = torch.autograd.grad(loss_G, list(G.parameters()))
    for net, grads, opt in ((E, grads_E, opts["E"]), (G, grads_G, opts["G"])):
        for p, g in zip(net.parameters(), grads):
            p.grad = g
        opt.step()
    return stats | {"l_like": l_like.detach(), "loss_G": l_gan.detach()}


# the same step as the package's, from the same weights and the same noise
nets = []
for _ in range(2):
    E, Dec, D = new_models(3)
    G = vae.Generator(Dec)
    nets.append((E, G, D, vae.optimizers(E, G, D)))
torch.manual_seed(5)
s1 = vaegan_step(*nets[0], xb)
torch.manual_seed(5)
s2 = vae.vaegan_step(*nets[1], xb, gamma=GAMMA)
for k in ("loss_D", "l_like", "loss_G"):
    torch.testing.assert_close(s1[k], s2[k])
for m1, m2 in zip(nets[0][:3], nets[1][:3]):
    for p, q in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(p, q)
print("inline VAE-GAN step == vae.vaegan_step (losses and every updated weight)")

# %% [markdown]
# Train the VAE-GAN, and, for reference, a plain GAN with the *same* decoder (as generator) and discriminator
# architectures, trained with chapter 01's `train.gan_step` on the same data and budget.

# %%
E_vg, Dec_vg, D_vg = new_models(0)
G_vg = vae.Generator(Dec_vg)
opts_vg = vae.optimizers(E_vg, G_vg, D_vg)
stream = batches(0)
log_vg = []
for step in tqdm(range(STEPS), desc="VAE-GAN", mininterval=1):
    stats = vaegan_step(E_vg, G_vg, D_vg, opts_vg, next(stream))
    if step % max(1, STEPS // 50) == 0:
        log_vg.append({k: float(v) for k, v in stats.items()})

_, Dec_gan, D_gan = new_models(0)
G_gan = vae.Generator(Dec_gan)
opt_G = torch.optim.Adam(G_gan.parameters(), lr=2e-4, betas=(0.5, 0.999))
opt_D = torch.optim.Adam(D_gan.parameters(), lr=2e-4, betas=(0.5, 0.999))
stream = batches(0)
for step in tqdm(range(STEPS), desc="GAN", mininterval=1):
    train.gan_step(G_gan, D_gan, opt_G, opt_D, next(stream), Z, amp=amp)

fig, ax = plt.subplots(figsize=(6, 3))
for k in ("loss_D", "loss_G", "l_like"):
    ax.plot([r[k] for r in log_vg], label=k)
ax.set_yscale("log")
ax.set_xlabel(f"step / {max(1, STEPS // 50)}")
ax.legend(frameon=False, fontsize=8)
ax.set_title("VAE-GAN losses")
plt.show()

# %% [markdown]
# ## 3 · Side by side
#
# Same data, same decoder and discriminator architectures, same number of steps. First the samples
# $\mathrm{Dec}(z)$, $z\sim\mathcal N(0, I)$, with the same $z$ for the three models:

# %%
models = {"VAE": G_vae, "VAE-GAN": G_vg, "GAN": G_gan}
fig, axes = plt.subplots(1, 4, figsize=(15, 4.2))
plotting.image_grid(x_test[:36], nrow=6, ax=axes[0], title="real")
for ax, (name, G) in zip(axes[1:], models.items()):
    plotting.image_grid(vae.generate(G, 36, Z, seed=1), nrow=6, ax=ax, title=f"{name} samples")
plt.show()

# %% [markdown]
# Reconstructions $\mathrm{Dec}(\mu(x))$ of test digits (the GAN has no encoder):

# %%
x12 = x_test[:12]
recs = [vae.reconstruct(E_vae, G_vae, x12), vae.reconstruct(E_vg, G_vg, x12)]
fig, ax = plt.subplots(figsize=(12, 3.3))
plotting.image_grid(torch.cat([x12, *recs]), nrow=12, ax=ax, title="test digits / VAE / VAE-GAN reconstructions")
plt.show()

# %% [markdown]
# Now the numbers. FD and KID are computed on the features of the **course classifier** (a small CNN trained on
# MNIST by the course, chapter 02), between the test images and as many generated samples: they are *not* FID
# values and are not comparable with published FIDs. Sharpness is the variance of the Laplacian (real digits
# give the reference). Reconstruction error is the per-pixel MSE of $\mathrm{Dec}(\mu(x))$ on test images.

# %%
net = features.course_classifier("mnist", device=device)
real_feats = features.extract_features(net, x_test)
table = {}
for name, G in models.items():
    fake = vae.generate(G, len(x_test), Z, seed=0)  # (M, 1, 28, 28)
    table[name] = features.score(net, real_feats, features.extract_features(net, fake), what=f"{name} samples")
    table[name]["sharpness"] = vae.sharpness(fake)
for name, E, G in (("VAE", E_vae, G_vae), ("VAE-GAN", E_vg, G_vg)):
    table[name]["recon_mse"] = float((vae.reconstruct(E, G, x_test) - x_test).pow(2).mean())
print(f"\n{'model':10} {features.fd_name(net):>24} {features.kid_name(net):>25} {'sharpness':>10} {'recon MSE':>10}")
for name, r in table.items():
    print(f"{name:10} {r['fd']:24.3f} {r['kid']:25.4f} {r['sharpness']:10.4f} {r.get('recon_mse', float('nan')):10.4f}")
print(f"{'real':10} {'':>24} {'':>25} {vae.sharpness(x_test):10.4f}")

# %% [markdown]
# How to read the table: compare each model's sharpness with the real digits' (the VAE's falls short: blur),
# and the FD / KID columns for how close the samples' features are to real ones. What Larsen et al. report, and
# what this comparison is built to test, is that the VAE-GAN's samples are sharper and closer to the data than
# the VAE's, while the plain GAN has no encoder and therefore no reconstructions. Expect the VAE-GAN's
# reconstructions to have a *higher* pixel MSE than the VAE's even when they look crisper: its reconstruction
# is measured in feature space, so it keeps the character of a stroke rather than its exact pixels. Pixel
# error and perceived quality disagree, a theme that returns in chapter 10 (super-resolution). At `smoke` the
# numbers mean nothing; read them at `small` or above.
#
# ## 4 · Exercises
#
# **Exercise 1.** A VAE with a *learned* prior needs the KL between two diagonal Gaussians. Write it:
# $\mathrm{KL}(\mathcal N(\mu_1,\sigma_1^2)\,\|\,\mathcal N(\mu_2,\sigma_2^2)) = \tfrac12\sum_j\big[\log\tfrac{\sigma_{2j}^2}{\sigma_{1j}^2} +
# \tfrac{\sigma_{1j}^2 + (\mu_{1j}-\mu_{2j})^2}{\sigma_{2j}^2} - 1\big]$, inputs given as log-variances.

# %% tags=["exercise"]
def kl_two_gaussians(mu1, logvar1, mu2, logvar2):
    """KL(N(mu1, diag exp(logvar1)) || N(mu2, diag exp(logvar2))), summed over the last axis: (B,)."""
    ### BEGIN SOLUTION
    return 0.5 * (logvar2 - logvar1 + (logvar1.exp() + (mu1 - mu2) ** 2) / logvar2.exp() - 1).sum(-1)
    ### END SOLUTION


# %% tags=["check"]
check.kl_two_gaussians(kl_two_gaussians)

# %% [markdown]
# **Exercise 2.** Write the VAE-GAN decoder's loss from its pieces: the feature-space reconstruction weighted
# by $\gamma$, plus the non-saturating GAN loss on the discriminator's logits for reconstructions and prior
# samples.

# %% tags=["exercise"]
def vaegan_decoder_loss(f_rec, f_real, fake_logits, gamma):
    """gamma * ½||f_rec - f_real||² (sum over features, mean over the batch) - E[log D(fake)]."""
    ### BEGIN SOLUTION
    l_like = 0.5 * (f_rec - f_real).pow(2).sum(1).mean()
    return gamma * l_like + F.softplus(-fake_logits).mean()
    ### END SOLUTION


# %% tags=["check"]
check.vaegan_decoder_loss(vaegan_decoder_loss)

# %% [markdown]
# ## Summary
#
# * The VAE's encoder outputs $q(z\mid x)=\mathcal N(\mu,\sigma^2)$; the reparameterisation $z=\mu+\sigma\varepsilon$
#   is needed because the code is *sampled* from that distribution. The ELBO is a reconstruction term plus a
#   closed-form KL (which we checked against Monte Carlo); $\beta$ trades one for the other.
# * VAE samples are blurry because a pixel-wise likelihood makes the decoder output the average of the images a
#   code could stand for, and the KL makes codes overlap.
# * VAE-GAN measures reconstruction in a discriminator's feature layer and adds the GAN loss to the decoder;
#   encoder, decoder and discriminator each minimise their own loss, trained jointly.
# * Compared with the same networks and budget: sample sharpness against the real digits', and FD / KID on the
#   course classifier's features (not FID); unlike the plain GAN, the VAE-GAN also encodes and reconstructs.
#
# Next: **chapter 06 — Self-attention GAN**.

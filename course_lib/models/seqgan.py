"""SeqGAN (Yu, Zhang, Wang and Yu, AAAI 2017): a sequence generator trained as a policy, with D as its reward.

A token is an action and the prefix generated so far is the state. Sampling a token is not differentiable, so D's
gradient cannot flow back into G as in an image GAN; instead G is trained by REINFORCE (the paper's eq. 6):

    ∇_θ J(θ) = Σ_t  E_{y_t ~ G_θ(·|Y_1:t-1)} [ ∇_θ log G_θ(y_t | Y_1:t-1) · Q(Y_1:t-1, y_t) ]

where the action value of a prefix is D's probability of "real", estimated for an unfinished prefix by N Monte
Carlo roll-outs that complete it with the roll-out policy (here G itself):

    Q(Y_1:t-1, y_t) = (1/N) Σ_n D(Y^n_1:T),  Y^n ∈ MC(Y_1:t; N)    for t < T
                    = D(Y_1:T)                                     for t = T        (the paper's eq. 4)

The synthetic experiment (§"Synthetic Data Experiments"): an *oracle* LSTM with weights drawn from N(0, 1) is the
true distribution; G learns from its samples, and a sample from G is scored by its NLL under the oracle.

The other way round the gradient problem: `sample_gumbel` replaces each sampled token by a straight-through
Gumbel-softmax one-hot (Jang et al. 2017; Maddison et al. 2017), so D's gradient does reach G and the ordinary GAN
step applies (as in Kusner & Hernández-Lobato 2016).

Dimension key: B batch, T sequence length, V vocabulary, E embedding width, H LSTM width, N roll-outs per prefix,
K = T - 1 unfinished prefixes, F discriminator features.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import nn

from .. import train

# ----------------------------------------------------------------------------------------------------------
# Sizes per scale (the chapter's notebook and `course train seqgan` read the same table)
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeqGANSizes:
    vocab: int  # V (the paper: 5,000)
    seq_len: int  # T (the paper: 20)
    emb: int  # E of G, D and the oracle (the paper: 32)
    hidden: int  # H of G and the oracle (the paper: 32)
    n_train: int  # oracle samples G learns from (the paper: 10,000)
    n_eval: int  # samples drawn to measure oracle NLL
    batch: int
    mle_steps: int  # MLE pre-training of G
    d_pre_steps: int  # pre-training of D on real vs G's samples
    adv_steps: int  # adversarial steps: one policy-gradient step of G, then `d_per_adv` D steps
    d_per_adv: int
    n_rollouts: int  # N
    lr_mle: float
    lr_pg: float
    lr_d: float
    gumbel_steps: int  # GAN steps of the Gumbel-softmax generator
    tau: float  # Gumbel-softmax temperature
    eval_every: int  # steps between oracle-NLL evaluations (the learning curve)
    seeds: int


SIZES: dict[str, SeqGANSizes] = {
    "smoke": SeqGANSizes(vocab=20, seq_len=8, emb=16, hidden=16, n_train=512, n_eval=256, batch=32, mle_steps=30,
                         d_pre_steps=10, adv_steps=6, d_per_adv=1, n_rollouts=4, lr_mle=1e-2, lr_pg=2e-3,
                         lr_d=3e-3, gumbel_steps=6, tau=1.0, eval_every=3, seeds=3),
    "small": SeqGANSizes(vocab=50, seq_len=10, emb=32, hidden=32, n_train=5_000, n_eval=2_000, batch=64,
                         mle_steps=400, d_pre_steps=300, adv_steps=80, d_per_adv=2, n_rollouts=4, lr_mle=1e-2,
                         lr_pg=2e-3, lr_d=3e-3, gumbel_steps=100, tau=1.0, eval_every=25, seeds=3),
    "full": SeqGANSizes(vocab=5_000, seq_len=20, emb=32, hidden=32, n_train=10_000, n_eval=10_000, batch=64,
                        mle_steps=12_000, d_pre_steps=3_000, adv_steps=200, d_per_adv=15, n_rollouts=16,
                        lr_mle=1e-2, lr_pg=1e-2, lr_d=1e-4, gumbel_steps=2_000, tau=1.0, eval_every=25, seeds=3),
}


def sizes(scale_name: str | None = None) -> SeqGANSizes:
    from ..scale import get_scale

    return SIZES[get_scale(scale_name).name]


# ----------------------------------------------------------------------------------------------------------
# The generator: an LSTM policy over tokens (also the oracle, with other weights)
# ----------------------------------------------------------------------------------------------------------


class Generator(nn.Module):
    """G_θ(y_t | Y_1:t-1): an LSTM reads the previous token (a start token at t = 1) and outputs logits over V."""

    def __init__(self, *, vocab: int, emb: int, hidden: int, seq_len: int):
        super().__init__()
        self.vocab, self.seq_len = vocab, seq_len
        self.embed = nn.Embedding(vocab + 1, emb)  # index `vocab` is the start token
        self.cell = nn.LSTMCell(emb, hidden)
        self.out = nn.Linear(hidden, vocab)

    def step(self, inp: torch.Tensor, state=None):
        """One time step. `inp` is token ids (M,) or one-hot / relaxed vectors (M, V); returns logits (M, V)."""
        e = self.embed(inp) if inp.dtype == torch.long else inp @ self.embed.weight[:self.vocab]  # (M, E)
        h, c = self.cell(e, state)
        return self.out(h), (h, c)  # (M, V)

    def _start(self, m: int, device) -> torch.Tensor:
        return torch.full((m,), self.vocab, dtype=torch.long, device=device)  # (M,)

    def log_probs(self, x: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """log G(x_t | x_<t) for every position, by teacher forcing: (B, T) from tokens (B, T)."""
        inp, state, out = self._start(len(x), x.device), None, []
        for t in range(x.shape[1]):
            logits, state = self.step(inp, state)  # (B, V)
            out.append(torch.log_softmax(logits / temperature, -1).gather(1, x[:, t:t + 1]))  # (B, 1)
            inp = x[:, t]
        return torch.cat(out, 1)  # (B, T)

    @torch.no_grad()
    def complete(self, prefix: torch.Tensor, prefix_len: torch.Tensor, *, temperature: float = 1.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Row m keeps prefix[m, :prefix_len[m]] and samples the rest: the Monte Carlo roll-out, for any mix of
        prefix lengths in one batch (length 0: a fresh sample). (M, T) -> (M, T)."""
        m, T = prefix.shape
        inp, state, out = self._start(m, prefix.device), None, []
        for t in range(T):
            logits, state = self.step(inp, state)  # (M, V)
            drawn = torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=generator)[:, 0]  # (M,)
            inp = torch.where(t < prefix_len, prefix[:, t], drawn)  # (M,)
            out.append(inp)
        return torch.stack(out, 1)  # (M, T)

    @torch.no_grad()
    def sample(self, n: int, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """n sequences of token ids, (n, T)."""
        device = self.out.weight.device
        empty = torch.zeros(n, self.seq_len, dtype=torch.long, device=device)
        return self.complete(empty, torch.zeros(n, dtype=torch.long, device=device), temperature=temperature,
                             generator=generator)

    def sample_gumbel(self, n: int, tau: float = 1.0) -> torch.Tensor:
        """n sequences as straight-through Gumbel-softmax one-hots, (n, T, V): the forward pass is a hard one-hot
        of a sample from G, the backward pass the gradient of the relaxed softmax((logits + g) / τ)."""
        inp, state, out = self._start(n, self.out.weight.device), None, []
        for _ in range(self.seq_len):
            logits, state = self.step(inp, state)  # (n, V)
            inp = F.gumbel_softmax(logits, tau=tau, hard=True)  # (n, V), differentiable
            out.append(inp)
        return torch.stack(out, 1)  # (n, T, V)


def oracle(*, vocab: int, emb: int, hidden: int, seq_len: int, seed: int = 0) -> Generator:
    """The synthetic experiment's true distribution: an LSTM whose every weight is drawn from N(0, 1), as in the
    paper. (PyTorch's default initialisation, uniform in ±1/√H, would give an almost uniform, uninteresting
    distribution.)"""
    g = torch.Generator().manual_seed(seed)
    net = Generator(vocab=vocab, emb=emb, hidden=hidden, seq_len=seq_len)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return net.requires_grad_(False).eval()


def nll(model: Generator, x: torch.Tensor, temperature: float = 1.0, batch: int = 2_000) -> float:
    """Mean negative log-likelihood per token of sequences x (B, T) under `model`, in nats.

    With the oracle as `model` and x drawn from G this is the paper's NLL_oracle (per token, as the reference code
    averages it); with G as `model` and held-out oracle samples as x it is NLL_test (Caccia et al. 2020), which
    punishes a G that drops modes."""
    with torch.no_grad():
        total = sum(-float(model.log_probs(x[i:i + batch], temperature).sum()) for i in range(0, len(x), batch))
    return total / x.numel()


def entropy_rate(model: Generator, n: int = 2_000, temperature: float = 1.0, seed: int = 0) -> float:
    """Monte Carlo estimate of the model's entropy per token, -E_{x~model}[log model(x)] / T, in nats."""
    gen = torch.Generator(device=model.out.weight.device).manual_seed(seed)
    x = model.sample(n, temperature=temperature, generator=gen)
    return nll(model, x, temperature)


# ----------------------------------------------------------------------------------------------------------
# The discriminator: a CNN over the token sequence (the paper's: several filter widths, max over time, highway)
# ----------------------------------------------------------------------------------------------------------


class Discriminator(nn.Module):
    def __init__(self, *, vocab: int, emb: int, filters: tuple[tuple[int, int], ...] = ((2, 32), (3, 32), (4, 32)),
                 dropout: float = 0.25):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb)
        self.convs = nn.ModuleList(nn.Conv1d(emb, n, k) for k, n in filters)
        f = sum(n for _, n in filters)
        self.highway = nn.Linear(f, 2 * f)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(f, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logit of "real" for token ids (B, T) or one-hot / relaxed tokens (B, T, V): (B, 1)."""
        e = self.embed(x) if x.dtype == torch.long else x @ self.embed.weight  # (B, T, E)
        e = rearrange(e, "b t e -> b e t")
        f = torch.cat([conv(e).relu().amax(-1) for conv in self.convs], 1)  # (B, F): max over time
        h, gate = self.highway(f).chunk(2, 1)  # highway layer (Srivastava et al. 2015), as in the paper
        gate = torch.sigmoid(gate)
        f = gate * h.relu() + (1 - gate) * f  # (B, F)
        return self.head(self.drop(f))  # (B, 1)


def build(s: SeqGANSizes) -> tuple[Generator, Discriminator]:
    return (Generator(vocab=s.vocab, emb=s.emb, hidden=s.hidden, seq_len=s.seq_len),
            Discriminator(vocab=s.vocab, emb=s.emb))


# ----------------------------------------------------------------------------------------------------------
# Reward, policy gradient and the three kinds of step
# ----------------------------------------------------------------------------------------------------------


@torch.no_grad()
def rollout_rewards(G: Generator, D: nn.Module, x: torch.Tensor, n_rollouts: int,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Q(Y_1:t-1, y_t) for every position of x (B, T): the mean of D's probability of "real" over N roll-outs
    of each unfinished prefix x[:, :t] (t = 1 .. T-1), and D(x) itself at t = T. All K·N·B roll-outs run as one
    batch of `G.complete`. Returns (B, T)."""
    B, T = x.shape
    was_training = D.training
    D.eval()  # the reward is D's judgement, without dropout noise
    K, N = T - 1, n_rollouts
    prefix = repeat(x, "b t -> (k n b) t", k=K, n=N)  # (K·N·B, T)
    lens = repeat(torch.arange(1, T, device=x.device), "k -> (k n b)", n=N, b=B)  # (K·N·B,) prefix lengths
    done = G.complete(prefix, lens, generator=generator)  # (K·N·B, T)
    q = rearrange(torch.sigmoid(D(done)), "(k n b) 1 -> k n b", k=K, n=N).mean(1)  # (K, B)
    q = torch.cat([q, rearrange(torch.sigmoid(D(x)), "b 1 -> 1 b")])  # (T, B): at t = T the reward is D(Y_1:T)
    D.train(was_training)
    return rearrange(q, "t b -> b t")  # (B, T)


def pg_loss(log_probs: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
    """The REINFORCE surrogate: -(1/B) Σ_b Σ_t log G(y_t | Y_1:t-1) · Q_t. Its gradient is -∇J (eq. 6), estimated
    from the B sampled sequences; the rewards are constants (no gradient flows through the roll-outs)."""
    return -(log_probs * rewards.detach()).sum(1).mean()


def mle_loss(G: Generator, x: torch.Tensor) -> torch.Tensor:
    """Teacher-forced NLL per token, -(1/BT) Σ log G(x_t | x_<t): the pre-training objective."""
    return -G.log_probs(x).mean()


def mle_step(G: Generator, x: torch.Tensor, opt: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    loss = mle_loss(G, x)
    train.update(opt, loss)
    return {"loss_mle": loss.detach()}


def d_step(D: nn.Module, G: Generator, real: torch.Tensor, opt_D: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """D on real sequences vs fresh samples of G: the course's `train.d_step` (token ids need no detach)."""
    return train.d_step(D, real, G.sample(len(real)), opt_D)


def pg_step(G: Generator, D: nn.Module, opt_G: torch.optim.Optimizer, batch: int,
            n_rollouts: int) -> dict[str, torch.Tensor]:
    """One SeqGAN generator step: sample B sequences, score every prefix by roll-outs, step on the surrogate."""
    x = G.sample(batch)  # (B, T) actions
    q = rollout_rewards(G, D, x, n_rollouts)  # (B, T) rewards, no gradient
    # minus a baseline, the batch's mean reward at each position: the expected gradient is unchanged
    # (E[∇ log G · b] = 0) and its variance smaller. The paper uses Q itself.
    loss = pg_loss(G.log_probs(x), q - q.mean(0, keepdim=True))
    train.update(opt_G, loss)
    return {"loss_pg": loss.detach(), "reward": q[:, -1].mean()}


def gumbel_gan_step(G: Generator, D: nn.Module, opt_G: torch.optim.Optimizer, opt_D: torch.optim.Optimizer,
                    real: torch.Tensor, tau: float = 1.0) -> dict[str, torch.Tensor]:
    """The ordinary GAN step on one-hot sequences: D on (real, fake.detach()), then G through the updated D."""
    fake = G.sample_gumbel(len(real), tau)  # (B, T, V), differentiable in G's weights
    real_oh = F.one_hot(real, G.vocab).float()  # (B, T, V)
    stats = train.d_step(D, real_oh, fake, opt_D)
    stats |= train.g_step(D, fake, opt_G)
    return stats


def optimizers(G: Generator, D: nn.Module, s: SeqGANSizes) -> dict[str, torch.optim.Optimizer]:
    """Adam for each player and phase (the reference code's choice): G's MLE, G's policy gradient, D."""
    return {"G_mle": torch.optim.Adam(G.parameters(), lr=s.lr_mle),
            "G_pg": torch.optim.Adam(G.parameters(), lr=s.lr_pg),
            "D": torch.optim.Adam(D.parameters(), lr=s.lr_d, betas=(0.5, 0.999))}


# ----------------------------------------------------------------------------------------------------------
# The three phases as one run (the notebook's seeds and `course train seqgan` both call this)
# ----------------------------------------------------------------------------------------------------------


def phases(s: SeqGANSizes) -> list[tuple[str, int]]:
    return [("mle", s.mle_steps), ("d_pretrain", s.d_pre_steps), ("adversarial", s.adv_steps)]


def _phase_optimizers(phase: str, opts: dict) -> dict:
    """The optimizers a phase updates (and its checkpoint holds)."""
    if phase == "mle":
        return {"G_mle": opts["G_mle"]}
    return {"D": opts["D"]} if phase == "d_pretrain" else {"G_pg": opts["G_pg"], "D": opts["D"]}


def run_seqgan(s: SeqGANSizes, true: Generator, data: torch.Tensor, *, seed: int = 0, run_dir=None,
               device: torch.device | str = "cpu", progress: bool = True, ckpt_every: int | None = None,
               until: str | None = None):
    """MLE pre-training of G, pre-training of D, then alternating adversarial training, each phase a run of the
    one loop (`loop.fit`; with `run_dir`: its own checkpoint `run_dir/<phase>/checkpoint.pt`, so a run resumes
    inside any phase and a finished phase is not redone). The oracle NLL of G's samples is logged every
    `eval_every` steps.

    Returns (G, D, curve, snapshot): curve = [(phase, step, oracle NLL)], snapshot = G's weights after MLE.
    `until` stops after the named phase."""
    from .. import data as course_data
    from ..loop import fit

    train.seed_everything(seed)
    G, D = (m.to(device) for m in build(s))
    true = true.to(device)
    opts = optimizers(G, D, s)
    models = {"G": G, "D": D}
    curve: list[tuple[str, int, float]] = []
    offset, snapshot = 0, None
    eval_gen = torch.Generator(device=device).manual_seed(10_000 + seed)

    def evaluate(phase, step):
        G.eval()
        curve.append((phase, offset + step, nll(true, G.sample(s.n_eval, generator=eval_gen))))
        G.train()

    evaluate("mle", 0)
    for phase, steps in phases(s):
        per = s.d_per_adv if phase == "adversarial" else 1
        batches = course_data.Batches(data.to(device), batch_size=s.batch * per, seed=seed)

        def step(real, phase=phase):
            if phase == "mle":
                return mle_step(G, real, opts["G_mle"])
            if phase == "d_pretrain":
                return d_step(D, G, real, opts["D"])
            stats = pg_step(G, D, opts["G_pg"], s.batch, s.n_rollouts)
            for chunk in real.split(s.batch):  # D then catches up on fresh samples, as in the paper
                stats |= d_step(D, G, chunk, opts["D"])
            return stats

        def after(done, phase=phase):  # `done` counts from the phase's start, also in a resumed run
            if phase != "d_pretrain" and done % s.eval_every == 0:
                evaluate(phase, done)

        fit(step, batches, steps=steps, models=models, optimizers=_phase_optimizers(phase, opts), device=device,
            run_dir=Path(run_dir) / phase if run_dir is not None else None, on_step=after,
            log_every=max(1, min(50, steps // 10 or 1)), ckpt_every=ckpt_every, progress=progress,
            desc=f"seed {seed}: {phase}")
        G.train(), D.train()  # fit leaves them in eval mode
        if phase == "mle":
            snapshot = copy.deepcopy(G.state_dict())
        offset += steps if phase != "d_pretrain" else 0
        if phase == until:
            break
    G.eval(), D.eval()
    return G, D, curve, snapshot


def oracle_data(s: SeqGANSizes, seed: int = 0) -> tuple[Generator, torch.Tensor, torch.Tensor]:
    """The oracle of the synthetic experiment, its training samples (n_train, T) and held-out samples (n_eval, T)."""
    true = oracle(vocab=s.vocab, emb=s.emb, hidden=s.hidden, seq_len=s.seq_len, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    return true, true.sample(s.n_train, generator=g), true.sample(s.n_eval, generator=g)


def uniform_nll(vocab: int) -> float:
    return math.log(vocab)

"""SeqGAN: the oracle, the roll-out reward, REINFORCE and the Gumbel-softmax step, checked against hand computations
and exact expectations on vocabularies small enough to enumerate."""

import itertools

import pytest
import torch

from course_lib.models import seqgan


def tiny(vocab=3, T=3, seed=0):
    torch.manual_seed(seed)
    return seqgan.Generator(vocab=vocab, emb=4, hidden=5, seq_len=T)


def all_sequences(vocab, T):
    return torch.tensor(list(itertools.product(range(vocab), repeat=T)))  # (V^T, T)


def test_oracle_weights_are_standard_normal_and_frozen():
    o = seqgan.oracle(vocab=50, emb=32, hidden=32, seq_len=10, seed=0)
    w = torch.cat([p.flatten() for p in o.parameters()])
    assert abs(float(w.mean())) < 0.05 and abs(float(w.std()) - 1) < 0.05
    assert not any(p.requires_grad for p in o.parameters())
    # far from uniform: N(0, 1) weights give a peaked next-token distribution
    assert seqgan.entropy_rate(o, n=500) < 0.8 * seqgan.uniform_nll(50)


def test_log_probs_match_a_hand_computed_lstm():
    G = tiny()
    x = torch.tensor([[2, 0, 1], [1, 1, 0]])
    W_ih, W_hh, b = G.cell.weight_ih, G.cell.weight_hh, G.cell.bias_ih + G.cell.bias_hh
    want = []
    for row in x.tolist():
        h, c, prev, lp = torch.zeros(5), torch.zeros(5), G.vocab, []
        for tok in row:
            gates = W_ih @ G.embed.weight[prev] + W_hh @ h + b
            i, f, g, o = gates.chunk(4)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            logits = G.out.weight @ h + G.out.bias
            lp.append(logits[tok] - torch.logsumexp(logits, 0))
            prev = tok
        want.append(torch.stack(lp))
    want = torch.stack(want)
    torch.testing.assert_close(G.log_probs(x), want)
    assert seqgan.nll(G, x) == pytest.approx(-float(want.detach().mean()), rel=1e-6)


def test_log_probs_define_a_distribution_over_whole_sequences():
    G = tiny(vocab=3, T=3)
    p = G.log_probs(all_sequences(3, 3)).sum(1).exp().detach()
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-5)


def test_complete_keeps_each_prefix_and_samples_from_G_after_it():
    G = tiny(vocab=3, T=4)
    prefix = torch.tensor([[2, 1, 0, 2]] * 3)
    lens = torch.tensor([0, 2, 4])
    out = G.complete(prefix, lens, generator=torch.Generator().manual_seed(0))
    assert out.shape == (3, 4) and torch.equal(out[1, :2], prefix[1, :2]) and torch.equal(out[2], prefix[2])
    # the first free token after prefix (2,) follows G(· | 2)
    many = G.complete(torch.tensor([[2, 0, 0, 0]]).repeat(20_000, 1), torch.ones(20_000, dtype=torch.long),
                      generator=torch.Generator().manual_seed(1))
    freq = torch.bincount(many[:, 1], minlength=3).float() / 20_000
    lp = G.log_probs(torch.tensor([[2, 0, 0, 0], [2, 1, 0, 0], [2, 2, 0, 0]]))[:, 1]
    torch.testing.assert_close(freq, lp.exp(), atol=0.015, rtol=0)


def test_sampling_a_token_cuts_the_gradient():
    G = tiny()
    logits, _ = G.step(torch.tensor([G.vocab]))
    tok = torch.multinomial(torch.softmax(logits, -1), 1)
    assert logits.requires_grad and not tok.requires_grad and tok.grad_fn is None
    assert torch.argmax(logits, -1).grad_fn is None


class ScoreD(torch.nn.Module):
    """A fixed discriminator: logit = w · (token counts), so D's score of a sequence is known exactly."""

    def __init__(self, vocab):
        super().__init__()
        self.w = torch.nn.Parameter(torch.linspace(-1.5, 1.5, vocab))

    def forward(self, x):
        oh = torch.nn.functional.one_hot(x, len(self.w)).float() if x.dtype == torch.long else x
        return (oh.sum(1) @ self.w)[:, None]  # (B, 1)


def test_rollout_reward_of_a_complete_sequence_is_D_score():
    G, D = tiny(vocab=3, T=4), seqgan.Discriminator(vocab=3, emb=4)
    D.train()  # dropout on: the reward must still be the eval-mode score
    x = G.sample(6, generator=torch.Generator().manual_seed(0))
    q = seqgan.rollout_rewards(G, D, x, n_rollouts=3)
    D.eval()
    torch.testing.assert_close(q[:, -1], torch.sigmoid(D(x))[:, 0])
    assert q.shape == (6, 4) and ((q > 0) & (q < 1)).all()


def test_rollout_reward_of_a_prefix_is_the_expected_score_of_its_completions():
    V, T = 2, 3
    G, D = tiny(vocab=V, T=T), ScoreD(V)
    seqs = all_sequences(V, T)  # (8, 3)
    p = G.log_probs(seqs).sum(1).exp().detach()
    score = torch.sigmoid(D(seqs))[:, 0].detach()
    x = torch.tensor([[1, 0, 1]])
    torch.manual_seed(0)
    q = seqgan.rollout_rewards(G, D, x, n_rollouts=20_000)[0]
    for t in (1, 2):  # Q(Y_1:t-1, y_t) = E[D(Y) | Y_1:t = x_1:t]
        match = (seqs[:, :t] == x[0, :t]).all(1)
        exact = (p[match] * score[match]).sum() / p[match].sum()
        assert float(q[t - 1]) == pytest.approx(float(exact), abs=0.01)


def test_rollouts_run_as_one_batch_not_a_loop_over_samples(monkeypatch):
    G, D = tiny(vocab=3, T=5), ScoreD(3)
    calls, sizes = [], []
    step = G.step

    def counting(inp, state=None):
        calls.append(1)
        sizes.append(len(inp))
        return step(inp, state)

    monkeypatch.setattr(G, "step", counting)
    seqgan.rollout_rewards(G, D, torch.zeros(7, 5, dtype=torch.long), n_rollouts=4)
    assert len(calls) == 5 and set(sizes) == {4 * 4 * 7}  # T steps over all K·N·B roll-outs at once


def test_reinforce_surrogate_gradient_is_the_exact_policy_gradient():
    """Over all V^T sequences weighted by their probability, the surrogate's gradient is -∇ Σ_Y G(Y) R(Y)."""
    V, T = 3, 2
    G = tiny(vocab=V, T=T)
    seqs = all_sequences(V, T)
    R = torch.rand(len(seqs), generator=torch.Generator().manual_seed(0))
    logp = G.log_probs(seqs)  # (V^T, T)
    weight = logp.sum(1).exp().detach() * len(seqs)  # pg_loss averages over the batch
    loss = seqgan.pg_loss(logp, (weight * R)[:, None].expand(-1, T))
    g_surrogate = torch.autograd.grad(loss, G.out.weight)[0]
    J = (G.log_probs(seqs).sum(1).exp() * R).sum()
    g_exact = torch.autograd.grad(J, G.out.weight)[0]
    torch.testing.assert_close(g_surrogate, -g_exact)


def test_reinforce_gradient_matches_a_finite_difference_on_one_weight():
    V, T = 2, 2
    G = tiny(vocab=V, T=T)
    seqs = all_sequences(V, T)
    R = torch.tensor([0.1, 0.9, 0.4, 0.7])

    def J():
        with torch.no_grad():
            return float((G.log_probs(seqs).sum(1).exp() * R).sum())

    logp = G.log_probs(seqs)
    w = logp.sum(1).exp().detach() * len(seqs)
    seqgan.pg_loss(logp, (w * R)[:, None].expand(-1, T)).backward()
    grad = -G.out.bias.grad[1]
    eps = 1e-3
    with torch.no_grad():
        G.out.bias[1] += eps
    up = J()
    with torch.no_grad():
        G.out.bias[1] -= 2 * eps
    down = J()
    assert float(grad) == pytest.approx((up - down) / (2 * eps), rel=1e-3, abs=1e-6)


def test_pg_loss_is_minus_mean_over_batch_of_summed_log_prob_times_reward():
    lp = torch.tensor([[-1.0, -2.0], [-0.5, -0.1]])
    q = torch.tensor([[0.5, 0.2], [1.0, 0.0]])
    assert float(seqgan.pg_loss(lp, q)) == pytest.approx(-((-0.5 - 0.4) + (-0.5)) / 2)


def test_pg_step_raises_the_probability_of_rewarded_tokens_and_moves_only_G():
    V = 3
    G, D = tiny(vocab=V, T=3), ScoreD(V)  # D prefers the last token
    opt = torch.optim.Adam(G.parameters(), lr=0.05)
    before_d = D.w.detach().clone()
    p0 = G.sample(4000, generator=torch.Generator().manual_seed(0))
    for _ in range(30):
        seqgan.pg_step(G, D, opt, batch=64, n_rollouts=2)
    p1 = G.sample(4000, generator=torch.Generator().manual_seed(0))
    assert (p1 == V - 1).float().mean() > (p0 == V - 1).float().mean() + 0.1
    torch.testing.assert_close(D.w.detach(), before_d)


def test_d_step_moves_only_D_and_gumbel_step_moves_each_player_with_its_own_optimizer():
    G, D = tiny(vocab=4, T=5), seqgan.Discriminator(vocab=4, emb=4)
    opt_G, opt_D = torch.optim.SGD(G.parameters(), lr=0.1), torch.optim.SGD(D.parameters(), lr=0.1)
    real = torch.randint(0, 4, (8, 5))
    g0 = [p.detach().clone() for p in G.parameters()]
    seqgan.d_step(D, G, real, opt_D)
    assert all(torch.equal(a, b) for a, b in zip(g0, G.parameters()))
    d0 = [p.detach().clone() for p in D.parameters()]
    stats = seqgan.gumbel_gan_step(G, D, opt_G, opt_D, real)
    assert {"loss_D", "loss_G"} <= set(stats)
    assert any(not torch.equal(a, b) for a, b in zip(g0, G.parameters()))  # D's gradient reached G
    assert any(not torch.equal(a, b) for a, b in zip(d0, D.parameters()))


def test_gumbel_sample_is_a_hard_one_hot_forward_with_a_soft_gradient():
    G = tiny(vocab=4, T=3)
    y = G.sample_gumbel(16)
    assert y.shape == (16, 3, 4) and torch.equal(y.sum(-1), torch.ones(16, 3)) and set(y.unique().tolist()) <= {0., 1.}
    (y * torch.arange(4.0)).sum().backward()
    assert G.out.weight.grad is not None and G.out.weight.grad.abs().sum() > 0


def test_discriminator_gives_the_same_logit_for_ids_and_their_one_hots():
    D = seqgan.Discriminator(vocab=6, emb=4).eval()
    x = torch.randint(0, 6, (5, 7))
    torch.testing.assert_close(D(x), D(torch.nn.functional.one_hot(x, 6).float()))


def test_mle_pretraining_lowers_oracle_nll_of_samples():
    s = seqgan.SIZES["smoke"]
    true, data, _ = seqgan.oracle_data(s)
    G, _, curve, snap = seqgan.run_seqgan(s, true, data, progress=False, until="mle")
    assert curve[-1][2] < curve[0][2] - 0.3 and snap is not None


def test_course_train_seqgan_runs_and_resumes_inside_and_across_phases(tmp_path, monkeypatch):
    from course_lib.recipes.seqgan import main
    from course_lib.runlog import read_log

    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    args = ["--scale", "smoke", "--run-dir", str(tmp_path / "r"), "--ckpt-every", "1", "--mle-steps", "4", "--d-steps", "2"]
    assert main([*args, "--steps", "1"]) == 0
    assert main([*args, "--steps", "3"]) == 0  # resumes in the adversarial phase at step 1
    rows = read_log(tmp_path / "r" / "adversarial" / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert [r["step"] for r in read_log(tmp_path / "r" / "mle" / "metrics.jsonl")] == [1, 2, 3, 4]
    res = (tmp_path / "r" / "results.json").read_text()
    assert "nll_oracle" in res and "nll_test" in res

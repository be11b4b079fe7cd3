"""GraphGAN: edge splits, Adamic-Adar and AUROC on hand-made graphs; the players' steps; learning a clear graph."""

import math

import pytest
import torch

from course_lib.models import graphgan


def two_cliques():
    """Vertices 0-3 and 4-7 each a 4-clique, joined by the single edge 3-4."""
    e = [(u, v) for c in (range(0, 4), range(4, 8)) for u in c for v in c if u < v] + [(3, 4)]
    return 8, torch.tensor(e)


def test_auroc_hand_computed_with_ties():
    scores = torch.tensor([0.9, 0.5, 0.5, 0.1])
    labels = torch.tensor([1, 1, 0, 0])
    # pairs (pos, neg): (0.9, 0.5) win, (0.9, 0.1) win, (0.5, 0.5) tie, (0.5, 0.1) win -> 3.5 / 4
    assert graphgan.auroc(scores, labels) == pytest.approx(0.875)
    assert graphgan.auroc(-scores, labels) == pytest.approx(0.125)


def test_adamic_adar_hand_computed():
    # a path 0-1-2 plus 0-3-2: vertices 0 and 2 share neighbours 1 (degree 2) and 3 (degree 2)
    A = graphgan.adjacency(4, torch.tensor([[0, 1], [1, 2], [0, 3], [2, 3]]))
    s = graphgan.adamic_adar(A, torch.tensor([[0, 2], [1, 3], [0, 1]]))
    torch.testing.assert_close(s, torch.tensor([2 / math.log(2), 2 / math.log(2), 0.0]))


def test_link_prediction_auroc_on_a_hand_made_graph():
    n, e = two_cliques()
    held_out = torch.tensor([[0, 1], [5, 6]])  # inside the cliques
    train = torch.stack([x for x in e if x.tolist() not in held_out.tolist()])
    non_edges = torch.tensor([[0, 5], [1, 6]])  # across the cliques
    pairs, labels = torch.cat([held_out, non_edges]), torch.tensor([1, 1, 0, 0])
    assert graphgan.auroc(graphgan.adamic_adar(graphgan.adjacency(n, train), pairs), labels) == 1.0


def test_edge_split_holds_out_edges_keeps_every_vertex_and_samples_true_non_edges():
    n, e = graphgan.load_graph("karate")
    assert n == 34 and len(e) == 78
    tr, pairs, labels = graphgan.edge_split(n, e, 0.1, seed=3)
    assert len(tr) + int(labels.sum()) == len(e) and int(labels.sum()) == int((1 - labels).sum()) == 8
    full = {tuple(x) for x in e.tolist()}
    assert all(tuple(p) in full for p in pairs[labels == 1].tolist())
    assert not any(tuple(p) in full or p[0] == p[1] for p in pairs[labels == 0].tolist())
    assert not {tuple(x) for x in tr.tolist()} & {tuple(p) for p in pairs[labels == 1].tolist()}
    assert (graphgan.adjacency(n, tr).sum(1) > 0).all()  # no vertex lost its last edge


def test_generator_is_a_softmax_over_other_vertices():
    m = graphgan.GraphGAN(n_vertices=6, dim=3)
    p = torch.softmax(m.g_logits(torch.tensor([0, 4])), -1)
    torch.testing.assert_close(p.sum(-1), torch.ones(2))
    assert p[0, 0] == 0 and p[1, 4] == 0
    want = torch.softmax(m.g[0] @ m.g[1:].T, -1)
    torch.testing.assert_close(p[0, 1:], want.detach())


def test_g_step_is_reinforce_towards_what_D_rewards_and_moves_only_G():
    torch.manual_seed(0)
    m = graphgan.GraphGAN(n_vertices=5, dim=4)
    with torch.no_grad():
        m.d.zero_()
        m.d[0, 0], m.d[3, 0] = 3.0, 3.0  # D believes 0-3 is an edge, nothing else
    opt = torch.optim.Adam([m.g], lr=0.05)
    d0 = m.d.detach().clone()
    before = torch.softmax(m.g_logits(torch.tensor([0])), -1)[0, 3].item()
    for _ in range(100):
        graphgan.g_step(m, torch.zeros(64, dtype=torch.long), opt)
    after = torch.softmax(m.g_logits(torch.tensor([0])), -1)[0, 3].item()
    assert after > before + 0.3
    torch.testing.assert_close(m.d.detach(), d0)


def test_d_step_moves_only_D_towards_true_neighbours():
    n, e = two_cliques()
    m = graphgan.GraphGAN(n_vertices=n, dim=4)
    opt = torch.optim.Adam([m.d], lr=0.05)
    g0 = m.g.detach().clone()
    A = graphgan.adjacency(n, e)
    for _ in range(200):
        graphgan.d_step(m, A, torch.randint(0, n, (64,)), opt)
    torch.testing.assert_close(m.g.detach(), g0)
    inside = torch.sigmoid(m.d_logits(torch.tensor([0, 5]), torch.tensor([1, 6])))
    across = torch.sigmoid(m.d_logits(torch.tensor([0, 1]), torch.tensor([6, 7])))
    assert inside.min() > across.max()


def test_graphgan_embeddings_predict_links_in_two_communities():
    # two dense 10-vertex communities with sparse links between them: G's inner product must rank held-out
    # within-community edges above cross pairs
    g = torch.Generator().manual_seed(0)
    e = [(u, v) for c in (range(0, 10), range(10, 20)) for u in c for v in c if u < v and torch.rand(1, generator=g) < 0.7]
    e += [(0, 10), (5, 15)]
    n, e = 20, torch.tensor(e)
    tr, pairs, labels = graphgan.edge_split(n, e, 0.1, seed=0)
    s = graphgan.SIZES["small"]
    m = graphgan.train_graphgan(n, tr, s, seed=0)
    assert graphgan.auroc(m.scores(pairs), labels) > 0.8

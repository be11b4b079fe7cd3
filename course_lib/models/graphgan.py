"""GraphGAN (Wang et al., AAAI 2018): node embeddings learned by a generator of neighbours and an edge critic.

For each vertex v_c, G approximates the true connectivity distribution p_true(v | v_c) (which vertices v_c links
to) and D tells true neighbours from G's samples:

    min_θG max_θD  Σ_c ( E_{v ~ p_true(·|v_c)} [log D(v, v_c)] + E_{v ~ G(·|v_c)} [log(1 - D(v, v_c))] )

    D(v, v_c) = σ(d_v · d_vc)                   (the paper's eq. 2, an embedding d per vertex)
    G(v | v_c) = softmax_v (g_v · g_vc)         (the plain softmax over vertices, eq. 3's first form)

G samples a *discrete* vertex, so, as in SeqGAN, it is trained by policy gradient (eq. 4):
∇_θG V = Σ_c E_{v~G}[∇ log G(v|v_c) · log(1 - D(v, v_c))], i.e. G's reward for a sample is -log(1 - D) =
softplus(d_v · d_vc). The paper replaces the plain softmax by a *graph softmax*: the product of softmaxes along
the path from v_c to v in a BFS tree rooted at v_c, which sums to 1, decays with graph distance, and costs
O(d log V) per sample instead of O(V). On graphs of a hundred vertices the plain softmax is exact and cheap.
The embeddings (not a generated graph) are the product: link prediction scores a vertex pair by g_u · g_v.

Dimension key: V vertices, E edges, B centre vertices per step, d embedding width, P vertex pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import losses
from ..train import update


@dataclass(frozen=True)
class GraphGANSizes:
    graph: str  # one of GRAPHS (bundled with networkx, no download)
    dim: int  # d
    steps: int  # GraphGAN steps (one D step, then one G step) per split
    batch: int  # centre vertices per step
    lr_g: float
    lr_d: float
    weight_decay: float  # the paper's L2 term λ
    test_frac: float  # share of the edges held out for link prediction
    n_splits: int  # random edge splits (these graphs leave few test edges)


SIZES: dict[str, GraphGANSizes] = {
    "smoke": GraphGANSizes(graph="karate", dim=16, steps=30, batch=64, lr_g=1e-2, lr_d=1e-2, weight_decay=1e-4,
                           test_frac=0.1, n_splits=4),
    "small": GraphGANSizes(graph="les-miserables", dim=16, steps=400, batch=128, lr_g=1e-2, lr_d=1e-2,
                           weight_decay=1e-4, test_frac=0.1, n_splits=20),
    "full": GraphGANSizes(graph="les-miserables", dim=32, steps=3_000, batch=256, lr_g=1e-2, lr_d=1e-2,
                          weight_decay=1e-4, test_frac=0.1, n_splits=50),
}


def sizes(scale_name: str | None = None) -> GraphGANSizes:
    from ..scale import get_scale

    return SIZES[get_scale(scale_name).name]


# ----------------------------------------------------------------------------------------------------------
# Graphs, edge splits, a classical baseline
# ----------------------------------------------------------------------------------------------------------

GRAPHS = {"karate": "karate_club_graph", "les-miserables": "les_miserables_graph", "florentine": "florentine_families_graph"}


def load_graph(name: str) -> tuple[int, torch.Tensor]:
    """A graph networkx ships: (number of vertices V, undirected edges (E, 2) with u < v), vertices 0..V-1."""
    import networkx as nx

    if name not in GRAPHS:
        raise KeyError(f"unknown graph {name!r}; bundled graphs: {', '.join(GRAPHS)}")
    g = nx.convert_node_labels_to_integers(getattr(nx, GRAPHS[name])())
    e = torch.tensor(sorted((min(u, v), max(u, v)) for u, v in g.edges() if u != v), dtype=torch.long)
    return g.number_of_nodes(), e  # (E, 2)


def adjacency(n: int, edges: torch.Tensor) -> torch.Tensor:
    """Symmetric 0/1 adjacency matrix (V, V) of undirected edges (E, 2)."""
    A = torch.zeros(n, n)
    A[edges[:, 0], edges[:, 1]] = 1.0
    A[edges[:, 1], edges[:, 0]] = 1.0
    return A


def edge_split(n: int, edges: torch.Tensor, test_frac: float, seed: int):
    """Hold out a random `test_frac` of the edges (never a vertex's last one, so every vertex keeps a training
    neighbour), and as many random non-edges of the whole graph. Returns (train edges (E', 2), test pairs (P, 2),
    labels (P,): 1 for a held-out edge, 0 for a non-edge)."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(edges), generator=g)
    deg = adjacency(n, edges).sum(1)
    n_test = max(1, round(test_frac * len(edges)))
    test = []
    for i in order.tolist():  # a few hundred edges, once per split: not a hot path
        u, v = edges[i].tolist()
        if deg[u] > 1 and deg[v] > 1:
            test.append(i)
            deg[u] -= 1
            deg[v] -= 1
            if len(test) == n_test:
                break
    is_test = torch.zeros(len(edges), dtype=torch.bool)
    is_test[test] = True
    A = adjacency(n, edges) + torch.eye(n)
    candidates = (A == 0).triu(1).nonzero()  # (M, 2) non-edges u < v
    neg = candidates[torch.randperm(len(candidates), generator=g)[:len(test)]]
    pairs = torch.cat([edges[is_test], neg])  # (P, 2)
    labels = torch.cat([torch.ones(len(test)), torch.zeros(len(neg))])  # (P,)
    return edges[~is_test], pairs, labels


def adamic_adar(A: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """Adamic & Adar (2003): score(u, v) = Σ_{w ∈ N(u) ∩ N(v)} 1 / log deg(w), on the training graph A (V, V).
    (A common neighbour has degree ≥ 2, so log deg(w) > 0.)"""
    deg = A.sum(1)
    w = torch.where(deg > 1, 1.0 / torch.log(deg.clamp(min=2)), torch.zeros_like(deg))  # (V,)
    S = (A * w) @ A  # (V, V): Σ_w A[u, w] w_w A[w, v]
    return S[pairs[:, 0], pairs[:, 1]]  # (P,)


def auroc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """P(score of a random positive > score of a random negative) + ½ P(tie): the Mann-Whitney statistic."""
    pos, neg = scores[labels == 1].double(), scores[labels == 0].double()
    diff = pos[:, None] - neg[None, :]  # (P+, P-)
    return float((diff > 0).double().mean() + 0.5 * (diff == 0).double().mean())


# ----------------------------------------------------------------------------------------------------------
# The two players
# ----------------------------------------------------------------------------------------------------------


class GraphGAN(nn.Module):
    def __init__(self, *, n_vertices: int, dim: int, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.g = nn.Parameter(0.1 * torch.randn(n_vertices, dim, generator=g))  # G's embeddings (V, d)
        self.d = nn.Parameter(0.1 * torch.randn(n_vertices, dim, generator=g))  # D's embeddings (V, d)

    def g_logits(self, centres: torch.Tensor) -> torch.Tensor:
        """Logits of G(v | v_c) over all vertices for each centre (B,): (B, V), a vertex never its own neighbour."""
        logits = self.g[centres] @ self.g.T  # (B, V)
        return logits.masked_fill(F.one_hot(centres, len(self.g)).bool(), float("-inf"))

    def d_logits(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Logit of D(v, u) = σ(d_v · d_u), (B,)."""
        return (self.d[u] * self.d[v]).sum(-1)

    def scores(self, pairs: torch.Tensor) -> torch.Tensor:
        """Link-prediction score of vertex pairs (P, 2) from G's embeddings: g_u · g_v, (P,)."""
        with torch.no_grad():
            return (self.g[pairs[:, 0]] * self.g[pairs[:, 1]]).sum(-1)


def d_step(model: GraphGAN, A: torch.Tensor, centres: torch.Tensor, opt_D: torch.optim.Optimizer):
    """D on true neighbours (drawn uniformly from each centre's training neighbours) vs G's samples. The sample
    is a vertex index: no gradient could reach G through it anyway."""
    real = torch.multinomial(A[centres], 1)[:, 0]  # (B,) v ~ p_true(·|v_c)
    with torch.no_grad():
        fake = torch.multinomial(torch.softmax(model.g_logits(centres), -1), 1)[:, 0]  # (B,) v ~ G(·|v_c)
    loss = losses.d_loss(model.d_logits(centres, real), model.d_logits(centres, fake))
    update(opt_D, loss)
    return {"loss_D": loss.detach()}


def g_step(model: GraphGAN, centres: torch.Tensor, opt_G: torch.optim.Optimizer):
    """REINFORCE on G(v | v_c) with reward -log(1 - D(v, v_c)) = softplus(d_v · d_vc), D fixed (no gradient)."""
    logp = torch.log_softmax(model.g_logits(centres), -1)  # (B, V)
    v = torch.multinomial(logp.detach().exp(), 1)  # (B, 1)
    with torch.no_grad():
        reward = F.softplus(model.d_logits(centres, v[:, 0]))  # (B,)
    loss = -(logp.gather(1, v)[:, 0] * reward).mean()
    update(opt_G, loss)
    return {"loss_G": loss.detach(), "reward": reward.mean()}


def train_graphgan(n: int, train_edges: torch.Tensor, s: GraphGANSizes, *, seed: int = 0) -> GraphGAN:
    """One D step then one G step on B random centres, `s.steps` times; each player its own optimizer."""
    torch.manual_seed(seed)
    model = GraphGAN(n_vertices=n, dim=s.dim, seed=seed)
    A = adjacency(n, train_edges)
    has_edge = (A.sum(1) > 0).float()  # every vertex keeps one by edge_split; a centre must have a neighbour
    opt_D = torch.optim.Adam([model.d], lr=s.lr_d, weight_decay=s.weight_decay)
    opt_G = torch.optim.Adam([model.g], lr=s.lr_g, weight_decay=s.weight_decay)
    for _ in range(s.steps):
        centres = torch.multinomial(has_edge, s.batch, replacement=True)  # (B,)
        d_step(model, A, centres, opt_D)
        g_step(model, centres, opt_G)
    return model


def link_prediction(s: GraphGANSizes, *, progress: bool = True) -> dict[str, list[float]]:
    """AUROC of GraphGAN (G's embeddings) and Adamic-Adar on `s.n_splits` random edge splits of `s.graph`."""
    from tqdm.auto import tqdm

    n, edges = load_graph(s.graph)
    out = {"graphgan": [], "adamic_adar": []}
    for split in tqdm(range(s.n_splits), desc=f"GraphGAN on {s.graph}", disable=not progress):
        tr, pairs, labels = edge_split(n, edges, s.test_frac, seed=split)
        model = train_graphgan(n, tr, s, seed=split)
        out["graphgan"].append(auroc(model.scores(pairs), labels))
        out["adamic_adar"].append(auroc(adamic_adar(adjacency(n, tr), pairs), labels))
    return out

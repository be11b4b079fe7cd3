"""Measuring a frozen representation: a linear probe and a k-NN classifier on extracted features.

Both take features computed once by a frozen network, so neither can change the network it measures.

Dimension key: N train items, M test items, F feature width, L classes.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F


@torch.no_grad()
def extract(fn: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, batch_size: int = 512,
            device: torch.device | None = None) -> torch.Tensor:
    """fn applied to `images` in batches, without gradients: (N, ...) -> (N, F) float32 on the CPU."""
    out = []
    for i in range(0, len(images), batch_size):
        x = images[i:i + batch_size]
        out.append(fn(x.to(device) if device is not None else x).float().cpu())  # (b, F)
    return torch.cat(out)  # (N, F)


def linear_probe(train_f: torch.Tensor, train_y: torch.Tensor, test_f: torch.Tensor, test_y: torch.Tensor, *,
                 steps: int = 100, weight_decay: float = 1e-4) -> float:
    """Test accuracy of multinomial logistic regression on standardised features (full-batch L-BFGS).

    Features are standardised with the training set's mean and std (MAE's probe uses a BatchNorm without affine
    parameters for the same reason: the scale of raw features must not decide the result).
    """
    mean, std = train_f.mean(0), train_f.std(0) + 1e-6  # (F,)
    a, b = (train_f - mean) / std, (test_f - mean) / std  # (N, F), (M, F)
    n_classes = int(max(train_y.max(), test_y.max())) + 1
    W = torch.zeros(a.shape[1], n_classes, requires_grad=True)  # (F, L)
    bias = torch.zeros(n_classes, requires_grad=True)  # (L,)
    opt = torch.optim.LBFGS([W, bias], lr=1.0, max_iter=steps, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(a @ W + bias, train_y) + weight_decay * W.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float(((b @ W + bias).argmax(1) == test_y).float().mean())


@torch.no_grad()
def knn_accuracy(train_f: torch.Tensor, train_y: torch.Tensor, test_f: torch.Tensor, test_y: torch.Tensor, *,
                 k: int = 20, chunk: int = 1024) -> float:
    """Test accuracy of a k-nearest-neighbour vote under cosine similarity (each neighbour votes once)."""
    a, b = F.normalize(train_f, dim=1), F.normalize(test_f, dim=1)  # (N, F), (M, F)
    n_classes = int(max(train_y.max(), test_y.max())) + 1
    k = min(k, len(a))
    correct = 0
    for i in range(0, len(b), chunk):
        sim = b[i:i + chunk] @ a.T  # (m, N)
        idx = sim.topk(k, dim=1).indices  # (m, k)
        votes = F.one_hot(train_y[idx], n_classes).sum(1).float()  # (m, L)
        votes += 1e-3 * F.one_hot(train_y[idx[:, 0]], n_classes)  # ties go to the nearest neighbour's class
        correct += int((votes.argmax(1) == test_y[i:i + chunk]).sum())
    return correct / len(b)

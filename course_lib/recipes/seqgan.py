"""`course train seqgan`: SeqGAN's synthetic experiment (an oracle LSTM with N(0, 1) weights, MLE pre-training of
G, pre-training of D, adversarial training by policy gradient), the notebook's `seqgan.run_seqgan`: three phases
of the one loop, one checkpoint each, resumed by rerunning. --steps sets every phase's length (--mle-steps and
--d-steps override it for theirs)."""

from __future__ import annotations

import dataclasses
import json

import torch

from ..models.seqgan import SIZES, Generator, entropy_rate, nll, oracle_data, run_seqgan
from . import options


def _parser():
    p = options.parser("seqgan", __doc__.split("\n\n")[0], steps_help="each phase's, from the chapter's sizes",
                       run_dir="seqgan-SCALE")
    p.add_argument("--vocab", type=int, default=None)
    p.add_argument("--seq-len", type=int, default=None)
    p.add_argument("--mle-steps", type=int, default=None)
    p.add_argument("--d-steps", type=int, default=None, help="D pre-training steps")
    p.add_argument("--ckpt-every", type=int, default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    r = options.start(a, f"seqgan-{options.use_scale(a.scale).name}")
    over = {"vocab": a.vocab, "seq_len": a.seq_len, "mle_steps": a.mle_steps or a.steps,
            "d_pre_steps": a.d_steps or a.steps, "adv_steps": a.steps}
    s = dataclasses.replace(SIZES[r.scale.name], **{k: v for k, v in over.items() if v is not None})
    true, x_train, x_test = oracle_data(s, seed=0)  # the oracle is the experiment's fixed ground truth
    G, D, curve, snap = run_seqgan(s, true, x_train, seed=a.seed, run_dir=r.run_dir, device=r.device,
                                   ckpt_every=a.ckpt_every or r.scale.ckpt_every)
    G_mle = Generator(vocab=s.vocab, emb=s.emb, hidden=s.hidden, seq_len=s.seq_len).to(r.device)
    G_mle.load_state_dict(snap)
    gen = torch.Generator(device=r.device).manual_seed(1)
    true = true.to(r.device)
    results = {"sizes": dataclasses.asdict(s), "oracle_entropy": entropy_rate(true), "curve": curve}
    for name, model in (("mle", G_mle.eval()), ("seqgan", G)):
        results[name] = {"nll_oracle": nll(true, model.sample(s.n_eval, generator=gen)),
                         "nll_test": nll(model, x_test.to(r.device))}
        print(f"{name:7} oracle NLL {results[name]['nll_oracle']:.3f}   NLL_test {results[name]['nll_test']:.3f}"
              f"   (nats per token; oracle entropy {results['oracle_entropy']:.3f})")
    r.run_dir.mkdir(parents=True, exist_ok=True)
    (r.run_dir / "results.json").write_text(json.dumps(results, indent=1))
    print(f"run folder: {r.run_dir}")
    return 0

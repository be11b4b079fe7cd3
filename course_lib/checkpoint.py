"""Checkpoints that survive interruptions and say clearly what is wrong when they cannot be used.

- A save is atomic: written to `<name>.tmp`, flushed, then renamed over the old file, so an interrupted save
  never destroys the last good checkpoint.
- Loading uses `torch.load(weights_only=True)`: a checkpoint is data, never code.
- A checkpoint holds models, optimizers, the step, the RNG states (Python, torch CPU, CUDA) and any extra
  state dicts (e.g. the data order), so a resumed run continues exactly where the last save left it.
- A corrupt, truncated or mismatched file raises `CheckpointError` naming the file and the problem.
"""

from __future__ import annotations

import os
import pickle
import random
from pathlib import Path

import torch

from .errors import CourseError

FORMAT = "course-checkpoint-v1"


class CheckpointError(CourseError, RuntimeError):
    pass


def rng_state() -> dict:
    state = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(_as_python_random_state(state["python"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_python_random_state(s):
    # torch.save keeps tuples; be lenient with lists (JSON-like round trips)
    version, internal, gauss = s
    return (version, tuple(internal), gauss)


def save_checkpoint(path: Path | str, *, step: int, models: dict[str, torch.nn.Module],
                    optimizers: dict[str, torch.optim.Optimizer] | None = None,
                    extra: dict | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "format": FORMAT,
        "step": int(step),
        "models": {k: _unwrap(m).state_dict() for k, m in models.items()},
        "optimizers": {k: o.state_dict() for k, o in (optimizers or {}).items()},
        "rng": rng_state(),
        "extra": extra or {},
    }
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)  # atomic on POSIX and Windows
    return path


def _unwrap(m: torch.nn.Module) -> torch.nn.Module:
    """The plain module inside DistributedDataParallel / torch.compile wrappers."""
    m = getattr(m, "module", m)
    return getattr(m, "_orig_mod", m)


def read_checkpoint(path: Path | str, map_location: str | torch.device = "cpu") -> dict:
    """The raw checkpoint dict, or a CheckpointError that says why it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        if "weights only" not in str(e).lower():
            raise CheckpointError(f"checkpoint {path} is corrupt or truncated and cannot be loaded "
                                  f"(UnpicklingError: {str(e).splitlines()[0]}). Delete it to start over, or "
                                  f"restore an earlier copy.") from e
        raise CheckpointError(
            f"checkpoint {path} holds Python objects that a safe (weights-only) load refuses to run, so the course "
            f"will not open it: a course checkpoint holds only tensors and plain values. Use a checkpoint written "
            f"by `course train`, or re-save yours as a state dict."
        ) from e
    except Exception as e:  # truncated zip, bad header... all mean "unusable"
        raise CheckpointError(
            f"checkpoint {path} is corrupt or truncated and cannot be loaded ({type(e).__name__}: {e}). "
            f"Delete it to start over, or restore an earlier copy."
        ) from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a course checkpoint (expected format {FORMAT!r})")
    return state


def load_checkpoint(path: Path | str, *, models: dict[str, torch.nn.Module],
                    optimizers: dict[str, torch.optim.Optimizer] | None = None,
                    restore_rng: bool = True, map_location: str | torch.device = "cpu") -> dict:
    """Load weights (and optimizer / RNG states) in place; return the checkpoint (its `step`, `extra`)."""
    path = Path(path)
    state = read_checkpoint(path, map_location)
    missing = sorted(set(models) - set(state["models"]))
    if missing:
        raise CheckpointError(f"checkpoint {path} has no weights for {missing}; it holds {sorted(state['models'])}")
    for name, model in models.items():
        problems = _mismatches(_unwrap(model).state_dict(), state["models"][name])
        if problems:
            more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
            raise CheckpointError(  # one line: the command line prints it as the whole story
                f"checkpoint {path} does not match model {name!r} (was it saved from another architecture or "
                f"scale? use another --run-dir, or delete it to start over): " + "; ".join(problems[:3]) + more)
        _unwrap(model).load_state_dict(state["models"][name])
    for name, opt in (optimizers or {}).items():
        if name not in state["optimizers"]:
            raise CheckpointError(f"checkpoint {path} has no optimizer state {name!r}")
        try:
            opt.load_state_dict(state["optimizers"][name])
        except (ValueError, KeyError) as e:
            raise CheckpointError(f"checkpoint {path}: optimizer {name!r} does not match ({e})") from e
    if restore_rng:
        set_rng_state(state["rng"])
    return state


def resume(path: Path | str, *, models: dict[str, torch.nn.Module], optimizers: dict, batches=None, log=None,
           map_location: str | torch.device = "cpu", verbose: bool = True) -> dict | None:
    """Continue a run from the checkpoint at `path` if there is one: models, optimizers and RNG states, the data
    order (`batches`, a data.Batches), and the metrics log cut back to the checkpoint's step (the steps after it
    are redone). Returns the checkpoint (its "step" and "extra"), or None when the run starts fresh."""
    path = Path(path)
    if not path.exists():
        return None
    state = load_checkpoint(path, models=models, optimizers=optimizers, map_location=map_location)
    if batches is not None:
        batches.load_state_dict(state["extra"]["batches"])
    if log is not None:
        log.truncate(state["step"])
    if verbose:
        print(f"resumed from {path} at step {state['step']}")
    return state


def _mismatches(expected: dict, found: dict) -> list[str]:
    out = [f"missing in checkpoint: {k} {tuple(v.shape)}" for k, v in expected.items() if k not in found]
    out += [f"unexpected in checkpoint: {k} {tuple(v.shape)}" for k, v in found.items() if k not in expected]
    out += [f"shape of {k}: model {tuple(v.shape)}, checkpoint {tuple(found[k].shape)}"
            for k, v in expected.items() if k in found and tuple(found[k].shape) != tuple(v.shape)]
    return out

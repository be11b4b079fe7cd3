"""`course gpu-check` and `course bench`: every recipe's models and step on one device, timed, in one JSON report.

    course gpu-check                          # CUDA, full-scale sizes, bf16 + channels_last, ~5 minutes in all
    course gpu-check --device cpu --scale smoke --steps 2     # the same path on a CPU in seconds (the tests run it)
    course bench [--recipes dcgan,mae] [--compile]            # throughput only, every recipe by default

For each `course train` recipe (course_lib.bench_cases) it builds the models at the scale's sizes and runs a few
dozen steps of the recipe's own step function, on real data where it is on disk, else on random tensors of the
real shapes labelled "speed only"; torch.compile on a representative subset (dcgan and mae: cold compiles are
slow). It times an FID-50k evaluation with an Inception-v3 of the FID architecture and random weights (the same
cost; its value means nothing), runs `course train dcgan` under torchrun with one process per device (one
process and gloo on a CPU), and writes the report with the hardware under benchmarks/. Nothing here needs the
network, CIFAR-10, or Inception / VGG weights.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from . import bench_cases, train
from .paths import REPO_ROOT
from .scale import get_scale

COMPILED = ("dcgan", "mae")  # torch.compile on these only: one conv GAN and one transformer
FID_SAMPLES = 50_000


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_recipe(name: str, scale: str, device: torch.device, *, steps: int, warmup: int, compile: bool,
                max_s: float = float("inf")) -> dict:
    """Build one recipe's case, run `warmup` then `steps` steps of its step function (fewer when they pass `max_s`
    seconds, so that the whole check keeps its time); steps/s and samples/s."""
    ctx = bench_cases.Context(get_scale(scale), device, train.autocast(device),
                              torch.compile if compile else (lambda m: m))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    train.seed_everything(0)
    start = time.perf_counter()
    case = bench_cases.CASES[name](ctx)
    built = time.perf_counter() - start
    for _ in range(warmup):
        case.step()
    _sync(device)
    t, done = time.perf_counter(), 0
    while done < max(1, steps) and (done == 0 or time.perf_counter() - t < max_s):
        stats = case.step()
        done += 1
    _sync(device)
    sec, steps = time.perf_counter() - t, done
    stats = stats if isinstance(stats, dict) else {"loss": stats}  # MAE's step returns its loss alone
    finite = all(bool(torch.isfinite(torch.as_tensor(v, dtype=torch.float32)).all()) for v in stats.values())
    return {"recipe": name, "data": case.data, "speed_only": case.data.startswith(bench_cases.SPEED_ONLY),
            "sizes": case.sizes, "params_M": round(sum(p.numel() for m in case.models.values()
                                                       for p in m.parameters()) / 1e6, 3),
            "batch": case.batch, "steps": steps, "warmup": warmup, "compile": compile,
            "bf16": device.type == "cuda" and train.bf16_supported(device), "channels_last": device.type == "cuda",
            "build_s": round(built, 3), "warmup_and_steps_s": round(time.perf_counter() - start - built, 3),
            "steps_per_s": steps / sec, "samples_per_s": steps * case.batch / sec, "finite": bool(finite),
            "peak_gpu_mb": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None,
            "peak_rss_mb_so_far": round(_rss_mb())}


def time_fid(device: torch.device, n: int, batch: int = 250) -> dict:
    """Seconds to extract Inception pool3 features of n 32x32 images, extrapolated to FID-50k (50,000 samples; the
    training set's statistics once more if not cached)."""
    from . import features

    net = features.InceptionFeatures(features.fid_inception_architecture().state_dict()).to(device)
    x = torch.rand(n, 3, 32, 32, device=device) * 2 - 1  # (n, 3, 32, 32)
    if device.type == "cuda":
        features.extract_features(net, x[:batch], batch_size=batch)  # warm-up: cuDNN picks its kernels
        _sync(device)
    t = time.perf_counter()
    feats = features.extract_features(net, x, batch_size=batch)  # (n, 2048)
    _sync(device)
    sec = time.perf_counter() - t
    return {"what": "Inception-v3, FID architecture, RANDOM weights: the same cost as the real network, a "
                    "meaningless value", "images": n, "batch": batch, "seconds": sec, "images_per_s": n / sec,
            "fid50k_samples_s": FID_SAMPLES / (n / sec), "features": list(feats.shape)}


def torchrun_smoke(n_proc: int, steps: int, *, cpu: bool, timeout: int = 240) -> dict:
    """`course train dcgan` on MNIST at smoke under torchrun: n_proc processes (NCCL on GPUs, gloo on a CPU)."""
    run_dir = Path(tempfile.mkdtemp(prefix="gpu-check-ddp-"))
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={n_proc}", "-m", "course_lib.cli",
           "train", "dcgan", "--dataset", "mnist", "--scale", "smoke", "--steps", str(steps), "--width", "16",
           "--n-eval", "256", "--run-dir", str(run_dir)]
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONPATH": os.pathsep.join([str(REPO_ROOT),
                                                                             os.environ.get("PYTHONPATH", "")])}
    if cpu:
        env["CUDA_VISIBLE_DEVICES"] = ""  # gloo on the CPU even where a GPU is present
    start = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
        rc, tail = p.returncode, (p.stdout + p.stderr).strip().splitlines()[-6:]
    except subprocess.TimeoutExpired:
        rc, tail = None, [f"timed out after {timeout} s"]
    return {"command": " ".join(cmd[2:]), "processes": n_proc, "rc": rc, "seconds": time.perf_counter() - start,
            "checkpoint_written": (run_dir / "checkpoint.pt").exists(), "tail": tail}


def hardware(device: torch.device) -> dict:
    out = {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
           "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
           "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
           "threads": torch.get_num_threads(), "device": str(device)}
    if device.type == "cuda":
        prop = torch.cuda.get_device_properties(device)
        out |= {"gpu": prop.name, "gpu_memory_gb": round(prop.total_memory / 2**30, 1),
                "gpu_count": torch.cuda.device_count(), "capability": f"{prop.major}.{prop.minor}",
                "bf16": train.bf16_supported(device)}
        try:
            out["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                           capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out["driver"] = None
    return out


def _recipes(arg: str | None) -> list[str]:
    names = list(bench_cases.CASES) if not arg else [n.strip() for n in arg.split(",") if n.strip()]
    unknown = [n for n in names if n not in bench_cases.CASES]
    if unknown:
        from .errors import UsageError

        raise UsageError(f"unknown recipe(s) {', '.join(unknown)}; recipes: {', '.join(bench_cases.CASES)}")
    return names


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--recipes", default=None, help="comma-separated (default: every recipe)")
    p.add_argument("--scale", default="full", help="sizes of the models (default full)")
    p.add_argument("--steps", type=int, default=30, help="timed steps per recipe (default 30)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    p.add_argument("--max-s", type=float, default=15.0, help="seconds of timed steps per recipe at most: fewer "
                   "steps past it (default 15)")
    p.add_argument("--device", default=None, help="default: CUDA if present, else CPU")
    p.add_argument("--out", default=None, help="the JSON report (default: benchmarks/<what>-<device>-<scale>.json)")
    return p


def run_recipes(names, scale: str, device, *, steps: int, warmup: int, compiled, max_s: float) -> list[dict]:
    rows = []
    for name in names:
        row = time_recipe(name, scale, device, steps=steps, warmup=warmup, compile=name in compiled, max_s=max_s)
        print(f"{name:13} {row['params_M']:8.2f} M params  batch {row['batch']:4}  {row['steps_per_s']:8.2f} "
              f"steps/s  {row['samples_per_s']:9.0f} samples/s  {row['data']}", flush=True)
        rows.append(row)
    return rows


def _report(kind: str, args, device, body: dict) -> Path:
    hw = hardware(device)
    tag = (hw.get("gpu") or "cpu").lower().replace(" ", "-")
    out = Path(args.out) if args.out else REPO_ROOT / "benchmarks" / f"{kind}-{tag}-{args.scale}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"kind": kind, "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
              "scale": args.scale, "hardware": hw, **body}
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"report: {out}")
    return out


def check(argv: list[str] | None = None) -> int:
    """`course gpu-check`: every recipe at the scale's sizes, the FID-50k time, a torchrun smoke; one report."""
    p = _parser("course gpu-check", "Every recipe's models and step on one device, FID-50k time, torchrun.")
    p.add_argument("--fid-images", type=int, default=None, help="images timed for FID (default 5000 on CUDA, 8 "
                   "on a CPU)")
    p.add_argument("--no-torchrun", action="store_true", help="skip the torchrun smoke")
    args = p.parse_args(argv)
    get_scale(args.scale)  # a bad scale is one line, before any work
    device = train.get_device(args.device)
    start = time.perf_counter()
    names = _recipes(args.recipes)
    compiled = COMPILED if device.type == "cuda" else ()  # the CPU mode checks the path, not the compiler
    rows = run_recipes(names, args.scale, device, steps=args.steps, warmup=args.warmup, compiled=compiled,
                       max_s=args.max_s)
    fid = time_fid(device, args.fid_images or (5000 if device.type == "cuda" else 8))
    print(f"FID-50k feature extraction: {fid['fid50k_samples_s']:.0f} s for 50,000 samples "
          f"({fid['images_per_s']:.0f} images/s; random weights, same cost)", flush=True)
    n_proc = torch.cuda.device_count() if device.type == "cuda" else 1
    ddp = None if args.no_torchrun else torchrun_smoke(n_proc, steps=4, cpu=device.type != "cuda")
    if ddp is not None:
        print(f"torchrun x{ddp['processes']}: rc {ddp['rc']} in {ddp['seconds']:.0f} s", flush=True)
    ok = all(r["finite"] for r in rows) and (ddp is None or (ddp["rc"] == 0 and ddp["checkpoint_written"]))
    _report("gpu-check", args, device, {"passed": ok, "wall_s": time.perf_counter() - start, "recipes": rows,
                                        "fid": fid, "torchrun": ddp, "peak_rss_mb": round(_rss_mb())})
    return 0 if ok else 1


def bench(argv: list[str] | None = None) -> int:
    """`course bench`: training throughput of every recipe (or those named) on this device."""
    p = _parser("course bench", "Training throughput of every recipe's step at a scale's sizes; real data where "
                "present, else random tensors of the real shapes (speed only).")
    p.add_argument("--compile", action="store_true", help="torch.compile every timed model")
    p.add_argument("--toy-seeds", type=int, default=0, metavar="S", help="instead: the cost of S seeds of a "
                   "chapter-01/03 toy GAN trained as one batch, against one seed")
    p.add_argument("--toy-recipe", default="non-saturating", help="a key of gan_zoo.TOY_RECIPES (with --toy-seeds)")
    p.add_argument("--batch-size", type=int, default=64, help="per-seed toy batch (with --toy-seeds)")
    args = p.parse_args(argv)
    if args.toy_seeds:
        from .gan_runs import bench_toy_seeds

        return bench_toy_seeds(args)
    get_scale(args.scale)
    device, names = train.get_device(args.device), _recipes(args.recipes)
    rows = run_recipes(names, args.scale, device, steps=args.steps, warmup=args.warmup,
                       compiled=names if args.compile else (), max_s=args.max_s)
    _report("bench", args, device, {"recipes": rows})
    return 0

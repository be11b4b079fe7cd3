"""The `course` command line.

    course list                         chapters from book.toml, with notebook and data status
    course doctor                       versions, device, bf16, data root, datasets and weights present
    course run NN [--scale S]           execute chapter NN's notebook headless; save the executed copy and HTML
    course verify [NN...] [--scale S]   run chapters and write their claims, time and memory to results/record.*
    course data fetch NAME...           download datasets into the data root (or say what to place where)
    course book [--scale S] [--out DIR] the course as a static website (index, chapters, instructor's view)
    course edition learner [--out DIR]  write the learner's edition (solutions removed, checks kept)
    course edition nbgrader [NN...] --out DIR   an nbgrader course folder of those chapters, assignments released
    course notebook sync [NN...]        rebuild .ipynb from the jupytext .py (keeping checked outputs)
    course train RECIPE [options]       a full-scale training run (`course train RECIPE --help` for its options)
    course bench [options]              training throughput of every recipe on this device
    course gpu-check [options]          every recipe at full size on one device, FID-50k time, torchrun: one report
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

from .course import book
from .errors import CourseError, UsageError
from .scale import PRESETS, ScaleError, get_scale


def _chapter_arg(key: str) -> book.Chapter:
    try:
        return book.chapter(key)
    except KeyError as e:
        raise UsageError(e.args[0]) from None


def cmd_list(args) -> int:
    from .data import DATASETS, dataset_present

    print(f"{'#':>2}  {'status':7}  {'notebook':8}  {'data':13}  {'GPU@full':8}  title")
    for ch in book.chapters():
        nb = "present" if ch.notebook_path.exists() else "missing"
        known = [d for d in ch.datasets if d in DATASETS]
        have = sum(dataset_present(d) for d in known)
        data = f"{have}/{len(known)} present" if known else "n/a"
        print(f"{ch.id}  {ch.status:7}  {nb:8}  {data:13}  {'yes' if ch.gpu_at_full else 'no':8}  {ch.title}")
    return 0


def cmd_doctor(args) -> int:
    import torch

    from .data import DATASETS, WEIGHTS, data_root, dataset_present, find_weights, runs_dir
    from .train import bf16_supported, get_device

    try:
        import torchvision
        tv = torchvision.__version__
    except Exception as e:  # a torchvision built for another torch fails at import
        tv = f"NOT USABLE ({type(e).__name__}: {e})"
    dev = get_device()
    try:
        scale = get_scale().name
    except ScaleError as e:
        scale = f"INVALID: {e}"
    rows = [
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("torch", torch.__version__),
        ("torchvision", tv),
        ("device", f"{dev}" + (f" ({torch.cuda.get_device_name(0)}, {torch.cuda.device_count()} GPU)"
                              if dev.type == "cuda" else "")),
        ("bf16 autocast", "yes" if dev.type == "cuda" and bf16_supported(dev) else
         "no (fp32 on this device; bf16 autocast is used on CUDA only)"),
        ("CPU threads", str(torch.get_num_threads())),
        ("scale", f"{scale}   (COURSE_SCALE={os.environ.get('COURSE_SCALE', '<unset>')})"),
        ("data root", f"{data_root()}   (COURSE_DATA_ROOT={os.environ.get('COURSE_DATA_ROOT', '<unset>')})"),
        ("runs dir", str(runs_dir())),
    ]
    for name in DATASETS:
        rows.append((f"  {name}", "present" if dataset_present(name) else f"missing -> course data fetch {name}"))
    for name, (fname, what) in WEIGHTS.items():
        path = find_weights(name)
        rows.append((f"  {name}", f"present: {path}" if path else f"absent (optional: {what}, file {fname})"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0


def cmd_run(args) -> int:
    ch = _chapter_arg(args.chapter)
    scale = get_scale(args.scale).name
    if not ch.notebook_path.exists():
        raise UsageError(f"chapter {ch.id} is {ch.status}; its notebook {ch.notebook} does not exist yet")
    out = Path(args.out) if args.out else ch.executed_dir(scale)
    from .course.notebooks import execute_notebook

    seconds = execute_notebook(ch.notebook_path, out, scale, timeout=args.cell_timeout)
    budget = ch.budget_s.get(scale)
    verdict = "" if budget is None else (f" (budget {budget} s: {'OK' if seconds <= budget else 'OVER BUDGET'})")
    print(f"chapter {ch.id} at scale {scale}: {seconds:.1f} s{verdict}\n  {out}")
    return 0


def cmd_verify(args) -> int:
    from .course.record import problems, record_path, verify_chapter

    chs = [_chapter_arg(k) for k in args.chapters] if args.chapters else [c for c in book.chapters() if c.ready]
    scale = get_scale(args.scale).name
    failed = 0
    for ch in chs:
        print(f"chapter {ch.id} at scale {scale} ...", flush=True)
        r = verify_chapter(ch, scale, cell_timeout=args.cell_timeout)
        budget = ch.budget_s.get(scale)
        over = budget is not None and r["wall_s"] > budget
        claims = [e for e in r["entries"].values() if e.get("op")]
        print(f"  {r['status']}: {sum(e['passed'] for e in claims)}/{len(claims)} claims, {r['wall_s']:.0f} s"
              + (f" (budget {budget} s{': OVER' if over else ''})" if budget else "")
              + f", peak {r['peak_rss_mb'] or 0:.0f} MB")
        for e in claims:
            if not e["passed"]:
                print(f"  FAILED {e['name']}: {e['text']}: {e['value']:.4g} (claim {e['op']} {e['threshold']:g})")
        if r.get("error"):
            print("  " + r["error"].replace("\n", "\n  "))
        failed += r["status"] != "passed"
    print(f"record: {record_path(scale)} (and .md)")
    if scale == "small":
        for p in problems():
            print(f"  note: {p}")
    return 1 if failed else 0


def cmd_data_fetch(args) -> int:
    from .data import DataMissingError, fetch

    failed = 0
    for name in args.names:
        try:
            print(f"{name}: ready in {fetch(name)}")
        except (DataMissingError, KeyError) as e:
            print(f"{name}: {e}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def cmd_edition(args) -> int:
    from .course.exercises import write_learner_edition

    out = Path(args.out) if args.out else book.REPO_ROOT / "editions" / "learner"
    for p in write_learner_edition(out, args.chapters or None):
        print(p)
    return 0


def cmd_edition_nbgrader(args) -> int:
    from .course.grading import release, write_course

    write_course(args.out, args.chapters or None, scale=args.scale, cell_timeout_s=args.cell_timeout)
    for p in [] if args.no_release else release(args.out, args.chapters or None):
        print(p)
    print(f"nbgrader course folder: {args.out}  (next: cd {args.out} && nbgrader autograde ASSIGNMENT)")
    return 0


def cmd_notebook_sync(args) -> int:
    from .course.notebooks import sync_notebook

    chs = [_chapter_arg(k) for k in args.chapters] if args.chapters else [c for c in book.chapters()
                                                                           if c.script_path.exists()]
    for ch in chs:
        sync_notebook(ch.script_path, ch.notebook_path)
        print(f"{ch.script_path.name} -> {ch.notebook_path.name}")
    return 0


def cmd_train(args) -> int:
    from .recipes import RECIPES  # imported here: it loads torch and every model, which `course list` needs not

    if args.recipe not in RECIPES:
        raise UsageError(f"unknown training recipe {args.recipe!r}; recipes: {', '.join(sorted(RECIPES))}")
    return RECIPES[args.recipe](args.rest)


def cmd_bench(args) -> int:
    from .gpu_check import bench

    return bench(args.rest)


def cmd_gpu_check(args) -> int:
    from .gpu_check import check

    return check(args.rest)


def cmd_book(args) -> int:
    from .course.site import main as book_main

    return book_main(args.rest)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="course", description="The course's command line.")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="chapters and their status").set_defaults(fn=cmd_list)
    sub.add_parser("doctor", help="what this machine has").set_defaults(fn=cmd_doctor)
    r = sub.add_parser("run", help="execute a chapter's notebook headless")
    r.add_argument("chapter", help="number (01) or slug")
    r.add_argument("--scale", choices=list(PRESETS), default=None, help="default: $COURSE_SCALE or small")
    r.add_argument("--out", help="output folder (default outputs/NN-slug/SCALE)")
    r.add_argument("--cell-timeout", type=int, default=3600, help="seconds one cell may take")
    r.set_defaults(fn=cmd_run)
    v = sub.add_parser("verify", help="run chapters and write the verified record of their claims")
    v.add_argument("chapters", nargs="*", help="numbers or slugs (default: every ready chapter)")
    v.add_argument("--scale", choices=list(PRESETS), default="small")
    v.add_argument("--cell-timeout", type=int, default=3600, help="seconds one cell may take")
    v.set_defaults(fn=cmd_verify)
    bk = sub.add_parser("book", help="build the course website (`course book --help`)", add_help=False)
    bk.add_argument("rest", nargs=argparse.REMAINDER)
    bk.set_defaults(fn=cmd_book)
    d = sub.add_parser("data", help="datasets").add_subparsers(dest="data_cmd", required=True)
    f = d.add_parser("fetch", help="download datasets into the data root")
    f.add_argument("names", nargs="+")
    f.set_defaults(fn=cmd_data_fetch)
    e = sub.add_parser("edition", help="write an edition of the course").add_subparsers(dest="edition", required=True)
    le = e.add_parser("learner", help="solutions removed, checks kept")
    le.add_argument("chapters", nargs="*", help="numbers or slugs (default: every ready chapter)")
    le.add_argument("--out", help="output folder (default editions/learner)")
    le.set_defaults(fn=cmd_edition)
    ng = e.add_parser("nbgrader", help="an nbgrader course folder: assignments released, ready to autograde")
    ng.add_argument("chapters", nargs="*", help="numbers or slugs (default: every ready chapter)")
    ng.add_argument("--out", required=True, help="the course folder (made if missing)")
    ng.add_argument("--scale", choices=list(PRESETS), default="smoke", help="scale the autograder runs at")
    ng.add_argument("--cell-timeout", type=int, default=None, help="seconds a cell may run (default: book.toml)")
    ng.add_argument("--no-release", action="store_true", help="write the source folder only")
    ng.set_defaults(fn=cmd_edition_nbgrader)
    n = sub.add_parser("notebook", help="notebook maintenance").add_subparsers(dest="nb_cmd", required=True)
    s = n.add_parser("sync", help="rebuild .ipynb from the jupytext .py")
    s.add_argument("chapters", nargs="*")
    s.set_defaults(fn=cmd_notebook_sync)
    t = sub.add_parser("train", help="a full-scale training run", add_help=False)
    t.add_argument("recipe")
    t.add_argument("rest", nargs=argparse.REMAINDER)
    t.set_defaults(fn=cmd_train)
    b = sub.add_parser("bench", help="every recipe's training throughput on this device (`course bench --help`)",
                       add_help=False)
    b.add_argument("rest", nargs=argparse.REMAINDER)
    b.set_defaults(fn=cmd_bench)
    gc = sub.add_parser("gpu-check", help="every recipe at full size on one device, FID-50k time, torchrun: one "
                        "JSON report under benchmarks/ (`course gpu-check --help`)", add_help=False)
    gc.add_argument("rest", nargs=argparse.REMAINDER)
    gc.set_defaults(fn=cmd_gpu_check)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv[:1] == ["bench"]:  # its options go straight to the benchmark's own parser
            return cmd_bench(argparse.Namespace(rest=argv[1:]))
        if argv[:1] == ["gpu-check"]:
            return cmd_gpu_check(argparse.Namespace(rest=argv[1:]))
        if argv[:1] == ["book"]:
            return cmd_book(argparse.Namespace(rest=argv[1:]))
        args = build_parser().parse_args(argv)
        return args.fn(args)
    except CourseError as e:  # the user's to fix: the message says how; a traceback would bury it
        print(f"course: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())

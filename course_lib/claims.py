"""Claims: the phenomena a chapter teaches, checked by the measurement that shows them.

A chapter states what its run must show as a claim, next to the exercise checks:

    from course_lib.claims import claim, measured

    claim("grid_modes_wgan_gp", [21, 23, 20], ">=", 20,
          "WGAN-GP recovers at least 20 of the 25 grid modes (mean of 3 seeds)")
    measured("fd_ns", 235.1)  # a number the prose quotes that is not itself a claim

At `small` and `full` a claim that fails raises `ClaimFailed` with the claim and the measured value, so the
notebook (and `course verify`) fails; at `smoke` the numbers mean little, so claims are computed and printed but
not enforced. A list of values is one value per seed: the claim tests their mean, the record keeps all of them.

When `$COURSE_RECORD` names a file (as `course verify` does), every claim and measurement is appended to it as
one JSON line; `course verify` collects them into the verified record, `results/record.json`. The prose cites
record entries as `{rec:NAME}` (or `{rec:NAME:.1f}`, `{rec:NAME:pm}` for mean ± sd over seeds), filled in from
that record when the notebook is built from its source (`course notebook sync`): the numbers the text quotes
are the ones the verified run measured, never ones typed from memory.
"""

from __future__ import annotations

import json
import math
import operator
import os
import re
from dataclasses import asdict, dataclass, field

RECORD_ENV = "COURSE_RECORD"
OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
NAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")
CITATION = re.compile(r"\{rec:([a-z0-9][a-z0-9_.\-]*)(?::([^}]+))?\}")


class ClaimFailed(AssertionError):
    pass


@dataclass
class Entry:
    name: str
    value: float
    values: list[float] | None = None  # one per seed, when measured over several
    sd: float | None = None
    op: str | None = None  # claims only
    threshold: float | None = None
    passed: bool | None = None
    text: str | None = None
    unit: str | None = None
    scale: str | None = None
    extra: dict = field(default_factory=dict)


def _summary(value) -> tuple[float, list[float] | None, float | None]:
    if isinstance(value, (list, tuple)) or (hasattr(value, "ndim") and getattr(value, "ndim", 0) > 0):
        values = [float(v) for v in value]
        if not values:
            raise ValueError("a claim needs at least one measured value")
        mean = sum(values) / len(values)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
        return mean, values, sd
    return float(value), None, None


def _scale() -> str:
    from .scale import get_scale

    return get_scale().name


def _record(entry: Entry) -> None:
    path = os.environ.get(RECORD_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(asdict(entry)) + "\n")


def _check_name(name: str) -> None:
    if not NAME.match(name):
        raise ValueError(f"record names are lower-case letters, digits, '_', '.', '-': got {name!r}")


def format_value(entry: dict, spec: str | None = None) -> str:
    """How the prose shows an entry: `pm` gives mean ± sd, any other spec is a format spec for the value;
    without one, integers print as integers and other numbers with three significant digits."""
    v = entry["value"]
    if spec == "pm":
        sd = entry.get("sd") or 0.0
        return f"{format_value(entry)} ± {_fmt(sd)}"
    if spec:
        return format(v, spec)
    return _fmt(v)


def _fmt(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e9:
        return str(int(v))
    return f"{v:.3g}"


def claim(name: str, value, op: str, threshold: float, text: str, *, unit: str | None = None) -> Entry:
    """Check that `value` (or the mean of a list of per-seed values) `op` `threshold`; print the verdict.

    Enforced at `small` and `full` (a failure raises ClaimFailed), printed only at `smoke`."""
    _check_name(name)
    if op not in OPS:
        raise ValueError(f"op must be one of {', '.join(OPS)}, got {op!r}")
    mean, values, sd = _summary(value)
    scale = _scale()
    passed = bool(OPS[op](mean, threshold))
    entry = Entry(name, mean, values, sd, op, float(threshold), passed, text, unit, scale)
    _record(entry)
    shown = format_value(asdict(entry), "pm" if values and len(values) > 1 else None)
    seeds = f" over {len(values)} seeds {[_fmt(v) for v in values]}" if values and len(values) > 1 else ""
    verdict = f"{text}: measured {shown}{seeds} (claim: {op} {_fmt(float(threshold))})"
    if passed:
        print(f"\u2713 claim {name}: {verdict}")
    elif scale == "smoke":
        print(f"\u2717 claim {name} (not enforced at smoke, where the numbers mean little): {verdict}")
    else:
        raise ClaimFailed(f"claim {name} failed at scale {scale}: {verdict}")
    return entry


def measured(name: str, value, *, unit: str | None = None, **extra) -> Entry:
    """Record a number the prose quotes (a list: one value per seed); no threshold, nothing enforced."""
    _check_name(name)
    mean, values, sd = _summary(value)
    entry = Entry(name, mean, values, sd, unit=unit, scale=_scale(), extra=extra)
    _record(entry)
    return entry


def read_entries(path) -> dict[str, dict]:
    """The entries a run appended to a $COURSE_RECORD file, by name (a later entry of the same name wins)."""
    out: dict[str, dict] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                e = json.loads(line)
                out[e["name"]] = e
    return out


def citations(text: str) -> list[str]:
    """The record entries a text cites, in order."""
    return [m.group(1) for m in CITATION.finditer(text)]


def fill(text: str, entries: dict[str, dict], where: str = "", strict: bool = True) -> str:
    """Replace every `{rec:NAME[:SPEC]}` in `text` by the entry's value. A missing entry is an error, or with
    strict=False is shown as such in the text."""

    def sub(m):
        name, spec = m.group(1), m.group(2)
        if name not in entries and not strict:
            return f"[not measured: {name}]"
        if name not in entries:
            raise KeyError(f"{where}: the text cites {{rec:{name}}}, which the verified record does not hold; "
                           f"run `course verify` for this chapter at small scale")
        return format_value(entries[name], spec)

    return CITATION.sub(sub, text)

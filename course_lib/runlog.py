"""A small metrics log: one JSON object per line, appended, so a resumed run keeps its history."""

from __future__ import annotations

import json
import math
from pathlib import Path


class RunLog:
    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path is not None else None
        self.rows: list[dict] = []
        if self.path is not None and self.path.exists():
            self.rows = read_log(self.path)

    def log(self, step: int, **values: float) -> None:
        row = {"step": int(step), **{k: _plain(v) for k, v in values.items()}}
        self.rows.append(row)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as f:
                f.write(json.dumps(row) + "\n")

    def truncate(self, step: int) -> None:
        """Forget rows after `step` (a resumed run redoes them); rewrites the file."""
        self.rows = [r for r in self.rows if r["step"] <= step]
        if self.path is not None and self.path.exists():
            self.path.write_text("".join(json.dumps(r) + "\n" for r in self.rows))

    def series(self, key: str) -> tuple[list[int], list[float]]:
        pairs = [(r["step"], r[key]) for r in self.rows if key in r]
        return [p[0] for p in pairs], [p[1] for p in pairs]


def _plain(v) -> float:
    v = float(v.item() if hasattr(v, "item") else v)
    return v if math.isfinite(v) else float("nan")


def read_log(path: Path | str) -> list[dict]:
    rows = []
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line cut by an interrupted write: keep what came before it
    return rows

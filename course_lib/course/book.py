"""The course manifest, `book.toml`, read with tomllib. The only place the chapter list is written."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..paths import REPO_ROOT

BOOK_PATH = REPO_ROOT / "book.toml"
OUTPUTS = REPO_ROOT / "outputs"  # executed notebooks: `course run`, `course verify`, and the site's --reuse
STATUSES = ("planned", "ready")


@dataclass(frozen=True)
class Chapter:
    number: int
    slug: str
    title: str
    summary: str
    notebook: str  # path relative to the repository root
    sources: tuple[str, ...]
    datasets: tuple[str, ...]
    gpu_at_full: bool
    status: str
    budget_s: dict

    @property
    def id(self) -> str:
        return f"{self.number:02d}"

    @property
    def notebook_path(self) -> Path:
        return REPO_ROOT / self.notebook

    @property
    def script_path(self) -> Path:
        """The jupytext percent-format twin of the notebook: the file reviewers read."""
        return self.notebook_path.with_suffix(".py")

    def executed_dir(self, scale: str, root: Path | str = OUTPUTS) -> Path:
        """Where an executed copy of the notebook at `scale` lives: `course run` and `course verify` write it, the
        test plugin writes nbval's run there, and the site build reuses it."""
        return Path(root) / f"{self.id}-{self.slug}" / scale

    @property
    def ready(self) -> bool:
        return self.status == "ready"


def load_book(path: Path | str = BOOK_PATH) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


def chapters(path: Path | str = BOOK_PATH) -> list[Chapter]:
    book = load_book(path)
    out = []
    for c in book["chapter"]:
        if c["status"] not in STATUSES:
            raise ValueError(f"{path}: chapter {c['number']} has status {c['status']!r}; use one of {STATUSES}")
        out.append(Chapter(
            number=c["number"], slug=c["slug"], title=c["title"], summary=c["summary"],
            notebook=c["notebook"], sources=tuple(c["sources"]), datasets=tuple(c["datasets"]),
            gpu_at_full=c["gpu_at_full"], status=c["status"], budget_s=dict(c["budget_s"]),
        ))
    return out


def chapter(key: int | str) -> Chapter:
    """Look a chapter up by number (1, "01") or slug ("gan-fundamentals")."""
    for c in chapters():
        if str(key) in (c.slug, c.id, str(c.number)):
            return c
    known = ", ".join(f"{c.id} ({c.slug})" for c in chapters())
    raise KeyError(f"no chapter {key!r} in book.toml; chapters are: {known}")

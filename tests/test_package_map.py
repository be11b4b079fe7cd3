"""The package map in course_lib/__init__.py names every module, and only modules that exist."""

import re
from pathlib import Path

import course_lib

ROOT = Path(course_lib.__file__).parent


def test_the_package_map_names_every_module_and_nothing_else():
    doc = course_lib.__doc__
    top = {p.stem for p in ROOT.glob("*.py") if p.stem != "__init__"}
    top |= {p.name + "/" for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    named = set(re.findall(r"^    ([a-z0-9_]+/?)\s{2,}", doc, re.M))
    assert named == top, f"missing from the map: {sorted(top - named)}; named but absent: {sorted(named - top)}"
    models = {p.stem for p in (ROOT / "models").glob("*.py") if p.stem != "__init__"}
    listed = re.search(r"models/\s+one self-contained module per model family: ([a-z0-9_,\s]+)", doc).group(1)
    assert {m.strip() for m in listed.split(",")} == models

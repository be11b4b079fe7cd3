"""The package map (course_lib/__init__.py and the README) names every module, and only modules that exist; the
course tooling starts without torch; the library does not import the course tooling."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import course_lib

ROOT = Path(course_lib.__file__).parent
README = ROOT.parent / "README.md"
TOOLING = ("course", "cli", "claims", "checks")  # the layers the library must not import


def modules() -> set[str]:
    """Every module of the package as the map writes it: `losses`, `models/dcgan`, `checks/chNN`."""
    found = set()
    for p in ROOT.rglob("*.py"):
        rel = p.relative_to(ROOT).with_suffix("").as_posix()
        if p.name == "__init__.py":
            continue
        found.add(re.sub(r"^checks/ch\d\d$", "checks/chNN", rel))
    return found


def named(text: str) -> set[str]:
    """The names of the map's lines: four spaces, a module path, two or more spaces, what it is."""
    return set(re.findall(r"^    ([a-z0-9_]+(?:/[a-zA-Z0-9_]+)?)\s{2,}\S", text, re.M))


def readme_map() -> str:
    text = README.read_text(encoding="utf-8")
    m = re.search(r"^### The package map\n.*?^```\n(.*?)^```", text, re.M | re.S)
    assert m, "README.md has no '### The package map' section with a code block"
    return m.group(1)


@pytest.mark.parametrize("where", ["course_lib/__init__.py", "README.md"])
def test_the_package_map_names_every_module_and_nothing_else(where):
    text = course_lib.__doc__ if where.endswith(".py") else readme_map()
    have, listed = modules(), named(text)
    assert listed == have, (f"{where}: missing from the map: {sorted(have - listed)}; "
                            f"named but absent: {sorted(listed - have)}")


def test_the_map_reader_sees_a_module_added_or_removed():
    text = course_lib.__doc__
    assert "models/dcgan" in named(text) and "course/book" in named(text) and "checks/chNN" in named(text)
    assert named(text + "\n    newthing           a module nobody wrote\n") != modules()
    assert named(text.replace("    losses ", "    lossez ")) != modules()


def test_both_maps_say_the_same():
    assert named(course_lib.__doc__) == named(readme_map())


def _tooling_modules() -> list[str]:
    return sorted(f"course_lib.course.{p.stem}" for p in (ROOT / "course").glob("*.py"))


@pytest.mark.parametrize("module", _tooling_modules())
def test_course_tooling_imports_without_torch(module):
    code = f"import sys, {module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT.parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False", f"importing {module} imports torch"


def _imports(path: Path) -> set[str]:
    """The course_lib modules a file imports (anywhere in it), dotted and relative to the package: `course.book`."""
    package = list(path.relative_to(ROOT).parent.parts)  # models/sagan.py -> ["models"]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name.removeprefix("course_lib.") for a in node.names if a.name.startswith("course_lib.")}
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - node.level + 1] + (node.module.split(".") if node.module else [])
            out |= {".".join(base) or a.name for a in node.names} if node.module else \
                {".".join(base + [a.name]) for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_lib"):
            mod = node.module.removeprefix("course_lib").lstrip(".")
            out |= {mod} if mod else {a.name for a in node.names}
    return out


def test_the_library_imports_no_course_tooling():
    library = [p for p in ROOT.rglob("*.py") if p.relative_to(ROOT).with_suffix("").parts[0] not in TOOLING]
    assert {"data.py", "sagan.py"} <= {p.name for p in library}
    bad = {str(p.relative_to(ROOT)): sorted(m for m in _imports(p) if m.split(".")[0] in TOOLING) for p in library}
    assert not {k: v for k, v in bad.items() if v}, f"library modules importing the course tooling: {bad}"


def test_the_import_reader_sees_relative_and_absolute_imports(tmp_path):
    f = ROOT / "recipes" / "sagan.py"
    assert "data" in _imports(f) and "models.sagan" in _imports(f)  # `from .. import data`, `from ..models.sagan ...`
    assert "exercises" not in {m.split(".")[-1] for m in _imports(ROOT / "data.py")}
    assert "course.exercises" in _imports(ROOT / "checks" / "ch01.py")  # `from ..course.exercises import call`

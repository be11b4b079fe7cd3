"""Claims, the verified record and the citations the prose makes of it."""

from __future__ import annotations

import json

import pytest

from course_lib import claims
from course_lib.course import book, record


@pytest.fixture
def at(monkeypatch):
    def set_scale(name):
        monkeypatch.setenv("COURSE_SCALE", name)
    return set_scale


def test_claim_passes_and_prints(at, capsys):
    at("small")
    e = claims.claim("modes", [21, 23, 22], ">=", 20, "WGAN-GP recovers most grid modes")
    assert e.passed and e.value == pytest.approx(22.0) and e.sd == pytest.approx(1.0)
    out = capsys.readouterr().out
    assert "✓ claim modes" in out and "22 ± 1" in out and "3 seeds" in out


@pytest.mark.parametrize("scale", ["small", "full"])
def test_failed_claim_raises_with_value_at_small_and_full(at, scale):
    at(scale)
    with pytest.raises(claims.ClaimFailed, match=r"measured 0\.42.*claim: >= 0\.9"):
        claims.claim("auroc", 0.42, ">=", 0.9, "AnoGAN's AUROC is well above chance")


def test_failed_claim_only_prints_at_smoke(at, capsys):
    at("smoke")
    e = claims.claim("auroc", 0.42, ">=", 0.9, "AUROC well above chance")
    assert not e.passed and "not enforced at smoke" in capsys.readouterr().out


def test_claim_tests_the_mean_of_seeds_not_the_best(at):
    at("small")
    with pytest.raises(claims.ClaimFailed):
        claims.claim("modes", [25, 10, 10], ">=", 20, "mean over seeds")


def test_bad_operator_and_name_are_errors(at):
    at("small")
    with pytest.raises(ValueError, match="op must be"):
        claims.claim("x", 1.0, "=>", 0, "t")
    with pytest.raises(ValueError, match="lower-case"):
        claims.measured("Bad Name", 1.0)


def test_entries_are_appended_to_the_run_log(at, tmp_path, monkeypatch):
    at("small")
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv(claims.RECORD_ENV, str(log))
    claims.claim("a", 2.0, "<", 3, "two is below three")
    claims.measured("b", [1.0, 3.0], unit="dB")
    claims.measured("a", 2.5)  # a later entry of the same name wins
    got = claims.read_entries(log)
    assert set(got) == {"a", "b"} and got["a"]["value"] == 2.5 and got["b"]["values"] == [1.0, 3.0]
    assert got["b"]["unit"] == "dB" and got["b"]["sd"] == pytest.approx(2 ** 0.5)


def test_fill_formats_and_refuses_missing_entries():
    entries = {"fd": {"value": 235.14}, "modes": {"value": 22.0, "sd": 1.0}, "n": {"value": 7.0}}
    text = "FD {rec:fd}, {rec:fd:.1f}; modes {rec:modes:pm}; {rec:n} of 8; λ = 10 stays"
    assert claims.fill(text, entries) == "FD 235, 235.1; modes 22 ± 1; 7 of 8; λ = 10 stays"
    assert claims.citations(text) == ["fd", "fd", "modes", "n"]
    with pytest.raises(KeyError, match="does not hold"):
        claims.fill("{rec:nope}", entries)
    assert claims.fill("{rec:nope}", entries, strict=False) == "[not measured: nope]"


def _chapter(tmp_path, source: str) -> book.Chapter:
    (tmp_path / "99_tiny.py").write_text(source, encoding="utf-8")
    return book.Chapter(number=99, slug="tiny", title="Tiny", summary="", notebook=str(tmp_path / "99_tiny.ipynb"),
                        sources=(), datasets=(), gpu_at_full=False, status="ready", budget_s={"small": 60})


TINY = """# %% [markdown]
# The run measured {rec:answer} and {rec:ratio:.2f}.

# %%
from course_lib.claims import claim, measured
measured("answer", 42)
claim("ratio", [0.5, 0.7], ">", THRESHOLD, "the ratio is large enough")
"""


def test_verify_writes_the_record_and_problems_names_what_disagrees(tmp_path, monkeypatch):
    monkeypatch.setattr(record, "RESULTS_DIR", tmp_path / "results")
    ch = _chapter(tmp_path, TINY.replace("THRESHOLD", "0.1"))
    r = record.verify_chapter(ch, "small", cell_timeout=120, out=tmp_path / "out")
    assert r["status"] == "passed", r.get("error")
    assert r["entries"]["answer"]["value"] == 42 and r["entries"]["ratio"]["values"] == [0.5, 0.7]
    assert r["source_sha"] == record.source_hash(ch) and r["peak_rss_mb"] > 10
    saved = json.loads((tmp_path / "results" / "record.json").read_text())
    assert saved["chapters"]["99"]["entries"]["ratio"]["passed"] is True
    assert "`ratio`: the ratio is large enough" in (tmp_path / "results" / "record.md").read_text()
    executed = (tmp_path / "out" / "99_tiny.ipynb").read_text()
    assert "measured 42 and 0.60" in executed  # the executed copy shows this run's numbers
    assert record.problems([ch]) == []
    from course_lib.course import site

    page = site.claims_cell(ch, "smoke").source  # the chapter's page closes with its verified claims
    assert "| the ratio is large enough | 0.6 ± 0.141 (seeds: 0.5, 0.7) | > 0.1 | pass |" in page
    assert "stale" not in page and "executed at `smoke`" in page

    ch.script_path.write_text(TINY.replace("THRESHOLD", "0.1") + "# an edit\n", encoding="utf-8")
    assert any("stale" in p for p in record.problems([ch]))
    ch.script_path.write_text(TINY.replace("THRESHOLD", "0.1").replace("{rec:answer}", "{rec:gone}"))
    assert any("does not hold: gone" in p for p in record.problems([ch]))


def test_verify_records_a_failed_claim_as_failed(tmp_path, monkeypatch):
    monkeypatch.setattr(record, "RESULTS_DIR", tmp_path / "results")
    ch = _chapter(tmp_path, TINY.replace("THRESHOLD", "0.9"))
    r = record.verify_chapter(ch, "small", cell_timeout=120, out=tmp_path / "out")
    assert r["status"] == "failed" and r["entries"]["ratio"]["passed"] is False
    assert "claim ratio failed" in r["error"]
    assert any("did not pass" in p for p in record.problems([ch]))


def test_the_committed_record_agrees_with_every_chapter():
    """Every chapter that claims or cites was verified on its current source, and holds what it cites."""
    assert record.problems() == []

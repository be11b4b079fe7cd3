"""The course's pytest plugin: slow tests are skipped unless asked for."""

import os
import subprocess
import sys

import pytest

TWO_TESTS = '''
import pytest

def test_fast():
    pass

@pytest.mark.slow
def test_slow():
    pass
'''


@pytest.mark.parametrize("args, outcome", [([], "1 passed, 1 skipped"), (["--run-slow"], "2 passed"),
                                           (["-m", "slow"], "1 passed, 1 deselected")])
def test_slow_tests_run_only_when_asked_for(tmp_path, args, outcome):
    (tmp_path / "test_two.py").write_text(TWO_TESTS)
    env = {**os.environ, "COURSE_DATA_ROOT": str(tmp_path)}  # no copy of the offline data for this run
    p = subprocess.run([sys.executable, "-m", "pytest", "-p", "course_lib.course.pytest_plugin", "-q", "-rs",
                        "-p", "no:cacheprovider", "test_two.py", *args], cwd=tmp_path, env=env,
                       capture_output=True, text=True)
    assert outcome in p.stdout, p.stdout + p.stderr
    if not args:
        assert "run with --run-slow" in p.stdout

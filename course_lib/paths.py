"""Where the repository is: the default home of the data (`data/`) and of training runs (`runs/`).

The library and the course tooling both start from here, so neither needs the other to find the repository.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

"""Print the test matrix: ``uv run python scripts/matrix.py [--json] [--max-rows N]``.

Each row's answers, the pairs it is the first to cover, the backing servers it needs
and the CI shard that runs it; ``--json`` prints the shards as the template workflow's
``strategy.matrix``. See ``slipway_catalog.matrix.main``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The catalog is not an installed package: it lives beside the template, in extensions/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "extensions"))

from slipway_catalog.matrix import main

if __name__ == "__main__":
    raise SystemExit(main())

"""``make bench``: what the service costs per call, measured against the product owner's targets.

Run as ``python -m bench`` from the repository root. The layer package and the function modules are
imported by full name, as Lambda sees them, so the layer folder and the repository root go on the path.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LAYER_DIR = REPO_ROOT / "layers" / "shared"

for _path in (str(LAYER_DIR), str(REPO_ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

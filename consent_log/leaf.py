"""The log's leaf: a receipt in canonical JSON. The API stores exactly these bytes, the
sealer hashes them into the tree, and a verifier recomputes them from a download."""

from __future__ import annotations

import json
from typing import Any


def canonical(data: Any) -> str:
    """RFC 8785 canonical JSON for receipts (ASCII keys, no floats): sorted keys, no spaces."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

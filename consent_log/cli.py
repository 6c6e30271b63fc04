"""``consent-verify``: prove, offline and with no secret, that a downloaded consent receipt is in
the consent log, and that every checkpoint given agrees with it (no fork, no rewrite)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .checkpoint import is_purge, split_notes
from .verify import ReceiptCheckError, fetch_consistency, read_verifiers, verify_receipt


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="consent-verify", description=__doc__)
    parser.add_argument("receipt", type=Path, help="the receipt as downloaded from the receipt page (JSON)")
    parser.add_argument("--checkpoint", type=Path,
                        help="a signed checkpoint, or a checkpoints file: each must agree with the receipt's")
    parser.add_argument("--key", type=Path, required=True,
                        help="the log's public key: consent-log.pub or consent-log.json, as the site publishes them")
    parser.add_argument("--api", help="the site's URL: fetch the consistency proofs between the checkpoints given "
                        "from its /api/ (without it, checkpoints of different sizes are not checked against each "
                        "other)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        download = json.loads(args.receipt.read_text(encoding="utf-8"))
        notes = ([n for n in split_notes(args.checkpoint.read_text(encoding="utf-8", errors="replace"))
                  if not is_purge(n)] if args.checkpoint else None)
        print(verify_receipt(download if isinstance(download, dict) else {}, read_verifiers(args.key), notes,
                             fetch_consistency(args.api) if args.api else None))
    except (ReceiptCheckError, ValueError, OSError, RecursionError) as exc:
        print(f"{args.receipt}: not verified: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

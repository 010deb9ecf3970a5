"""The command line both regeneration scripts share: where the upstream collection is, and --check."""

from __future__ import annotations

import argparse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def parse(description: str, what: str) -> argparse.Namespace:
    """`--shared DIR` (default: ../shared beside the clone) and `--check` (compare only; exit 1 when stale)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared",
                        help="the upstream collection (default: ../shared beside the clone)")
    parser.add_argument("--check", action="store_true", help=f"only compare; exit 1 when {what} is stale")
    return parser.parse_args()

"""Write the compiled pipeline: `python -m fraud_detection_training.compile [--out FILE]`.

The default output is models/fraud-detection/pipeline/pipeline.yaml, the file committed next to
the source and uploaded to the pipeline server. Compiling is deterministic (same source, same
bytes), so a test recompiles and compares; recompile after changing the package, the data schema
or the catalog signature.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from kfp import compiler

from .catalog import PIPELINE_IR

COMMAND = "python -m fraud_detection_training.compile"


def compile_pipeline(out: Path) -> Path:
    """Compile the pipeline to `out` (KFP v2 IR YAML); returns `out`."""
    from .pipeline import train_fraud_detection  # reads model.yaml and data-schema.yaml

    out.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(pipeline_func=train_fraud_detection, package_path=str(out))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Compile to --out (default: the committed pipeline.yaml)."""
    parser = argparse.ArgumentParser(prog=COMMAND, description="Compile the fraud-detection training pipeline.")
    parser.add_argument("--out", type=Path, default=PIPELINE_IR, metavar="FILE",
                        help="Where to write the pipeline IR (default: pipeline.yaml next to the package).")
    args = parser.parse_args(argv)
    print(f"wrote {compile_pipeline(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

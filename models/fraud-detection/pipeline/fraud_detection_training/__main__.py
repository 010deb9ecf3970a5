"""Local run: `python -m fraud_detection_training --out DIR`.

Runs the pipeline's steps in order, in this process, with the same functions the pipeline
components run (the step modules of fraud_detection_training), so a data scientist sees on a
laptop what the pipeline server would do, in seconds. Writes into DIR:

    transactions.csv         the data (generated, or copied from --data)
    validation-report.txt    the data validation report
    holdout.csv              the held-out rows the metrics come from
    work/model.pkl           the fitted scikit-learn model
    model/1/model.onnx       the model in OVMS layout: upload DIR/model/ to the version's URI
    model/trustyai-reference.json   a sample of the training data with the model's outputs:
                             TrustyAI's drift reference of the version (uploaded with the model)
    metrics.json             auc, precision, recall, latency_p95_ms

Exit codes: 0 ok, 1 data validation or signature check failed (report printed), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .catalog import (
    DATA_SCHEMA,
    DEFAULT_MODEL_URI_PREFIX,
    CatalogError,
    check_schema_fits_signature,
    find_catalog,
    load_catalog,
    load_data_schema,
    repository_commit,
    signature_of,
)
from .evaluation import evaluate_model
from .onnx_export import check_onnx_signature, export_onnx
from .reference_data import write_reference_data
from .registration import add_version_command, next_version
from .training import train_model
from .transactions import fetch_data, generate_transactions
from .upload import file_digest
from .validation import validate_data

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE = 0, 1, 2


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line; argparse exits 2 on a bad argument, which is the documented usage exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m fraud_detection_training",
        description="Generate (or read) card-transaction data, validate it, train fraud-detection, export and "
                    "check the ONNX file, and print the metrics and the `mlops model add-version` command.",
        epilog="Exit codes: 0 ok, 1 data validation or signature check failed, 2 bad arguments.",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="Folder for data, model and metrics.")
    parser.add_argument("--data", type=Path, metavar="FILE", help="Use this CSV file instead of generating data.")
    parser.add_argument("--rows", type=_positive, default=20000, metavar="N",
                        help="Rows to generate (default: %(default)s).")
    parser.add_argument("--seed", type=int, default=42, help="Seed of data generation and training (default: 42).")
    parser.add_argument("--catalog", type=Path, metavar="PATH",
                        help="Catalog entry model.yaml (default: the nearest one above this package).")
    parser.add_argument("--schema", type=Path, default=DATA_SCHEMA, metavar="PATH",
                        help="Data schema (default: data-schema.yaml next to the package).")
    parser.add_argument("--version", default="", metavar="V",
                        help="Version to suggest (default: next minor after the catalog's newest).")
    parser.add_argument("--model-uri-prefix", default=DEFAULT_MODEL_URI_PREFIX, metavar="URI",
                        help="Where versions of the model are uploaded (default: %(default)s).")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the steps; return the exit code (see the module docstring)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    out: Path = args.out
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out} is a file, not a folder")
    if args.data is not None and not args.data.is_file():
        parser.error(f"--data {args.data}: no such file")
    try:
        catalog_path = args.catalog or find_catalog()
        catalog = load_catalog(catalog_path)
        signature = signature_of(catalog)
        schema = load_data_schema(args.schema)
        check_schema_fits_signature(schema, signature)
        version = next_version(str(catalog_path), args.version)
    except (CatalogError, ValueError) as error:
        parser.error(str(error))

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    data_path = out / "transactions.csv"
    if args.data is None:
        generate_transactions(str(data_path), rows=args.rows, seed=args.seed)
        dataset = f"synthetic transactions (seed {args.seed}, {args.rows} rows)"
        print(f"generated {args.rows} transactions into {data_path}")
    else:
        if args.data.resolve() != data_path.resolve():
            fetch_data(str(args.data), str(data_path))
        dataset = str(args.data)

    try:
        summary = validate_data(str(data_path), schema, str(out / "validation-report.txt"),
                                source="" if args.data is None else str(args.data))
    except ValueError as error:
        print(error, file=sys.stderr, end="")
        print(f"data validation failed; report: {out / 'validation-report.txt'}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    print(f"data valid: {summary['rows']} rows, {summary['checks']} checks passed")

    model_pickle = out / "work" / "model.pkl"
    holdout = out / "holdout.csv"
    onnx_file = out / "model" / "1" / "model.onnx"
    trained = train_model(str(data_path), schema, str(model_pickle), str(holdout), seed=args.seed)
    print(f"trained on {trained['train_rows']} rows ({trained['iterations']} iterations); "
          f"{trained['holdout_rows']} rows held out")
    export_onnx(str(model_pickle), str(onnx_file), signature, str(holdout), schema)
    try:
        check_onnx_signature(str(onnx_file), signature)
    except ValueError as error:
        print(error, file=sys.stderr, end="")
        return EXIT_CHECK_FAILED
    print(f"exported {onnx_file}; inputs and outputs match the signature of {catalog_path}")
    reference = write_reference_data(str(data_path), str(onnx_file), schema, signature,
                                     str(out / "model" / "trustyai-reference.json"), seed=args.seed)
    print(f"wrote the drift reference {out / 'model' / 'trustyai-reference.json'} "
          f"({reference['reference_rows']} training rows with the model's outputs)")
    metrics = evaluate_model(str(onnx_file), str(holdout), signature, schema)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    elapsed = time.perf_counter() - started

    print(f"\nmetrics (held-out set, {out / 'metrics.json'}), done in {elapsed:.1f} s:")
    for name, value in metrics.items():
        print(f"  {name:<15} {value}")
    uri = args.model_uri_prefix.rstrip("/") + f"/{version}/"
    command = add_version_command(
        catalog["name"], version, uri, file_digest(str(onnx_file)), metrics,
        commit=repository_commit(catalog_path.parent), pipeline_run="", dataset=dataset, pull_request=True)
    print(f"\nnext: upload {out / 'model'}/ to {uri} (OVMS reads {uri}1/model.onnx), then record the version:")
    print(f"  {shlex.join(command)}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

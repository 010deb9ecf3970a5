"""Checking the training data against data-schema.yaml before anything is trained on it.

A step of its own because training on data that silently changed shape gives a model that looks
fine and is not. Data that breaks the schema raises ValueError whose message is the full report
(the package's contract of the checks). Step function, self-contained for KFP (see the package
docstring).
"""

from typing import Any


def validate_data(data_path: str, schema: dict[str, Any], report_path: str, source: str = "") -> dict[str, Any]:
    """Check a CSV file against the data schema; write the report to `report_path`; raise if it fails.

    Training on data that silently changed shape gives a model that looks fine and is not, so
    every check of `data-schema.yaml` runs (columns, row count, per column type, missing
    fraction, range, allowed values, and the label's class balance) and all results go in one
    report: per check PASS or FAIL, the figures, and the first offending rows by file line. A
    failed check raises ValueError with that report as its message, after the report file is
    written. `source` names the data in the report (default: the file name). Returns a summary
    (rows, positive fraction, checks) when every check passes.
    """
    import csv
    import math
    import re
    from pathlib import Path

    missing_tokens = {"", "na", "nan", "null", "none"}
    integer = re.compile(r"[+-]?\d+")
    shown = 5
    results: list[tuple[bool, str]] = []

    def record(passed: bool, text: str) -> None:
        results.append((passed, text))

    def first(offenders: list[tuple[int, str]]) -> str:
        listed = ", ".join(f"line {line}: {value!r}" for line, value in offenders[:shown])
        more = f" (and {len(offenders) - shown} more)" if len(offenders) > shown else ""
        return f"; first offending rows: {listed}{more}"

    columns = schema.get("columns") or []
    label = schema.get("label")
    min_rows = int(schema.get("min_rows", 1))
    path = Path(data_path)
    header: list[str] = []
    rows: list[list[str]] = []
    lines: list[int] = []  # the file line each row starts on, as the CSV reader counted it
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            end = reader.line_num
            for row in reader:
                if row:  # blank lines are skipped, but still count as lines of the file
                    rows.append(row)
                    lines.append(end + 1)
                end = reader.line_num
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        record(False, f"file readable as UTF-8 CSV: no ({error})")

    if header:
        expected = [column["name"] for column in columns]
        absent = [name for name in expected if name not in header]
        extra = [name for name in header if name not in expected]
        text = f"columns: {len(expected) - len(absent)} of {len(expected)} expected columns present"
        if absent:
            text += f"; missing: {', '.join(absent)}"
        if extra:
            text += f"; not in the schema (ignored): {', '.join(extra)}"
        record(not absent, text)
        short = [(line, f"{len(row)} fields") for line, row in zip(lines, rows, strict=True)
                 if len(row) != len(header)]
        record(not short, f"row width: {len(rows) - len(short)} of {len(rows)} rows have {len(header)} fields"
               + (first(short) if short else ""))
    elif not results:
        record(False, "columns: the file has no header row")
    record(len(rows) >= min_rows, f"rows: {len(rows)} (minimum {min_rows})")

    positions = {name: index for index, name in enumerate(header)}
    parsed: dict[str, list[Any]] = {}
    for column in columns:
        name = column["name"]
        if name not in positions:
            continue
        index = positions[name]
        kind = column.get("type", "string")
        values: list[Any] = []
        missing = 0
        wrong_type: list[tuple[int, str]] = []
        for line, row in zip(lines, rows, strict=True):
            raw = row[index].strip() if index < len(row) else ""
            if raw.lower() in missing_tokens:
                missing += 1
                values.append(None)
                continue
            value: Any = raw
            if kind == "int":
                if not integer.fullmatch(raw):
                    wrong_type.append((line, raw))
                    values.append(None)
                    continue
                value = int(raw)
            elif kind == "float":
                try:
                    value = float(raw)
                except ValueError:
                    value = math.nan
                if not math.isfinite(value):
                    wrong_type.append((line, raw))
                    values.append(None)
                    continue
            values.append((line, value))
        parsed[name] = values
        total = len(rows)
        record(not wrong_type, f"{name}: type {kind}: {len(wrong_type)} of {total - missing} present values "
               f"are not {kind}" + (first(wrong_type) if wrong_type else ""))
        allowed_missing = float(column.get("max_missing_fraction", 0.0))
        fraction = missing / total if total else 0.0
        record(fraction <= allowed_missing, f"{name}: missing: {missing} of {total} values "
               f"({fraction:.2%}, maximum {allowed_missing:.2%})")
        present = [entry for entry in values if entry is not None]
        if "min" in column or "max" in column:
            low = column.get("min", -math.inf)
            high = column.get("max", math.inf)
            outside = [(line, str(value)) for line, value in present if not low <= value <= high]
            observed = (f"observed {min(v for _, v in present)} to {max(v for _, v in present)}"
                        if present else "no values")
            record(not outside, f"{name}: range [{low}, {high}]: {len(outside)} values outside; {observed}"
                   + (first(outside) if outside else ""))
        if "allowed" in column:
            allowed = list(column["allowed"])
            others = [(line, str(value)) for line, value in present if value not in allowed]
            record(not others, f"{name}: allowed values {allowed}: {len(others)} values not allowed"
                   + (first(others) if others else ""))

    positive_fraction = None
    balance = schema.get("class_balance")
    if label and balance and label in parsed:
        labels = [entry[1] for entry in parsed[label] if entry is not None]
        if labels:
            positive_fraction = sum(1 for value in labels if value == 1) / len(labels)
            low, high = float(balance.get("min", 0.0)), float(balance.get("max", 1.0))
            record(low <= positive_fraction <= high,
                   f"{label}: class balance: {positive_fraction:.2%} of rows are positive "
                   f"(allowed {low:.2%} to {high:.2%})")
        else:
            record(False, f"{label}: class balance: no label values")

    failed = [text for passed, text in results if not passed]
    verdict = "PASSED" if not failed else f"FAILED ({len(failed)} of {len(results)} checks failed)"
    lines = [f"Data validation of {source or path.name}: {verdict}", ""]
    lines += [f"{'PASS' if passed else 'FAIL'}  {text}" for passed, text in results]
    report = "\n".join(lines) + "\n"
    report_file = Path(report_path)
    report_file.parent.mkdir(parents=True, exist_ok=True)
    report_file.write_text(report, encoding="utf-8")
    if failed:
        raise ValueError(report)
    return {"rows": len(rows), "positive_fraction": positive_fraction, "checks": len(results)}

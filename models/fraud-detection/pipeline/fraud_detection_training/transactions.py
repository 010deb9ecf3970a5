"""The card-transaction data: a synthetic, seeded data set, or a copy of the real one from its URI.

Both functions produce the CSV file that every later step reads; neither judges its contents,
which is validation's job. Step functions, self-contained for KFP (see the package docstring).
"""

from typing import Any


def generate_transactions(out_path: str, rows: int = 20000, seed: int = 42) -> str:
    """Write a synthetic, seeded card-transaction data set as CSV and return its path.

    There is no public data set to download here, and tests must run offline, so the data is
    simulated: legitimate transactions near home, at ordinary amounts, half of them with the chip;
    about one in ten is fraud, from two patterns seen in card fraud (card-not-present online
    purchases at several times the usual amount, and card-present purchases far from home and
    from the last transaction). The classes overlap enough that a good model scores AUC ~0.97,
    not 1.0. A few distances from the last transaction are missing, as in real feeds, which the
    schema tolerates and the model imputes. Same seed and row count, same bytes.
    """
    import csv
    from pathlib import Path

    import numpy as np

    if rows < 1:
        raise ValueError(f"rows must be at least 1, not {rows}")
    rng = np.random.default_rng(seed)
    fraud = rng.random(rows) < 0.10
    online_fraud = rng.random(rows) < 0.6  # which of the two fraud patterns, for fraud rows

    def lognormal(median: float, sigma: float) -> Any:
        return rng.lognormal(np.log(median), sigma, rows)

    distance_home = np.where(~fraud, lognormal(8.0, 1.0),
                             np.where(online_fraud, lognormal(15.0, 1.2), lognormal(120.0, 1.1)))
    distance_last = np.where(~fraud, lognormal(1.0, 1.2),
                             np.where(online_fraud, lognormal(2.5, 1.3), lognormal(20.0, 1.3)))
    ratio = np.where(~fraud, lognormal(0.9, 0.55),
                     np.where(online_fraud, lognormal(3.3, 0.7), lognormal(2.4, 0.7)))
    used_chip = rng.random(rows) < np.where(~fraud, 0.40, np.where(online_fraud, 0.08, 0.30))
    online_order = rng.random(rows) < np.where(~fraud, 0.60, np.where(online_fraud, 0.95, 0.20))
    missing_last = rng.random(rows) < 0.002
    distance_home = np.minimum(distance_home, 20000.0)
    distance_last = np.minimum(distance_last, 20000.0)

    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["transaction_id", "distance_from_home", "distance_from_last_transaction",
                         "ratio_to_median_purchase_price", "used_chip", "online_order", "fraud"])
        for index in range(rows):
            writer.writerow([
                f"tx-{seed}-{index:07d}",
                f"{distance_home[index]:.3f}",
                "" if missing_last[index] else f"{distance_last[index]:.3f}",
                f"{ratio[index]:.4f}",
                int(used_chip[index]),
                int(online_order[index]),
                int(fraud[index]),
            ])
    return str(path)


def fetch_data(data_uri: str, out_path: str) -> str:
    """Copy the training data from `data_uri` (s3://BUCKET/KEY, file://PATH or a path) to `out_path`.

    S3 credentials and endpoint come from the environment, as the project's data connection
    Secret mlops-s3 sets them (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_S3_ENDPOINT,
    AWS_DEFAULT_REGION); a local path lets the same pipeline run on a laptop with kfp.local.
    """
    import os
    import shutil
    from pathlib import Path

    destination = Path(out_path)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if data_uri.startswith("s3://"):
        import boto3

        bucket, _, key = data_uri[len("s3://"):].partition("/")
        if not bucket or not key:
            raise ValueError(f"data_uri {data_uri!r} is not s3://BUCKET/KEY")
        client = boto3.client("s3", endpoint_url=os.environ.get("AWS_S3_ENDPOINT") or None,
                              region_name=os.environ.get("AWS_DEFAULT_REGION") or None)
        client.download_file(bucket, key, str(destination))
    else:
        source = Path(data_uri[len("file://"):] if data_uri.startswith("file://") else data_uri)
        if not source.is_file():
            raise FileNotFoundError(f"data_uri {data_uri!r}: no such file")
        shutil.copyfile(source, destination)
    return str(destination)

"""The gates as tables: each row is one situation, the verdict, the status word and the figures it shows.

A gate is a pure function of figures, so every case a reviewer relies on is one row here; the
end-to-end promotion tests then only need to show that the figures reach the gates.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mlops.catalog import MetricThreshold, parse_duration
from mlops.promotion import gates
from mlops.promotion.gates import GateStatus
from mlops.promotion.soak import ANY, PULL_REQUEST, Since

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("previous", "pinned", "passed", "status", "words"), [
    (None, None, True, GateStatus.SKIPPED, "first environment"),
    ("dev", "1.2.0", True, GateStatus.PASS, "1.2.0 is pinned in dev"),
    ("dev", "1.1.0", False, GateStatus.FAIL, "dev runs 1.1.0, not 1.2.0; promote it there first"),
    ("dev", None, False, GateStatus.FAIL, "dev runs nothing, not 1.2.0"),
])
def test_order_gate(previous: str | None, pinned: str | None, passed: bool, status: GateStatus, words: str) -> None:
    result = gates.order_gate("1.2.0", previous, pinned)
    assert (result.name, result.passed, result.status) == ("order", passed, status)
    assert words in result.detail


def _thresholds(**specs: str) -> list[MetricThreshold]:
    return [MetricThreshold.parse(metric, text) for metric, text in specs.items()]


@pytest.mark.parametrize(("metrics", "thresholds", "passed", "words"), [
    ({"auc": 0.97}, {}, True, "prod sets no metric thresholds"),
    ({"auc": 0.97}, {"auc": ">= 0.95"}, True, "auc 0.97 >= 0.95 ✓"),
    ({"auc": 0.95}, {"auc": ">= 0.95"}, True, "auc 0.95 >= 0.95 ✓"),
    ({"auc": 0.95}, {"auc": "> 0.95"}, False, "auc 0.95 is not > 0.95"),
    ({"latency": 0.3}, {"latency": "< 0.5"}, True, "latency 0.3 < 0.5 ✓"),
    ({"f1": 0.1 + 0.2}, {"f1": "== 0.3"}, True, "== 0.3 ✓"),
    ({}, {"auc": ">= 0.95"}, False, "auc: missing (needs >= 0.95)"),
    ({"auc": 0.99, "recall": 0.5}, {"auc": ">= 0.95", "recall": ">= 0.8"}, False, "recall 0.5 is not >= 0.8"),
])
def test_metrics_gate(metrics: dict[str, float], thresholds: dict[str, str], passed: bool, words: str) -> None:
    result = gates.metrics_gate(metrics, _thresholds(**thresholds), "prod")
    assert (result.name, result.passed) == ("metrics", passed)
    assert result.status is (GateStatus.PASS if passed else GateStatus.FAIL)
    assert words in result.detail


@pytest.mark.parametrize(("new", "current", "current_version", "allow", "passed", "words"), [
    ("sig-a", None, None, False, True, "no version runs there yet"),
    ("sig-a", "sig-a", "1.1.0", False, True, "same inputs and outputs as 1.1.0"),
    ("sig-b", "sig-a", "1.1.0", False, False, "pass --allow-breaking"),
    ("sig-b", "sig-a", "1.1.0", True, True, "allowed with --allow-breaking"),
])
def test_signature_gate(new: str, current: str | None, current_version: str | None, allow: bool, passed: bool,
                        words: str) -> None:
    result = gates.signature_gate(new, current, current_version, allow)
    assert (result.name, result.passed) == ("signature", passed)
    assert words in result.detail


MERGED = Since(NOW - timedelta(hours=80), PULL_REQUEST, "merge of pull request #12")
COMMITTED = Since(NOW - timedelta(hours=80), "commit", "committer date of 1a2b3c4d5e6f")
RECENT = Since(NOW - timedelta(hours=10), PULL_REQUEST, "merge of pull request #13")


@pytest.mark.parametrize(("previous", "pinned", "required", "source", "asked", "passed", "status", "words"), [
    (None, None, "72h", ANY, True, True, GateStatus.SKIPPED, "first environment"),
    ("dev", MERGED, None, ANY, True, True, GateStatus.PASS, "no soak time required"),
    ("dev", MERGED, "0s", ANY, True, True, GateStatus.PASS, "no soak time required"),
    ("dev", None, "72h", ANY, True, False, GateStatus.FAIL, "not pinned in dev on the base branch"),
    ("dev", MERGED, "72h", ANY, True, True, GateStatus.PASS, "for 3d8h (since"),
    ("dev", RECENT, "72h", ANY, True, False, GateStatus.FAIL, "for 10h"),
    ("dev", COMMITTED, "72h", ANY, True, True, GateStatus.PASS, "committer date"),
    ("dev", COMMITTED, "72h", PULL_REQUEST, True, False, GateStatus.FAIL, "only the merge time"),
    ("dev", COMMITTED, "72h", PULL_REQUEST, False, True, GateStatus.UNVERIFIED, "which the promotion itself looks up"),
    ("dev", MERGED, "72h", PULL_REQUEST, True, True, GateStatus.PASS, "merge of pull request #12"),
])
def test_soak_gate(previous: str | None, pinned: Since | None, required: str | None, source: str, asked: bool,
                   passed: bool, status: GateStatus, words: str) -> None:
    needed = parse_duration(required) if required is not None else None
    result = gates.soak_gate("1.2.0", previous, pinned, needed, NOW, source=source, asked_github=asked)
    assert (result.name, result.passed, result.status) == ("soak", passed, status)
    assert words in result.detail


@pytest.mark.parametrize(("text", "seconds"), [
    ("72h", 72 * 3600), ("30m", 1800), ("2d", 2 * 86400), ("1w", 604800), ("90s", 90), (" 1.5h ", 5400),
])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["72", "h", "3 days", "-1h", "1y", ""])
def test_a_duration_that_is_not_one(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(("status", "word"), [
    (GateStatus.PASS, "pass"), (GateStatus.FAIL, "FAIL"), (GateStatus.SKIPPED, "skipped"),
    (GateStatus.UNVERIFIED, "unverified"),
])
def test_the_status_prints_and_serialises_as_its_word(status: GateStatus, word: str) -> None:
    """The plan's text (`{status:<7}`) and JSON print the word, as they did when it was a plain string."""
    assert f"{status:<7}" == word.ljust(7)
    assert json.dumps({"status": status}) == json.dumps({"status": word})

"""No credentials in Git: neither as Secret objects nor as strings anywhere in a YAML or JSON file.

A Secret in a GitOps repository is a credential in every clone, fork and CI log forever; the
template takes credentials from a vault through ExternalSecrets (or SealedSecrets). The file scan
looks at the repository's files themselves, so it also catches keys in files no kustomization
renders (a notes file, a test fixture, a values file).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..findings import Severity
from .base import PolicyContext, Rule, Scope, Violation

_SKIP_FOLDERS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache",
                 ".pytest_cache", "build", "dist"}
_SUFFIXES = (".yaml", ".yml", ".json")
MAX_FILE_BYTES = 2 * 1024 * 1024

#: (what, pattern) — each pattern's group 1 is the secret itself; they run on one line at a time.
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("an AWS access key id", re.compile(r"\b((?:AKIA|ASIA)[0-9A-Z]{16})\b")),
    ("an AWS secret access key", re.compile(
        r"(?i)aws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})\b")),
    ("a GitHub token", re.compile(r"\b((?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{60,})\b")),
    ("a Slack token", re.compile(r"\b(xox[abposr]-[A-Za-z0-9-]{10,})\b")),
    ("a Google API key", re.compile(r"\b(AIza[0-9A-Za-z_-]{35})\b")),
    ("a private key", re.compile(r"(-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----)")),
    ("a JSON Web Token", re.compile(r"\b(eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})")),
    ("a password or token value", re.compile(
        r"(?i)^\s*[\"']?(?:password|passwd|secret|token|api_?key|access_?key)[\"']?\s*:\s*[\"']?"
        r"([^\s\"'{}$<>]{12,})[\"']?\s*$")),
]


def _mask(value: str) -> str:
    return value[:4] + "…" if len(value) > 4 else "…"


def _looks_random(value: str) -> bool:
    """Generic `password: ...` values count only when they look like a secret, not a reference."""
    classes = sum(bool(re.search(pattern, value)) for pattern in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
    return classes >= 3 and not value.startswith(("http", "/", "${", "ref+", "vault:", "secret:"))


def repository_files(root: Path) -> Iterator[Path]:
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d not in _SKIP_FOLDERS
                               and (not d.startswith(".") or d == ".github"))
        for name in sorted(files):
            if name.endswith(_SUFFIXES):
                yield Path(folder) / name


#: Every pattern above needs one of these words; lines without any are skipped cheaply. They are
#: looked for in the lower-cased text with `str.find`, one word after another: a regular expression
#: of alternatives tries every branch at every position and is several times slower over the
#: megabytes of a repository (compiled pipelines, dashboards). `key` stands for api_key, apikey,
#: access_key, accesskey and private key, `secret` for aws_secret, and `gh` for the GitHub prefixes.
_PREFILTER_WORDS = ("akia", "asia", "secret", "token", "passw", "key", "xox", "aiza", "eyj", "gh")
#: For each of `PATTERNS`, words of which its lower-cased match holds at least one: a line without
#: any of them cannot match it, so the pattern is not tried there (most candidate lines need one).
_NEEDS: list[tuple[str, ...]] = [
    ("akia", "asia"), ("aws_secret", "awssecret"), ("ghp_", "gho_", "ghs_", "ghu_", "ghr_", "github_pat_"),
    ("xox",), ("aiza",), ("private key",), ("eyj",),
    ("passw", "secret", "token", "api_key", "apikey", "access_key", "accesskey"),
]
_NEED_WORDS = tuple(sorted({word for needs in _NEEDS for word in needs}))
_NEED_SETS = [frozenset(needs) for needs in _NEEDS]


def scan_text(text: str) -> Iterator[tuple[int, str, str]]:
    """(line, what, masked value) for every credential-like string, at most one per line.

    One pass of the keyword prefilter over the whole text finds the few lines worth a closer
    look (a compiled pipeline has thousands of lines, a few dozen of which say "secret" or
    "token"); only those run the patterns, the first of `PATTERNS` that matches a line wins.
    """
    lowered = text.lower()
    starts: list[int] = []
    for word in _PREFILTER_WORDS:
        position = lowered.find(word)
        while position != -1:
            starts.append(position)
            position = lowered.find(word, position + 1)
    if not starts:
        return
    candidates: list[int] = []
    line_number, counted = 0, 0
    for start in sorted(starts):  # in text order: count line breaks incrementally
        line_number += lowered.count("\n", counted, start)
        counted = start
        if not candidates or candidates[-1] != line_number:
            candidates.append(line_number)
    lines = text.split("\n")
    every = range(len(PATTERNS))
    for index in candidates:
        line = lines[index]
        # (?i) also matches a few non-ASCII letters (the long s, the Kelvin sign): try every pattern there
        tried: Iterable[int] = every
        if line.isascii():
            lowered_line = line.lower()
            present = {word for word in _NEED_WORDS if word in lowered_line}  # each word looked for once
            tried = [number for number in every if not _NEED_SETS[number].isdisjoint(present)]
        for number in tried:
            what, pattern = PATTERNS[number]
            found = pattern.search(line)
            if found is None:
                continue
            value = found.group(1)
            if what == "a password or token value" and not _looks_random(value):
                continue
            yield index + 1, what, _mask(value)
            break


def read_repository_texts(root: Path) -> list[tuple[Path, str, str]]:
    """(path, repository-relative name, text) of every YAML and JSON file small enough to scan."""
    texts = []
    for path in repository_files(root):
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        texts.append((path, path.relative_to(root).as_posix(), text))
    return texts


_TEXTS_KEY = "secrets.repository-texts"
#: `PolicyContext.cache` keys of callables that give `read_repository_texts` and the credential
#: scan of the repository. `mlops validate` puts its own there (`mlops.repofiles`): every file is
#: read once per run for them, the source checks and the cache keys together, while kustomize
#: renders, and the scan of a file unchanged since the last run comes from the file memo.
REPOSITORY_TEXTS = "secrets.repository-texts-provider"
CREDENTIAL_HITS = "secrets.credential-hits-provider"

#: (repository-relative file, line, what, masked value)
Hit = tuple[str, int, str, str]


def repository_texts(context: PolicyContext) -> list[tuple[Path, str, str]]:
    """The repository's YAML and JSON files, read once per run for every rule that scans files."""
    cached = context.cache.get(_TEXTS_KEY)
    if not isinstance(cached, list):
        provider = context.cache.get(REPOSITORY_TEXTS)
        cached = provider() if callable(provider) else read_repository_texts(context.root)
        context.cache[_TEXTS_KEY] = cached
    return cached


def _check_files(context: PolicyContext) -> Iterator[Violation]:
    provider = context.cache.get(CREDENTIAL_HITS)
    hits: Iterable[Hit] = provider() if callable(provider) else (
        (display, line, what, masked) for _, display, text in repository_texts(context)
        for line, what, masked in scan_text(text))
    for display, line, what, masked in hits:
        yield Violation(f"{display} holds what looks like {what} ({masked})", file=display, line=line)


def _check_secret_objects(context: PolicyContext) -> Iterator[Violation]:
    for manifest in context.objects(Scope.ALL):
        if manifest.kind != "Secret" or manifest.api_version != "v1":
            continue
        for field_name in ("data", "stringData"):
            if manifest.data.get(field_name):
                keys = ", ".join(sorted(manifest.data[field_name]))
                yield Violation(f"Secret {manifest.name} carries {field_name} ({keys}) in Git", manifest, field_name)


RULES: list[Rule] = [
    Rule("secret-in-git", "No Secret with data or stringData is rendered from the repository",
         "Base64 is not encryption: a Secret in Git is a credential in every clone, fork and CI log. "
         "Let the External Secrets Operator (ExternalSecret) or Sealed Secrets (SealedSecret) create it.",
         "replace the Secret with an ExternalSecret (or a SealedSecret) that creates it", _check_secret_objects),
    Rule("credential-in-file", "No credential-like string in any YAML or JSON file of the repository",
         "Cloud keys, tokens, private keys and literal passwords are found by pattern in every YAML and JSON "
         "file (also files no kustomization renders). Rotate a key that was committed: history keeps it.",
         "remove the value, rotate it, and reference it from your vault instead", _check_files,
         severity=Severity.ERROR, scope=Scope.REPOSITORY),
]

"""Every file of the repository, read at most once per run, and what a run may trust from the last one.

A validation reads each file for several reasons: kustomize inputs must be UTF-8 and free of
alias bombs, every YAML and JSON file is scanned for credentials, and the caches need a content
hash of each input. `RepoFiles` reads a file once for all of them (`FileFacts`), from whichever
thread asks first, while kustomize renders.

A run starts with a `Snapshot`: every path of the repository with its file status (size,
modification and change times, inode, device), except inside `PRUNED` folders (version control,
virtual environments, caches), which are listed but not entered: the walk of a kustomization
that reads a file there is never cached (`kustomize.cache`), the credential scan and the
policies' repository walks skip them. A `Memo` keeps, per file, the status it had and the facts
of its content at the last run. A memo entry is trusted only when the status is unchanged and
the file's times are older than the memo by `RACY_NS` (git's "racy clean" rule): any write after
the memo was taken changes the change time, which the kernel sets and no program can set back,
so an unchanged status means unchanged content. Younger files are read again. After a run,
`unchanged()` takes a second snapshot: if anything changed while the run read it, nothing the
run produced is stored.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .policies.secrets import _SKIP_FOLDERS, _SUFFIXES, MAX_FILE_BYTES, Hit, scan_text
from .readfile import read_bytes
from .yamlsource import check_text, could_be_alias_bomb

#: Folders listed but never entered: no kustomize input, credential scan or policy reads there.
PRUNED = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache",
                    ".pytest_cache", ".tox", ".nox"})
#: Files changed this close to a memo's time are read again (filesystem time stamps are coarse).
RACY_NS = 2_000_000_000

#: size, modification time, change time (ns), inode, device
State = tuple[int, int, int, int, int]


@dataclass
class Snapshot:
    """Every path under a folder and the status of every file, in `os.walk` order."""

    folder: Path
    taken_ns: int
    files: dict[str, State] = field(default_factory=dict)
    #: folders ("d"), pruned folders ("p"), links to folders or nowhere ("l <target>"), other files ("o")
    others: dict[str, str] = field(default_factory=dict)
    #: files the credential scan reads (YAML and JSON outside skipped folders), in walk order
    scanned: list[str] = field(default_factory=list)
    #: a symbolic link leads out of the folder: what is behind it is not listed
    escapes: bool = False

    def same_paths(self, other: Snapshot) -> bool:
        return self.files == other.files and self.others == other.others and self.escapes == other.escapes


def _scannable_folder(name: str) -> bool:
    return name not in _SKIP_FOLDERS and (not name.startswith(".") or name == ".github")


def take_snapshot(folder: Path) -> Snapshot:
    """List `folder` as the run finds it (file contents are not read)."""
    snapshot = Snapshot(folder, time.time_ns())
    real_root = os.path.realpath(folder)

    def visit(path: str, prefix: str, scanning: bool) -> None:
        try:
            with os.scandir(path) as iterator:
                entries = sorted(iterator, key=lambda entry: entry.name)
        except OSError:
            return
        subfolders = []
        for entry in entries:
            rel = prefix + entry.name
            try:
                is_link, is_dir = entry.is_symlink(), entry.is_dir()
                if is_dir and not is_link:
                    subfolders.append(entry)
                    continue
                if is_dir:  # a link to a folder is not entered; one that leads out is not listed at all
                    target = os.path.realpath(entry.path)
                    outside = not (target == real_root or target.startswith(real_root + os.sep))
                    snapshot.escapes |= outside and entry.name not in PRUNED  # `.venv -> elsewhere` is never read
                    snapshot.others[rel] = f"l {os.readlink(entry.path)}"
                elif entry.is_file():
                    status = entry.stat()
                    snapshot.files[rel] = (status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino,
                                           status.st_dev)
                    if is_link:  # what it points at matters too (Argo CD judges the link's text)
                        snapshot.others[rel] = f"l {os.readlink(entry.path)}"
                    if scanning and entry.name.endswith(_SUFFIXES):
                        snapshot.scanned.append(rel)
                else:
                    snapshot.others[rel] = f"l {os.readlink(entry.path)}" if is_link else "o"
            except OSError:
                snapshot.others[rel] = "o"
        for entry in subfolders:
            rel = prefix + entry.name
            if entry.name in PRUNED:
                snapshot.others[rel] = "p"
                continue
            snapshot.others[rel] = "d"
            visit(entry.path, rel + "/", scanning and _scannable_folder(entry.name))

    visit(str(folder), "", True)
    return snapshot


@dataclass(frozen=True)
class FileFacts:
    """What a run needs of one file's content, computed from a single read."""

    sha256: str  # "!<reason>" when the file cannot be read
    utf8: bool
    #: the file holds anchors and aliases: only `alias_bomb` says whether they are harmless
    maybe_bomb: bool
    alias_bomb: bool | None = None  # None: not checked (only kustomize inputs are)
    hits: tuple[tuple[int, str, str], ...] | None = None  # None: not scanned (not a scanned file)

    def record(self) -> list[Any]:
        return [self.sha256, self.utf8, self.maybe_bomb, self.alias_bomb,
                None if self.hits is None else [list(hit) for hit in self.hits]]

    @classmethod
    def from_record(cls, record: list[Any]) -> FileFacts:
        sha, utf8, maybe_bomb, alias_bomb, hits = record
        return cls(str(sha), bool(utf8), bool(maybe_bomb), None if alias_bomb is None else bool(alias_bomb),
                   None if hits is None else tuple((int(a), str(b), str(c)) for a, b, c in hits))


@dataclass
class Memo:
    """File status and content facts of one folder at one time (stored by `runcache`)."""

    taken_ns: int
    tool: str  # facts depend on the tool that computed them (the credential patterns, ...)
    files: dict[str, tuple[State, FileFacts]]

    def encode(self) -> bytes:
        files = {rel: [*state, *facts.record()] for rel, (state, facts) in self.files.items()}
        return json.dumps({"taken_ns": self.taken_ns, "tool": self.tool, "files": files},
                          separators=(",", ":")).encode("utf-8")

    @classmethod
    def decode(cls, payload: bytes) -> Memo | None:
        try:
            data = json.loads(payload)
            files = {str(rel): (tuple(int(part) for part in record[:5]), FileFacts.from_record(record[5:]))
                     for rel, record in data["files"].items()}
            return cls(int(data["taken_ns"]), str(data["tool"]), files)  # type: ignore[arg-type]
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


@functools.lru_cache(maxsize=65536)  # asked for every file several times per run
def _scannable(rel: str) -> bool:
    """Whether the credential scan reads this repository-relative file (as `policies.secrets` walks)."""
    *folders, name = rel.split("/")
    return name.endswith(_SUFFIXES) and all(_scannable_folder(folder) for folder in folders)


def _readable_text(decoded: str, size: int) -> str | None:
    """The text as the credential scan has always read files: UTF-8, universal newlines, small ones only."""
    if size > MAX_FILE_BYTES:
        return None
    return decoded.replace("\r\n", "\n").replace("\r", "\n") if "\r" in decoded else decoded


def _read_facts(path: str, scannable: bool, scan: bool, check_bomb: bool) -> tuple[FileFacts, str | None]:
    """The facts of one read, and the text the credential scan and the rules read (scannable files)."""
    try:
        raw = read_bytes(path)
    except OSError as error:
        return FileFacts(f"!{error.strerror}", False, False), None
    sha = hashlib.sha256(raw).hexdigest()
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return FileFacts(sha, False, False, hits=() if scannable else None), None
    maybe_bomb = could_be_alias_bomb(raw)
    alias_bomb = None
    if check_bomb:
        alias_bomb = maybe_bomb and any(problem.rule == "yaml-alias-bomb" for problem in check_text(decoded))
    text = _readable_text(decoded, len(raw)) if scannable else None
    hits = None
    if scannable and scan:
        hits = tuple(scan_text(text)) if text is not None else ()
    return FileFacts(sha, True, maybe_bomb, alias_bomb, hits), text


class RepoFiles:
    """The files of one repository during one run: one read per file, trusted facts from the memo.

    The snapshot is taken before anything is read, as the caches need; with `eager` False
    (`--no-cache`: nothing is stored) it is taken when first needed, for the credential scan's
    file list, so that the first render does not wait for a walk of the whole repository. The
    texts of the YAML and JSON files the rules read (`texts()`) are kept for the run, as
    `policies.secrets.read_repository_texts` keeps them.
    """

    def __init__(self, root: Path, memo: Memo | None = None, tool: str = "", eager: bool = True) -> None:
        self.root = root
        self._root_text = str(root)
        self.tool = tool
        self._snapshot = take_snapshot(root) if eager or memo is not None else None
        self._facts: dict[str, FileFacts] = {}
        self._texts: dict[str, str | None] = {}  # scannable files read in this run: their text (None: unreadable)
        self._pending: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._snapshot_lock = threading.Lock()
        self.reads = 0  # files actually read in this run (the rest came from the memo)
        if memo is not None:
            self._trust(memo)

    @property
    def snapshot(self) -> Snapshot:
        with self._snapshot_lock:
            if self._snapshot is None:
                self._snapshot = take_snapshot(self.root)
            return self._snapshot

    def _trust(self, memo: Memo) -> None:
        limit = memo.taken_ns - RACY_NS
        for rel, (state, facts) in memo.files.items():
            if self.snapshot.files.get(rel) == state and max(state[1], state[2]) < limit:
                if memo.tool != self.tool:  # another tool's facts: keep only the content hash
                    facts = FileFacts(facts.sha256, facts.utf8, facts.maybe_bomb)
                self._facts[rel] = facts

    def rel(self, path: Path) -> str:
        text, root = str(path), str(self.root)
        return text[len(root) + 1:].replace(os.sep, "/") if text.startswith(root + os.sep) else text

    def _known(self, rel: str, check_bomb: bool, scan: bool, text: bool) -> FileFacts | None:
        """What this run knows of a file without reading it again (under the lock)."""
        known = self._facts.get(rel)
        if known is None or (check_bomb and known.maybe_bomb and known.alias_bomb is None):
            return None
        if text and rel not in self._texts:
            return None
        if scan and known.hits is None:
            if rel not in self._texts:
                return None
            kept = self._texts[rel]
            known = self._facts[rel] = replace(known, hits=tuple(scan_text(kept)) if kept is not None else ())
        return known

    def facts(self, rel: str, check_bomb: bool = False, scan: bool = True, text: bool = False) -> FileFacts:
        """The facts of one file (repository-relative), read now unless this run or the memo knows them.

        `check_bomb` asks for the alias expansion check (kustomize inputs only: it parses the
        file); `scan` for the credential scan (left for later by the source checks, from the
        text they keep); `text` for the text itself, which the memo does not keep.
        """
        scannable = _scannable(rel)
        scan, text = scan and scannable, text and scannable
        while True:
            with self._lock:
                known = self._known(rel, check_bomb, scan, text)
                if known is not None:
                    return known
                waiting = self._pending.get(rel)
                if waiting is None:
                    event = self._pending[rel] = threading.Event()
                    break
            waiting.wait()
        try:
            facts, kept = _read_facts(os.path.join(self._root_text, rel), scannable, scan, check_bomb)
            with self._lock:
                self._facts[rel] = facts
                if scannable:
                    self._texts[rel] = kept
                self.reads += 1
        finally:
            with self._lock:
                del self._pending[rel]
            event.set()
        return facts

    def is_clean(self, path: Path) -> bool:
        """UTF-8 and no alias bomb: the file can be given to kustomize."""
        facts = self.facts(self.rel(path), check_bomb=True, scan=False)
        return facts.utf8 and not facts.alias_bomb and not facts.sha256.startswith("!")

    def sha256(self, path: Path) -> str | None:
        """The content hash of a file the snapshot lists (None for one it does not: not vouched for)."""
        rel = self.rel(path)
        return self.facts(rel, scan=False).sha256 if rel in self.snapshot.files else None

    def credential_hits(self) -> list[Hit]:
        """The credential scan of every scanned file (what `policies.secrets` finds in their texts)."""
        found: list[Hit] = []
        for rel in self.snapshot.scanned:
            hits = self.facts(rel).hits or ()
            found += [(rel, line, what, masked) for line, what, masked in hits]
        return found

    def texts(self) -> list[tuple[Path, str, str]]:
        """`policies.secrets.read_repository_texts`: (path, name, text) of every small UTF-8 scanned file."""
        found: list[tuple[Path, str, str]] = []
        for rel in self.snapshot.scanned:
            self.facts(rel, scan=False, text=True)
            kept = self._texts.get(rel)
            if kept is not None:
                found.append((self.root / rel, rel, kept))
        return found

    def unread_bytes(self) -> int:
        """How much `digest()` would still have to read."""
        return sum(state[0] for rel, state in self.snapshot.files.items() if rel not in self._facts)

    def digest(self) -> str | None:
        """A hash of every path and every file's content; None when a link leads outside."""
        if self.snapshot.escapes:
            return None
        hasher = hashlib.sha256()
        for rel in sorted(self.snapshot.files):
            hasher.update(f"f {rel} {self.facts(rel).sha256}\n".encode("utf-8", "surrogateescape"))
        for rel, kind in sorted(self.snapshot.others.items()):
            hasher.update(f"{kind[0]} {rel} {kind[2:]}\n".encode("utf-8", "surrogateescape"))
        return hasher.hexdigest()

    def unchanged(self) -> bool:
        """Nothing changed since the snapshot: same paths, same status, same content where times are coarse."""
        again = take_snapshot(self.root)
        if not again.same_paths(self.snapshot):
            return False
        recent = self.snapshot.taken_ns - RACY_NS
        for rel, state in self.snapshot.files.items():
            known = self._facts.get(rel)
            if (known is not None and max(state[1], state[2]) >= recent
                    and _read_facts(os.path.join(self._root_text, rel), False, False, False)[0].sha256
                    != known.sha256):
                return False
        return True

    def memo(self) -> Memo:
        listed = self.snapshot.files
        with self._lock:
            files = {rel: (listed[rel], facts) for rel, facts in self._facts.items() if rel in listed}
        return Memo(self.snapshot.taken_ns, self.tool, files)

"""Run a repository's Argo CD health checks (Lua) the way Argo CD runs them.

Argo CD decides when a sync wave is done from each object's health, and for custom resources that
health comes from a Lua script (argo-cd `util/lua/lua.go`). A script that calls a stopped model
`Suspended`, or a DataScienceCluster `Healthy` from stale status, looks plausible in review and
only misbehaves on a cluster, mid-sync. So the rules in `health.py` execute the scripts themselves,
here, in a sandbox shaped like Argo CD's:

- Lua 5.1 semantics (Argo CD embeds gopher-lua, a Lua 5.1 implementation), through `lupa`;
- the object as the global `obj`, converted like Argo CD's `decodeValue` (maps and lists become
  tables, JSON null becomes nil);
- only the libraries Argo CD opens for checks configured in the ArgoCD resource or `argocd-cm`
  (`useOpenLibs` off): the base functions, `table`, and an `os` with just `time` and `date`
  (argo-cd `util/lua/oslib_safe.go`); no `string`, `math`, `io` or string methods;
- a bounded run (Argo CD stops a script after one second);
- the returned table's `status` must be one of Argo CD's health codes, otherwise the object is
  `Unknown`; returning nil gives an empty status.

Where the checks live is found in the repository's files, not in rendered output: the template
ships them as a merge patch of the ArgoCD resource (`spec.resourceHealthChecks`), which no
kustomization renders. `argocd-cm` keys (`resource.customizations.health.<group>_<kind>`) count too.
"""

from __future__ import annotations

import datetime
import importlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ..errors import UsageError
from ..yamlsource import key_line, load_documents
from .secrets import read_repository_texts

#: Argo CD's health codes (gitops-engine `pkg/health/health.go`); anything else becomes Unknown.
HEALTH_STATUSES = ("Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown")
#: Statuses that let a multi-wave sync move on (gitops-engine `pkg/sync/sync_context.go`): Healthy
#: completes an object's task, Degraded fails it (and the sync). Every other status keeps it running.
WAVE_COMPLETING = ("Healthy", "Degraded")
#: Lua instructions a check may run: far more than any health check needs, about a second of work,
#: which is where Argo CD cancels a script.
INSTRUCTION_LIMIT = 20_000_000
_CM_HEALTH_PREFIX = "resource.customizations.health."
_CM_LEGACY_KEY = "resource.customizations"

#: The sandbox, in Lua: a fresh environment per run with only what Argo CD opens, string methods
#: removed (gopher-lua without its string library has none), and an instruction-count hook.
_SANDBOX = r"""
local loadstring, setfenv, pcall, error, sethook = loadstring, setfenv, pcall, error, debug.sethook
local names = {"assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber", "tostring",
               "type", "unpack", "xpcall", "rawequal", "rawget", "rawset", "setmetatable", "getmetatable",
               "print", "_VERSION"}
local base = {}
for _, name in ipairs(names) do base[name] = _G[name] end
local safe_table = {}
for key, value in pairs(table) do safe_table[key] = value end
local safe_os = {time = os.time, date = os.date}
debug.getmetatable("").__index = {}
return function(script, object, limit)
  local chunk, problem = loadstring(script, "=health check")
  if chunk == nil then return false, problem end
  local env = {}
  for key, value in pairs(base) do env[key] = value end
  env.table = safe_table
  env.os = safe_os
  env.require = function(module)
    if module == "os" then return safe_os end
    error("module '" .. tostring(module) .. "' not found")
  end
  env.obj = object
  env._G = env
  setfenv(chunk, env)
  sethook(function() error("the health check ran too long (Argo CD stops a check after one second)") end, "",
          limit)
  local ok, result = pcall(chunk)
  sethook()
  return ok, result
end
"""


class HealthCheckError(Exception):
    """A check that fails to run: Argo CD reports the object's health as an error and the sync fails."""


class LuaUnavailable(Exception):
    """`lupa` (the Lua interpreter binding) is not installed."""


@dataclass(frozen=True)
class HealthResult:
    """What a check returned: one of `HEALTH_STATUSES` (or "" when it returned nil) and its message."""

    status: str
    message: str

    @property
    def completes_wave(self) -> bool:
        return self.status in WAVE_COMPLETING

    def __str__(self) -> str:
        shown = self.status or "no status"
        return f"{shown} ({self.message})" if self.message else shown


@dataclass(frozen=True)
class HealthCheck:
    """A custom health check for one kind, and where the repository declares it."""

    group: str
    kind: str
    script: str
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def evaluate(self, obj: Mapping[str, Any]) -> HealthResult:
        return run_health_check(self.script, obj)


class _Sandbox:
    """One Lua 5.1 state holding the sandbox function; each check runs in its own environment."""

    def __init__(self) -> None:
        try:
            lua51 = importlib.import_module("lupa.lua51")
        except ImportError as error:
            raise LuaUnavailable("the Python package lupa is not installed") from error
        self._runtime = lua51.LuaRuntime(unpack_returned_tuples=True, register_eval=False, register_builtins=False)
        self._run = self._runtime.execute(_SANDBOX)
        self._lua_error: type[BaseException] = lua51.LuaError
        self._lua_type = lua51.lua_type

    def _to_lua(self, value: Any) -> Any:
        """Argo CD's decodeValue: objects and arrays become tables, scalars stay, null is nil."""
        if isinstance(value, Mapping):
            table = self._runtime.table()
            for key, item in value.items():
                if item is not None:
                    table[str(key)] = self._to_lua(item)
            return table
        if isinstance(value, (list, tuple)):
            table = self._runtime.table()
            for index, item in enumerate(value, start=1):
                if item is not None:
                    table[index] = self._to_lua(item)
            return table
        if isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, datetime.date):  # YAML timestamps arrive as strings from the API server
            return value.isoformat()
        return str(value)

    def run(self, script: str, obj: Mapping[str, Any]) -> HealthResult:
        try:
            ok, result = self._run(script, self._to_lua(obj), INSTRUCTION_LIMIT)
        except self._lua_error as error:  # pragma: no cover - the sandbox itself catches script errors
            raise HealthCheckError(str(error)) from error
        if not ok:
            raise HealthCheckError(str(result))
        if result is None:
            return HealthResult("", "")
        if self._lua_type(result) != "table":
            returned = self._lua_type(result) or type(result).__name__
            raise HealthCheckError(f"the check returned a value of type {returned}, not a table")
        status, message = result["status"], result["message"]
        status_text = "" if status is None else str(status)
        message_text = "" if message is None else str(message)
        if status_text not in HEALTH_STATUSES:
            return HealthResult("Unknown", f"invalid health status {status_text!r}")
        return HealthResult(status_text, message_text)


@cache
def _sandbox() -> _Sandbox:
    return _Sandbox()


def run_health_check(script: str, obj: Mapping[str, Any]) -> HealthResult:
    """Run one health check on one object (with its status), as Argo CD would."""
    return _sandbox().run(script, obj)


def lua_available() -> bool:
    try:
        _sandbox()
    except LuaUnavailable:
        return False
    return True


# --- where a repository declares its checks ------------------------------------------------------


def _key_line(node: yaml.Node, *keys: str) -> int:
    """Line of the last key found along `keys` (keys may contain dots, unlike dotted paths)."""
    return key_line(node, keys) or node.start_mark.line + 1


def _from_document(data: Any, node: yaml.Node, file: str) -> Iterator[HealthCheck]:
    if not isinstance(data, dict):
        return
    spec = data.get("spec")
    entries = spec.get("resourceHealthChecks") if isinstance(spec, dict) else None
    if isinstance(entries, list):  # the ArgoCD resource of the Argo CD operator, or a patch of it
        entries_node = _child(_child(node, "spec"), "resourceHealthChecks")
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("check"), str) or not entry.get("kind"):
                continue
            line = node.start_mark.line + 1
            if isinstance(entries_node, yaml.SequenceNode) and index < len(entries_node.value):
                line = _key_line(entries_node.value[index], "check")
            yield HealthCheck(str(entry.get("group") or ""), str(entry["kind"]), entry["check"], file, line)
    if data.get("kind") == "ConfigMap" and isinstance(data.get("data"), dict):  # argocd-cm
        for key, value in data["data"].items():
            if not isinstance(value, str):
                continue
            if str(key).startswith(_CM_HEALTH_PREFIX):
                group, _, kind = str(key).removeprefix(_CM_HEALTH_PREFIX).rpartition("_")
                yield HealthCheck(group, kind, value, file, _key_line(node, "data", str(key)))
            elif key == _CM_LEGACY_KEY:
                yield from _legacy_customizations(value, file, _key_line(node, "data", str(key)))


def _legacy_customizations(text: str, file: str, line: int) -> Iterator[HealthCheck]:
    """The old single `resource.customizations` key: `<group>/<kind>: {health.lua: ...}`."""
    try:
        blob = yaml.safe_load(text)
    except yaml.YAMLError:
        return
    if not isinstance(blob, dict):
        return
    for group_kind, settings in blob.items():
        script = settings.get("health.lua") if isinstance(settings, dict) else None
        if isinstance(script, str):
            group, _, kind = str(group_kind).rpartition("/")
            yield HealthCheck(group, kind, script, file, line)


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node if isinstance(value_node, yaml.Node) else None
    return None


def repository_health_checks(
        root: Path, texts: Iterable[tuple[Path, str, str]] | None = None) -> dict[tuple[str, str], HealthCheck]:
    """(group, kind) -> the repository's health check for it; the first file in path order wins.

    `texts` are the repository's YAML files as (path, repository-relative name, text), when a
    caller has read them already. Wildcard entries (`*` groups or kinds) are not resolved: they are
    rare and Argo CD matches them only after exact entries.
    """
    found: dict[tuple[str, str], HealthCheck] = {}
    for path, display, text in read_repository_texts(root) if texts is None else texts:
        if path.suffix == ".json" or ("resourceHealthChecks" not in text and _CM_LEGACY_KEY not in text):
            continue
        try:
            documents = load_documents(text, display)
        except UsageError:
            continue  # malformed YAML is reported by the source checks
        for document in documents:
            for check in _from_document(document.data, document.node, display):
                found.setdefault((check.group, check.kind), check)
    return found

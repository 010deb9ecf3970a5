"""Schema locations: order, URL templates over loopback, the disk cache, one warning per kind offline."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from loopback import serving
from mlops.cli import main
from mlops.schemas.builtin import builtin_catalog
from mlops.schemas.locations import DEFAULT_CATALOG, Lookup, SchemaLocation, build_locations, split_path_list
from repo_builder import INFERENCE_SERVICE, simple_repo, write

WIDGET = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {name}\nspec:\n  size: {size}\n"
WIDGET_SCHEMA = {
    "type": "object",
    "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}},
                            "additionalProperties": False}},
}


class _Handler(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.requests.append(self.path)
        body = self.files.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        self.wfile.write(body or b"not found")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def schema_server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"files": {}, "requests": []})
    with serving(handler) as url:
        yield url, handler


@pytest.fixture(autouse=True)
def _cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLOPS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MLOPS_SCHEMA_LOCATION", raising=False)
    monkeypatch.delenv("MLOPS_OFFLINE", raising=False)


def test_path_list_keeps_urls_whole() -> None:
    assert split_path_list("a:https://h/{group}/{kind}.json:/b") == ["a", "https://h/{group}/{kind}.json", "/b"]


def test_order_is_options_environment_config_then_catalog(tmp_path: Path) -> None:
    for name in ("cli", "env", "repo/cfg"):
        (tmp_path / name).mkdir(parents=True)
    args = ([str(tmp_path / "cli")], str(tmp_path / "env"), ["cfg"], tmp_path / "repo", tmp_path)
    locations = build_locations(*args)
    assert [loc.spec for loc in locations] == [str(tmp_path / "cli"), str(tmp_path / "env"), "cfg"]
    online = build_locations(*args, include_default=True)
    assert [(loc.spec, loc.fallback) for loc in online][-1] == (DEFAULT_CATALOG, True)


def test_explicit_locations_come_before_the_built_in_catalog_and_the_public_one_after(tmp_path: Path) -> None:
    override = {"title": "team's own InferenceService schema"}
    write(tmp_path, {"mine/serving.kserve.io/inferenceservice_v1beta1.json": json.dumps(override),
                     "public/example.com/widget_v1.json": json.dumps({"title": "public"}),
                     "public/serving.kserve.io/servingruntime_v1alpha1.json": json.dumps({"title": "public"})})
    lookup = Lookup([SchemaLocation("mine", tmp_path), SchemaLocation("public", tmp_path, fallback=True)],
                    builtin=builtin_catalog(), default_release="3.5")
    assert lookup.find("serving.kserve.io", "InferenceService", "v1beta1") == (
        override, "mine/serving.kserve.io/inferenceservice_v1beta1.json")
    schema, source = lookup.find("serving.kserve.io", "ServingRuntime", "v1alpha1") or ({}, "")
    assert source == "built-in catalog" and "properties" in schema
    assert lookup.find("example.com", "Widget", "v1") == ({"title": "public"}, "public/example.com/widget_v1.json")


def test_platform_kinds_come_from_the_release_asked_for() -> None:
    lookup = Lookup([], builtin=builtin_catalog(), default_release="3.5")
    newest = lookup.find("datasciencecluster.opendatahub.io", "DataScienceCluster", "v2")
    oldest = lookup.find("datasciencecluster.opendatahub.io", "DataScienceCluster", "v2", "3.0")
    assert newest is not None and oldest is not None
    assert newest[1] == "built-in catalog, OpenShift AI 3.5" and oldest[1] == "built-in catalog, OpenShift AI 3.0"
    components = {release: set(schema["properties"]["spec"]["properties"]["components"]["properties"])
                  for release, (schema, _) in (("3.5", newest), ("3.0", oldest))}
    assert "sparkoperator" in components["3.5"] - components["3.0"]


def test_first_location_with_the_kind_wins(tmp_path: Path) -> None:
    write(tmp_path, {"a/example.com/widget_v1.json": json.dumps({"title": "a"}),
                     "b/example.com/widget_v1.json": json.dumps({"title": "b"}),
                     "b/example.com/gadget_v1.json": json.dumps({"title": "gadget"})})
    lookup = Lookup([SchemaLocation("a", tmp_path), SchemaLocation("b", tmp_path)])
    assert lookup.find("example.com", "Widget", "v1") == ({"title": "a"}, "a/example.com/widget_v1.json")
    assert lookup.find("example.com", "Gadget", "v1") == ({"title": "gadget"}, "b/example.com/gadget_v1.json")
    assert lookup.find("example.com", "Nothing", "v1") is None


def test_path_template(tmp_path: Path) -> None:
    write(tmp_path, {"flat/widget-example.com-v1.json": json.dumps({"title": "flat"})})
    lookup = Lookup([SchemaLocation("flat/{kind}-{group}-{version}.json", tmp_path)])
    assert lookup.find("example.com", "Widget", "v1") == ({"title": "flat"}, "flat/widget-example.com-v1.json")


def test_url_template_is_fetched_once_then_cached(schema_server: tuple[str, type[_Handler]], tmp_path: Path) -> None:
    url, handler = schema_server
    handler.files["/example.com/widget_v1.json"] = json.dumps(WIDGET_SCHEMA).encode()
    repo = simple_repo(tmp_path / "repo", {"w1.yaml": WIDGET.format(name="a", size="one"),
                                           "w2.yaml": WIDGET.format(name="b", size=2)})
    location = f"{url}/{{group}}/{{kind}}_{{version}}.json"
    first = CliRunner().invoke(main, ["validate", "--repo", str(repo), "--schema-location", location, "--no-policies",
                                      "--output", "json"])
    assert first.exit_code == 1, first.output
    found = json.loads(first.stdout)["findings"]
    assert [(f["file"], f["path"]) for f in found] == [("base/w1.yaml", "spec.size")]
    assert handler.requests == ["/example.com/widget_v1.json"]  # compiled once for both objects
    second = CliRunner().invoke(main, ["validate", "--repo", str(repo), "--schema-location", location, "--offline",
                                       "--no-policies"])
    assert second.exit_code == 1  # served from the cache, even offline
    assert handler.requests == ["/example.com/widget_v1.json"]


def test_unreachable_url_warns_once_per_kind(tmp_path: Path) -> None:
    objects = {f"w{i}.yaml": WIDGET.format(name=f"w{i}", size=i) for i in range(5)}
    objects["g.yaml"] = "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n"
    repo = simple_repo(tmp_path / "repo", objects)
    dead = "http://127.0.0.1:9/{group}/{kind}_{version}.json"  # the discard port: connection refused
    result = CliRunner().invoke(main, ["validate", "--repo", str(repo), "--schema-location", dead, "--no-policies"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    # one line for the first kind that found it unreachable, one for each other kind it skipped
    assert len([w for w in warnings if "Widget" in w]) == 1
    assert len([w for w in warnings if "Gadget" in w]) == 1
    assert "schema-missing" in result.stdout


def test_schemas_sync_writes_what_the_repository_uses(tmp_path: Path) -> None:
    repo = simple_repo(tmp_path / "repo", {"isvc.yaml": INFERENCE_SERVICE,
                                           "w.yaml": WIDGET.format(name="w", size=1)})
    out = tmp_path / "synced"
    result = CliRunner().invoke(main, ["schemas", "sync", "--repo", str(repo), "--offline", "--out", str(out)])
    assert result.exit_code == 1  # Widget has no schema anywhere
    assert "missing  Widget example.com/v1" in result.stdout
    assert "ok       InferenceService serving.kserve.io/v1beta1  (built-in catalog)" in result.stdout
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json"))
    assert written == ["serving.kserve.io/inferenceservice_v1beta1.json"]
    assert json.loads((out / written[0]).read_text()) == builtin_catalog().find(
        "serving.kserve.io", "InferenceService", "v1beta1", "3.5")[0]  # type: ignore[index]


def test_schemas_list_names_the_built_in_kinds() -> None:
    result = CliRunner().invoke(main, ["schemas", "list"])
    assert result.exit_code == 0, result.output
    assert "serving.kserve.io/v1beta1 inferenceservice" in result.stdout
    assert "datasciencecluster.opendatahub.io/v2 datasciencecluster  (OpenShift AI 3.0, 3.2, 3.3, 3.4, 3.5)" in (
        result.stdout)
    unknown = CliRunner().invoke(main, ["schemas", "list", "--release", "2.25"])
    assert unknown.exit_code == 2 and "known: 3.0, 3.2, 3.3, 3.4, 3.5" in unknown.stderr

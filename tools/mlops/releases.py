"""Which OpenShift AI release each target is written for, when mlops.yaml does not say.

A repository may carry RHOAI 2.25 and 3.x configurations side by side, each synced by its own
Application. Without `rhoaiVersion`, the release of a target is read from the `rhods-operator`
Subscription that the same target renders: a channel pinned to a minor (`stable-3.4`,
`eus-2.25`, `fast-3.5`) names it; `stable-2.x` says 2.x. A target whose release is 2.x is then
judged against 2.x facts: the 3.x-only rules about removed and deprecated APIs leave it alone,
and no 3.x platform schema is applied to it. Channel names as the RHOAI bundle publishes them
(`rhoai-facts.md`, Subscription).
"""

from __future__ import annotations

import re
from dataclasses import replace

from .config import Config
from .manifests import Manifest

RHOAI_PACKAGE = "rhods-operator"
_PINNED = re.compile(r"^(?:stable|fast|eus)-(\d+\.\d+)$")
_MAJOR = re.compile(r"^(?:stable|fast)-(\d+)\.x$")


def release_from_channel(channel: str) -> str | None:
    """`stable-3.4` -> `3.4`; `stable-2.x` -> `2`; floating 3.x channels and others -> None (unknown)."""
    pinned = _PINNED.match(channel)
    if pinned:
        return pinned.group(1)
    major = _MAJOR.match(channel)
    return major.group(1) if major and major.group(1) != "3" else None


def is_2x(release: str) -> bool:
    return release == "2" or release.startswith("2.")


def channel_of(manifests: list[Manifest]) -> str | None:
    for manifest in manifests:
        spec = manifest.data.get("spec")
        if manifest.kind == "Subscription" and isinstance(spec, dict) and spec.get("name") == RHOAI_PACKAGE \
                and isinstance(spec.get("channel"), str):
            return str(spec["channel"])
    return None


def infer_releases(config: Config, manifests: dict[str, list[Manifest]],
                   homes: dict[str, set[str]] | None = None) -> Config:
    """The configuration with each target's release filled in, where mlops.yaml is silent.

    A target's own `rhods-operator` Subscription decides; otherwise the Subscription that another
    target of the same cluster's Argo CD renders (`homes`: target -> the roots whose Argo CD
    objects sync it), when every such cluster agrees: a platform instance is often synced apart
    from its operator.
    """
    if config.rhoai_version_explicit:
        return config
    own = {name: release_from_channel(channel) for name, items in manifests.items()
           if (channel := channel_of(items)) is not None}
    by_home: dict[str, set[str | None]] = {}
    for name, release in own.items():
        for home in (homes or {}).get(name, set()):
            by_home.setdefault(home, set()).add(release)

    def inferred(target_name: str, current: str | None) -> str | None:
        if current is not None:
            return current
        if target_name in own:
            return own[target_name]
        found = {release for home in (homes or {}).get(target_name, set()) for release in by_home.get(home, {None})}
        return found.pop() if len(found) == 1 else None

    return replace(
        config,
        environments=tuple(replace(t, rhoai_version=inferred(t.name, t.rhoai_version)) for t in config.environments),
        targets=tuple(replace(t, rhoai_version=inferred(t.name, t.rhoai_version)) for t in config.targets),
    )

"""The operator channel must install the OpenShift AI release the platform objects are written for.

`rhoaiVersion` (mlops.yaml, or per target) decides which release's DataScienceCluster and
DSCInitialization schemas `mlops validate` applies. The release a cluster actually runs is decided
by the `rhods-operator` Subscription's channel: `stable-3.N`, `fast-3.N` and `eus-3.N` stay on
minor 3.N; `stable-3.x`, `fast-3.x`, `stable`, `fast` and `beta` follow whatever minor the catalog
serves. A pinned channel of another minor installs an operator whose API server rejects the
components of the checked release (or lacks the ones it needs); a floating one makes the check a
guess. Channel names as the RHOAI operator bundle publishes them (`rhoai-facts.md`, Subscription).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..findings import Severity
from ..manifests import Manifest
from .base import PolicyContext, Rule, Scope, Violation
from .objects import dig

RHOAI_PACKAGE = "rhods-operator"
_PINNED = re.compile(r"^(?:stable|fast|eus)-(\d+\.\d+)$")
_FLOATING = re.compile(r"^(?:stable|fast|beta)(?:-\d+\.x)?$")


def _channels(context: PolicyContext) -> Iterator[tuple[Manifest, str, str]]:
    """(Subscription, channel, release it is checked as) of every rhods-operator Subscription."""
    for manifest in context.objects(Scope.ALL):
        if manifest.kind != "Subscription" or not manifest.api_version.startswith("operators.coreos.com/"):
            continue
        channel = dig(manifest.data, "spec", "channel")
        if dig(manifest.data, "spec", "name") == RHOAI_PACKAGE and isinstance(channel, str):
            yield manifest, channel, context.config.release_of(manifest.environment)


def _check_pinned(context: PolicyContext) -> Iterator[Violation]:
    for manifest, channel, release in _channels(context):
        pinned = _PINNED.match(channel)
        if pinned and pinned.group(1) != release:
            yield Violation(
                f"Subscription {manifest.name} channel {channel} installs OpenShift AI {pinned.group(1)}, but the "
                f"platform objects are checked as {release} (rhoaiVersion)", manifest, "spec.channel",
                fix=f"set channel stable-{release}, or set rhoaiVersion: \"{pinned.group(1)}\" and fix what "
                    "`mlops validate` then reports")


def _check_floating(context: PolicyContext) -> Iterator[Violation]:
    for manifest, channel, release in _channels(context):
        if _FLOATING.match(channel):
            yield Violation(
                f"Subscription {manifest.name} channel {channel} follows every minor, so the cluster may run "
                f"another release than the {release} the platform objects are checked against",
                manifest, "spec.channel", fix=f"pin the minor: channel stable-{release}, moved together with "
                                              "rhoaiVersion")


RULES: list[Rule] = [
    Rule("rhoai-channel", "The rhods-operator channel installs the OpenShift AI release of rhoaiVersion",
         "Each OpenShift AI minor adds DataScienceCluster components and fields, and an older API server "
         "rejects them under Argo CD's strict field validation. `mlops validate` checks the platform "
         "objects against the release named by `rhoaiVersion` (mlops.yaml, or per target); the "
         "Subscription's channel decides the release the cluster installs. A channel pinned to another "
         "minor (`stable-3.4` while rhoaiVersion is 3.5) installs the wrong release.",
         "set the channel to stable-<rhoaiVersion>", _check_pinned,
         severity=Severity.ERROR, scope=Scope.ALL),
    Rule("rhoai-channel-floating", "The rhods-operator channel stays on one OpenShift AI minor",
         "`stable-3.x`, `fast-3.x`, `stable`, `fast` and `beta` follow every minor the catalog serves, so "
         "the release the platform objects were checked against (`rhoaiVersion`) is a guess: a cluster "
         "whose catalog serves an older minor rejects newer components, and an upgrade arrives with "
         "components nobody reviewed.",
         "pin the channel to stable-<rhoaiVersion> and move channel and rhoaiVersion together", _check_floating,
         severity=Severity.WARNING, scope=Scope.ALL),
]

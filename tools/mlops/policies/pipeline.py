"""The finding ids the validation pipeline itself emits, as rules of the same registry.

They have no policy check: the source checks, kustomize, the schema stage and the policy engine
emit them (`validate.py`, `yamlsource.py`, `catalog.py`, `policies/engine.py`). Being rules
means `mlops rules` lists them, `mlops rules explain ID` explains them, SARIF carries their help,
and mlops.yaml may change their severity or turn them off like any other rule.
"""

from __future__ import annotations

from ..findings import Severity
from .base import Rule, Scope

RULES: list[Rule] = [
    Rule("schema", "An object does not match the JSON schema of its kind",
         "Built-in kinds are checked against the strict Kubernetes schemas of `kubernetesVersion`; custom "
         "resources against the first schema location that has their kind, then the built-in catalog (the "
         "platform kinds as the OpenShift AI release of `rhoaiVersion` defines them). The API server would "
         "refuse the object under Argo CD's strict field validation, or drop the misspelt field.",
         "fix the field named in the finding; a field of another OpenShift AI release names that release"),
    Rule("schema-missing", "A kind has a schema somewhere, so its objects are checked",
         "No schema location and no schema of the built-in catalog has this kind, so its objects were not "
         "checked at all (`mlops schemas list` shows the built-in kinds). A warning, an error under `--strict`.",
         "import the CRD with `mlops schemas import --strip-descriptions crd.yaml --out schemas` and list the "
         "folder under schemaLocations in mlops.yaml", severity=Severity.WARNING),
    Rule("yaml-syntax", "Every YAML file parses",
         "A file kustomize or Argo CD reads does not parse; nothing that includes it can render.",
         "fix the YAML at the line given"),
    Rule("yaml-duplicate-key", "No mapping defines the same key twice",
         "YAML parsers disagree on which value wins (kustomize keeps one, Python another), so the object "
         "Argo CD applies may not be the one reviewed.", "remove one of the two keys"),
    Rule("yaml-encoding", "Every file is UTF-8", "kustomize and Argo CD read files as UTF-8.",
         "save the file as UTF-8"),
    Rule("yaml-alias-bomb", "No YAML aliases that expand to a huge document",
         "A few lines of nested aliases can expand to gigabytes and exhaust kustomize's and Argo CD's memory.",
         "write the values out instead of nesting aliases"),
    Rule("kustomize-reference", "Every path a kustomization names exists inside the repository",
         "kustomize fails on a missing path and happily follows `../..` out of the repository, where Argo CD "
         "cannot follow.", "fix the path; keep every base inside the repository (or pin a remote URL)"),
    Rule("render", "Every root renders with kustomize",
         "kustomize failed to build the root; Argo CD would show the Application as unknown and sync nothing.",
         "run `kubectl kustomize PATH` to see the error in context"),
    Rule("symlink-out-of-bounds", "No committed symlink is absolute or points outside the repository",
         "Argo CD's repo-server checks every symlink of the repository before it renders anything "
         "(argo-cd `util/app/path/path.go`, `CheckOutOfBoundsSymlinks`): one absolute or escaping link makes "
         "every Application of the repository fail to render.",
         "replace the link with the file, or with a relative link that stays inside the repository"),
    Rule("empty-resource", "Every file listed under resources holds an object",
         "kustomize adds nothing for an empty resource file and says nothing: the objects a reviewer expects "
         "(a truncated save, a bad merge) are never applied.",
         "write the object the file should hold, or remove the entry from resources"),
    Rule("not-rendered", "Every source an Application syncs is rendered and checked",
         "Without mlops.yaml targets, validate checks what the repository's Argo CD objects sync. Sources it "
         "cannot render here are counted and named, never silently skipped: Helm charts (no Helm binary comes "
         "from PyPI), folders without a kustomization.yaml, other repositories, template parameters no "
         "generator sets. Missing folders are reported by argocd-source-path instead.",
         "nothing to fix in the repository; validate the chart or repository where it lives",
         severity=Severity.INFO),
    Rule("object-shape", "Every rendered document is a Kubernetes object",
         "Every document needs apiVersion, kind and metadata.name; Argo CD refuses the sync otherwise.",
         "give the document apiVersion, kind and metadata.name, or remove it"),
    Rule("waiver-reason", "Every waiver names a known rule and gives a reason",
         "A waiver (`waive.mlops.dev/<rule-id>: \"<reason>\"`) without a reason, or naming a rule that does not "
         "exist, hides a problem without saying why.", "write why the rule does not apply to this object",
         scope=Scope.ALL),
    Rule("rule-crashed", "Every policy rule can check the repository",
         "A policy rule failed on this repository: a bug in mlops. The other rules still ran.",
         "report the object that triggers it"),
]

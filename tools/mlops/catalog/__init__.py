"""The model catalog: `models/<model>/model.yaml`, read with positions, checked, and typed; and the pins.

A catalog entry is not a Kubernetes object and no kustomization reads it, so neither kustomize
nor the Kubernetes schemas ever look at it; yet `mlops promote` trusts it for every gate and for
the artifact URI it writes into an overlay. So it gets its own JSON schema plus the checks a
schema cannot express (`schema`), every problem a `catalog-schema` finding with file, line, JSON
path and fix (`load`). The typed records are in `model`, the pins an environment runs in `pins`
(the one reader and writer), comment-keeping edits in `edit` and what a commit range added in
`changes` (those two are imported by name, not here: they need ruamel.yaml and git).
"""

from .load import catalog_files, catalog_path, check_text, known_model_names, load_catalog, load_model_file
from .model import (
    CATALOG_DIR,
    CATALOG_FILE,
    ISVC_API_VERSION,
    SCHEMA_RULE,
    VERSION_LABEL,
    Gate,
    MetricThreshold,
    Model,
    Owner,
    Signature,
    Tensor,
    Version,
    is_model_name,
    is_semver,
    parse_created,
    parse_duration,
    semver_key,
    uri_problem,
)
from .pins import (
    Pin,
    PinError,
    pin_file,
    pin_version,
    pinned_models,
    previous_pinned_version,
    read_pin,
    write_pin_text,
)
from .schema import catalog_schema

__all__ = [
    "CATALOG_DIR", "CATALOG_FILE", "ISVC_API_VERSION", "SCHEMA_RULE", "VERSION_LABEL", "Gate", "MetricThreshold",
    "Model", "Owner", "Pin", "PinError", "Signature", "Tensor", "Version", "catalog_files", "catalog_path",
    "catalog_schema", "check_text", "is_model_name", "is_semver", "known_model_names", "load_catalog",
    "load_model_file", "parse_created", "parse_duration", "pin_file", "pin_version", "pinned_models",
    "previous_pinned_version", "read_pin",
    "semver_key", "uri_problem", "write_pin_text",
]

"""Training of the example model fraud-detection, locally and as a Kubeflow Pipelines v2 pipeline.

The step functions, shared by both, live in one module per job: `retraining_signal` (the gate
of scheduled runs: did production drift?), `transactions` (generate or fetch the data),
`validation` (check it against the data schema), `features` (read a CSV file as the model's
input), `training`, `onnx_export` (export and check the ONNX file), `reference_data` (the
version's drift reference for TrustyAI), `evaluation`, `upload` (the model files and their
digest) and `registration` (the version number and the catalog pull request). `__main__` is the
local run, `pipeline` the pipeline for OpenShift AI's pipeline server, `compile` the command that
writes pipeline.yaml and `catalog` reads the catalog entry and the data schema.

The local run calls the step functions directly; the pipeline wraps each in a lightweight
component and ships its source with `@dsl.component(additional_funcs=[...])`. A lightweight
component only sees the source of the functions it is given, so every step function is
self-contained: it imports what it needs inside its body and calls no module-level name except
other step functions, which the component then lists as well. No classes (KFP copies functions
only), no module constants.

Contract of the checks: a step that finds bad input (data that breaks the data schema, an ONNX
file that differs from the catalog signature) raises ValueError whose message is the full,
readable report. Any other exception is a fault of the step itself.
"""

__version__ = "0.1.0"

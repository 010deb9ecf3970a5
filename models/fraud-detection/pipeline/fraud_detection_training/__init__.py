"""Training of the example model fraud-detection, locally and as a Kubeflow Pipelines v2 pipeline.

`steps` holds the step functions (shared by both), `__main__` the local run, `pipeline` the
pipeline for OpenShift AI's pipeline server and `compile` the command that writes pipeline.yaml.
"""

__version__ = "0.1.0"

"""mlops: keep an OpenShift AI GitOps repository correct, and promote models through it."""

__version__ = "0.1.0"

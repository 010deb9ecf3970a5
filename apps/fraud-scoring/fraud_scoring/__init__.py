"""fraud-scoring: the example business service around the fraud-detection model.

It scores card transactions by calling the model's KServe v2 (Open Inference Protocol) REST
endpoint with the pod's ServiceAccount token, decides which to flag, and exposes what the business
cares about as Prometheus metrics: transactions scored and flagged, and the amount at risk (the
sum of the flagged amounts). Standard library only, so the pinned UBI Python image runs it as is.
"""

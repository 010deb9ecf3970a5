"""Schemas: find the JSON schema of a kind (built-in or custom), import CRDs, sync for offline use."""

"""`python -m mlops`: the same command as `mlops`, for a Python whose scripts are not on PATH."""

from .cli import console

console()

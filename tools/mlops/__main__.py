"""`python -m mlops`: the same command as `mlops`, for a Python whose scripts are not on PATH."""

from .cli import main

main(prog_name="mlops")

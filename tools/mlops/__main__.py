"""`python -m mlops`: the same command as `mlops`, for scripts that run the tool of their interpreter."""

from .cli import main

main()

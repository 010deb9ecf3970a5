"""Promotion: a model version through the environments by pull request, gates first, atomically.

`plan` (what goes where, every gate's verdict, the plan kind), `gates` and `soak` (pure verdicts
with figures), `promote` (the tree, the render, the validation, the commit), `publish` (push with
a lease, open the pull request, undo), `pr_body` (the one writer of the pull requests' bodies, for
promote, rollback and register), `register` and `add_version` (a new version into the catalog),
`status` (what runs where, open promotions), `run` and `views` (the commands' one call and print).
"""

"""Facts several rule families share, computed once per run and exposed as typed properties of the context.

A fact is a model of what a controller would do with the rendered objects (Argo CD's Applications
once every ApplicationSet is expanded, ...); it judges nothing. Rules read facts; facts never read
rules.
"""

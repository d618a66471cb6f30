"""The publication layer: figures, glue, codebook pages, the book build and its replication.

Imports from `ztown.data` and `ztown.analysis`; never from `ztown.cli`.
"""

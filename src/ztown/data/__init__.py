"""The data layer: the schema, the seeded generator, validation, loading and export.

Imports nothing from `ztown.analysis`, `ztown.publication` or `ztown.cli`.
"""

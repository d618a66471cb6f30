"""The analysis layer: scales, models and their inference, the scenarios and the Monte Carlo study.

Imports from `ztown.data` only; never from `ztown.publication` or `ztown.cli`.
"""

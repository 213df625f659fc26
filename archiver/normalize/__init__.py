"""Shared normalisers: pure functions from raw strings to clean values.

Page objects return raw strings; these turn them into the archive's values. No network,
clock or randomness here.
"""

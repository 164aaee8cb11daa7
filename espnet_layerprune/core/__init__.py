"""The small core every layer builds on: errors and their wording, files next to a model,
which units a request keeps, prune plans, the CTC side (best path, text, error rates) and
data directories. Imports nothing else of this package."""

"""Prunable encoders (ESPnet encoders with run-time pruning and stochastic depth)."""

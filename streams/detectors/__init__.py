"""Anomaly detectors: plain objects updated with a batch of observations, returning signals."""

"""Stream processing: the Faust worker, the detectors, the alert lifecycle and Prometheus metrics."""

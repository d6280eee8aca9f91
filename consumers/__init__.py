"""What consumes the alerts: operator webhooks, Grafana annotations, and scoring against the ground truth.

Webhook delivery: ``dispatcher.Dispatcher`` runs one ``lane.Lane`` per sink
(a webhook ``endpoints.Endpoint`` or the ``annotations.GrafanaAnnotator``) on
the alerts topic; ``receiver.Receiver`` is the reference far end.
"""

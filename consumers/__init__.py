"""Alert sinks: signed webhook delivery with retries and dead letters, Grafana annotations, a reference receiver.

``dispatcher.Dispatcher`` runs one ``lane.Lane`` per sink (a webhook
``endpoints.Endpoint`` or the ``annotations.GrafanaAnnotator``) on the alerts
topic; ``receiver.Receiver`` is the far end for trials and tests.
"""

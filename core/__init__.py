"""iocsim: an event-stream simulator of a smart operations centre (IOC).

The top-level package holds what every part shares: the message contract,
configuration, the embedded broker and the command line. The feeds live in
``iocsim.sim``, Kafka publishing in ``iocsim.producers``, detection in
``iocsim.streams``, alert sinks in ``iocsim.consumers`` and Grafana-as-code in
``iocsim.dashboards``.
"""

__version__ = "0.1.0"

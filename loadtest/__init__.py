"""Load-test harness: drive Kafka (or a webhook receiver) at a scheduled rate and measure it honestly."""

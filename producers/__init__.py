"""Publishing simulated feeds to Kafka, paced by the sim clock."""

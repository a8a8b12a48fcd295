"""What runs: the worker's Kafka consumer loop with many messages in flight."""

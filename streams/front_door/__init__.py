"""The front door: an OpenAI-compatible HTTP endpoint bridged onto douane's Kafka topics, so an
application using an OpenAI SDK only changes its base URL and API key."""

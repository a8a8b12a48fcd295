"""Refusals that librdkafka reports only through its error callback.

When the broker refuses a client's credentials or its TLS, librdkafka keeps trying and says so
only through ``error_cb``, which ``poll`` serves; a blocking metadata request meanwhile waits
its whole timeout (60 s at a start) and then fails with a time-out that names nothing. A start
therefore asks in short looks and, between them, serves the callback and raises the refusal:
the operator reads "refused the credentials" at once.
"""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException, Producer

# what asking again cannot cure
REFUSALS = frozenset({KafkaError._AUTHENTICATION, KafkaError._SSL})
LOOK_S = 2.0  # one metadata request at a start; then the refusals are looked at again


class RefusalWatch:
    """Remembers a refusal seen by an error callback (librdkafka's thread)."""

    def __init__(self) -> None:
        self.refusal: KafkaError | None = None

    def note(self, error: KafkaError) -> None:
        if error.code() in REFUSALS:
            self.refusal = error

    def raise_if_refused(self, producer: Producer | None) -> None:
        """Serves ``producer``'s callbacks, then raises the refusal if there was one."""
        if producer is not None:
            producer.poll(0)
        if self.refusal is not None:
            raise KafkaException(self.refusal)

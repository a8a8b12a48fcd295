"""Publishing a request to ``douane.requests`` and waiting for its response on
``douane.responses``, correlated by request id.

The consumer reads every partition of the responses topic from the moment the front door
started (no consumer group: every front door instance sees every response and picks its own).
A response that arrives after its caller gave up (504) is only logged: the pipeline has already
audited it, as every answer.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.config import REQUESTS_TOPIC, RESPONSES_TOPIC

log = structlog.get_logger(__name__)


class KafkaBridge:
    def __init__(self, bootstrap: str) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                         linger_ms=0)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.timed_out: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.producer.start()
        await self.consumer.start()
        partitions = [TopicPartition(RESPONSES_TOPIC, p)
                      for p in sorted(await self.producer.partitions_for(RESPONSES_TOPIC))]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        for partition in partitions:  # fix the start offsets before the first request
            await self.consumer.position(partition)
        self._task = asyncio.create_task(self._dispatch(), name="front-door-responses")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.producer.stop()
        await self.consumer.stop()

    async def ask(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Publish and wait; ``TimeoutError`` if no response came within ``timeout_s``."""
        request_id = request["id"]
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[request_id] = future  # before publishing: the answer may be quick
        try:
            await self.producer.send_and_wait(
                REQUESTS_TOPIC, json.dumps(request, ensure_ascii=False).encode("utf-8"),
                key=request_id.encode())
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            self.timed_out.add(request_id)
            raise
        finally:
            self.waiting.pop(request_id, None)

    async def _dispatch(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    try:
                        response = json.loads(record.value)
                        request_id = response["id"]
                    except (ValueError, KeyError, TypeError):
                        continue
                    future = self.waiting.get(request_id)
                    if future is not None and not future.done():
                        future.set_result(response)
                    elif request_id in self.timed_out:
                        self.timed_out.discard(request_id)
                        log.info("late response; its caller had timed out (already audited)",
                                 request_id=request_id, status=response.get("status"))

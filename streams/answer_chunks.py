"""The chunk path of a streamed answer: provider text -> hold-back buffer -> hook ->
``douane.responses.chunks.<tenant>`` (the pipeline addresses it to the tenant's topic), one
message per released piece, as it is released.

Each message is ``{"id", "seq", "delta"}`` (key: the request id, so the pieces of one answer
stay in order on one partition). The complete response still follows on the responses topic;
its text is exactly the concatenation of the pieces. ``transform`` is the hook where released
text is processed before it leaves (placeholder restoration, answer scanning): thanks to the
hold-back buffer it only ever sees whole words and whole placeholders, and the first words
leave without waiting for the end of the answer.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from streams.config import RESPONSE_CHUNKS_TOPIC
from streams.core.holdback import HoldBack

ChunkSink = Callable[[str, bytes, bytes], Awaitable[None]]  # topic, key, value


def unchanged(text: str) -> str:
    return text


async def passed_on(text: str) -> str:
    return text


class AnswerChunks:
    def __init__(self, request_id: str, sink: ChunkSink,
                 transform: Callable[[str], Awaitable[str]] = passed_on,
                 whole_sentences: bool = False) -> None:
        self.request_id = request_id
        self.sink = sink
        # the transform is awaited (answer scanning runs with the other detections in flight)
        self.transform = transform
        self.holdback = HoldBack(whole_sentences=whole_sentences)
        self.released: list[str] = []

    async def feed(self, text: str) -> None:
        held = self.holdback.feed(text)
        if held:
            await self._publish(await self.transform(held))

    async def finish(self) -> str:
        """The end of the answer: release what was held; return the whole answer as sent."""
        held = self.holdback.flush()
        if held:
            await self._publish(await self.transform(held))
        return "".join(self.released)

    async def _publish(self, piece: str) -> None:
        if not piece:
            return
        self.released.append(piece)
        body = {"id": self.request_id, "seq": len(self.released), "delta": piece}
        await self.sink(RESPONSE_CHUNKS_TOPIC, self.request_id.encode(),
                        json.dumps(body, ensure_ascii=False).encode("utf-8"))

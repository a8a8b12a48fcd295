"""Counts the Kafka requests a Python process sends, by kind (benchmarks only).

``benchmarks/concurrency.py --kafka-requests`` puts this folder first on the ``PYTHONPATH`` of
the processes it starts, with ``DOUANE_BENCH_KAFKA_COUNTS`` naming a folder: Python imports this
module at start-up, and every aiokafka request (Fetch, Produce, OffsetCommit, ...) is counted as
it is sent, and the partitions a fetch lists too. The counts are written to
``<folder>/<pid>.json`` five times a second, with the process's command line, so the benchmark
can take the difference over its window. Without the variable nothing is changed.
"""

from __future__ import annotations

import collections
import json
import os
import sys
import threading
import time
from typing import Any

FOLDER = os.environ.get("DOUANE_BENCH_KAFKA_COUNTS")


def _install(folder: str) -> None:
    import aiokafka.conn

    counts: collections.Counter[str] = collections.Counter()
    send = aiokafka.conn.AIOKafkaConnection.send

    def counting_send(self: Any, request: Any, expect_response: bool = True) -> Any:
        kind = type(request).__name__.split("_v")[0].removesuffix("Request")
        counts[kind] += 1
        if kind == "Fetch":
            counts["partitions listed in fetches"] += sum(len(parts) for _, parts in request.topics)
        return send(self, request, expect_response)

    aiokafka.conn.AIOKafkaConnection.send = counting_send
    path = os.path.join(folder, f"{os.getpid()}.json")

    def write() -> None:
        while True:
            time.sleep(0.2)
            with open(path + ".part", "w") as out:
                json.dump({"argv": sys.argv, "counts": dict(counts)}, out)
            os.replace(path + ".part", path)

    threading.Thread(target=write, name="kafka-request-counts", daemon=True).start()


if FOLDER:
    _install(FOLDER)

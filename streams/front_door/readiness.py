"""Whether a worker consumes the request topics this front door publishes to.

The front door asks the broker, not the workers: every few seconds it describes the workers'
consumer group (``DOUANE_APP_ID``, Kafka's DescribeGroups) and checks that each of its request
topics is in some member's assignment. Why the group and not a heartbeat the workers publish:
the group coordinator is where Kafka itself decides who consumes what, so the answer needs no
new topic, no clock shared between machines, and cannot say "consumed" for a topic no member
was given; the front door needs only Describe on the group (``streams.core.kafka_acls``).

What it cannot see sooner than Kafka does: a worker killed without leaving the group keeps its
partitions until its session times out (``DOUANE_KAFKA_SESSION_TIMEOUT_S``); a worker that
stops normally leaves at once. While the group rebalances (a member joining or leaving) the
previous answer stands: assignments are empty for the few seconds a rebalance takes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import structlog
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import KafkaError, for_code

from streams.adapters import metrics
from streams.adapters.kafka_security import KafkaConnection, start_client

log = structlog.get_logger(__name__)
POLL_INTERVAL_S = 2.0
REBALANCING = frozenset({"PreparingRebalance", "CompletingRebalance"})


@dataclass(frozen=True)
class GroupView:
    """What the broker says of a consumer group: its state and each member's assignment."""

    state: str
    assignments: tuple[bytes, ...]


def unconsumed(view: GroupView, topics: Collection[str]) -> list[str] | None:
    """The topics no member of the group is assigned (all of them for an empty group); None
    while the group rebalances (no verdict: assignments are in flux)."""
    if view.state in REBALANCING:
        return None
    assigned: set[str] = set()
    if view.state == "Stable":
        for raw in view.assignments:
            if raw:
                decoded = ConsumerProtocolMemberAssignment.decode(raw)
                assigned.update(topic for topic, partitions in decoded.assignment if partitions)
    return sorted(set(topics) - assigned)


class WorkerGroupWatch:
    """Polls the workers' group; ``consuming`` and ``problem`` say what it saw last."""

    def __init__(self, kafka: KafkaConnection, group_id: str, topics: Sequence[str],
                 interval_s: float = POLL_INTERVAL_S) -> None:
        self.kafka, self.group_id, self.topics = kafka, group_id, tuple(topics)
        self.interval_s = interval_s
        self.consuming = False
        self.problem: str | None = "not checked yet"
        self.admin = AIOKafkaAdminClient(**kafka.client_options())
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await start_client(self.admin, self.kafka, "the front door's admin client")
        await self.check()
        self._task = asyncio.create_task(self._poll(), name="worker-group-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.admin.close()

    def status(self) -> dict[str, object]:
        return {"worker_consuming": self.consuming, "worker_group": self.group_id,
                **({"problem": self.problem} if self.problem else {})}

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.check()

    async def check(self) -> None:
        try:
            view = await self.describe()
        except (KafkaError, OSError, TimeoutError) as error:
            self._set(False, f"the worker group cannot be described ({type(error).__name__})")
            return
        missing = unconsumed(view, self.topics)
        if missing is None:
            return  # rebalancing: the previous verdict stands
        if missing:
            self._set(False, f"no worker of group {self.group_id} consumes "
                             f"{', '.join(missing)} (group {view.state.lower()})")
        else:
            self._set(True, None)

    async def describe(self) -> GroupView:
        responses = await asyncio.wait_for(
            self.admin.describe_consumer_groups([self.group_id]), 10.0)
        for response in responses:
            for group in response.groups:
                error_code, group_id, state, members = group[0], group[1], group[2], group[5]
                if group_id != self.group_id:
                    continue
                if error_code:
                    raise for_code(error_code)(f"describing group {group_id}")
                return GroupView(state, tuple(bytes(member[4]) for member in members))
        return GroupView("Dead", ())

    def _set(self, consuming: bool, problem: str | None) -> None:
        if consuming != self.consuming or problem != self.problem:
            log.info("worker group", consuming=consuming, problem=problem)
        self.consuming, self.problem = consuming, problem
        metrics.FRONT_DOOR_WORKER_CONSUMING.set(1 if consuming else 0)

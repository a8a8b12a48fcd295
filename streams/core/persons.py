"""Which identifiers are one person's: the linking rule behind erasure, subject access and holds.

Pure: the caller passes what the vault saw (which identifier, as a keyed fingerprint, appeared
in which request, as which entity type) and what a DPO decided; nothing here reads a value.

The rule (docs/retention.md, "One person, several identifiers"):

1. **Suggested**: identifiers kept from one request that names **at most one person** (at most
   one distinct ``PERSON`` fingerprint) are suggested as one person's: a request with
   ``Jeanne Martin``, ``jeanne@example.fr`` and ``06 12 34 56 78`` links the three.
2. **Not linked**: a request naming two or more persons (a letter from A to B) links nothing;
   its other identifiers are only reported as *seen with* the person, never acted on.
3. **Confirmed / split**: a DPO confirms two identifiers as one person's (linked whatever the
   requests say) or splits them (no suggestion between the two, now or later). The latest
   decision on a pair wins.
4. The **person** of an identifier is everything reachable from it over links (suggested and
   confirmed). When that reaches two or more names that no DPO confirmed as one person (a
   shared mailbox written to by two people), the person is **ambiguous**: the commands say
   which links join the names, act (erasure, disclosure) only on what confirmed links reach,
   and a hold still protects all of it (keeping too much for a while can be undone; destroying
   or disclosing the wrong person's data cannot).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

NAME_KINDS = frozenset({"PERSON"})
SUGGESTED, CONFIRMED, ASKED = "suggested", "confirmed", "asked"


@dataclass(frozen=True)
class Sighting:
    """One identifier kept from one request."""

    request_id: str
    subject: str  # keyed fingerprint
    kind: str  # entity type (PERSON, EMAIL_ADDRESS...)


@dataclass(frozen=True)
class LinkDecision:
    """A DPO's decision on two identifiers: one person's (``same_person``) or not."""

    first: str
    second: str
    same_person: bool
    case: str  # case reference; no personal data
    decided_at: float

    @property
    def pair(self) -> frozenset[str]:
        return frozenset((self.first, self.second))


@dataclass(frozen=True)
class Link:
    first: str
    second: str
    state: str  # SUGGESTED or CONFIRMED
    requests: tuple[str, ...] = ()  # suggested: the requests that named them together
    case: str | None = None  # confirmed: the DPO's case reference


@dataclass(frozen=True)
class Member:
    subject: str
    kinds: tuple[str, ...]
    how: str  # ASKED, SUGGESTED or CONFIRMED: the link it was reached by
    via: str | None = None  # the member it was reached from
    requests: tuple[str, ...] = ()
    case: str | None = None

    @property
    def is_name(self) -> bool:
        return bool(NAME_KINDS.intersection(self.kinds))


@dataclass(frozen=True)
class Person:
    asked: tuple[str, ...]
    members: tuple[Member, ...]  # the asked identifiers first
    links: tuple[Link, ...]  # the links between members
    seen_with: tuple[Member, ...] = ()  # named beside a member in a many-person request
    split: tuple[str, ...] = ()  # identifiers a DPO split from a member
    # what confirmed links reach from the asked identifiers
    confirmed_core: frozenset[str] = field(default_factory=frozenset)
    # how many groups the names fall into when only confirmed links join them
    name_groups: int = 0
    complete: bool = True  # False: the caller stopped following links (too many)

    @property
    def subjects(self) -> tuple[str, ...]:
        return tuple(m.subject for m in self.members)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.subject for m in self.members if m.is_name)

    @property
    def ambiguous(self) -> bool:
        """Suggested links join names that no DPO confirmed as one person (or the caller
        stopped following links before the end)."""
        return self.name_groups > 1 or not self.complete

    @property
    def acted_on(self) -> tuple[str, ...]:
        """What erasure and disclosure may reach: everything, or only what confirmed links reach
        from the asked identifiers when the person is ambiguous."""
        if not self.ambiguous:
            return self.subjects
        return tuple(s for s in self.subjects if s in self.confirmed_core)

    @property
    def unresolved_links(self) -> tuple[Link, ...]:
        """The suggested links a DPO should confirm or split to make the person unambiguous."""
        if not self.ambiguous:
            return ()
        return tuple(link for link in self.links if link.state == SUGGESTED)


def links_from(sightings: Iterable[Sighting],
               decisions: Iterable[LinkDecision]) -> tuple[dict[frozenset[str], Link],
                                                          set[frozenset[str]],
                                                          dict[str, set[str]],
                                                          set[frozenset[str]]]:
    """(links by pair, pairs named together in many-person requests, kinds by identifier,
    pairs a DPO split)."""
    by_request: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    kinds: dict[str, set[str]] = defaultdict(set)
    for seen in sightings:
        by_request[seen.request_id][seen.subject].add(seen.kind)
        kinds[seen.subject].add(seen.kind)
    evidence: dict[frozenset[str], set[str]] = defaultdict(set)
    together: set[frozenset[str]] = set()
    for request_id, subjects in by_request.items():
        names = [s for s, k in subjects.items() if NAME_KINDS.intersection(k)]
        for first, second in combinations(sorted(subjects), 2):
            pair = frozenset((first, second))
            if len(names) <= 1:
                evidence[pair].add(request_id)
            else:
                together.add(pair)
    latest: dict[frozenset[str], LinkDecision] = {}
    for decision in sorted(decisions, key=lambda d: d.decided_at):
        if decision.first != decision.second:
            latest[decision.pair] = decision
    links: dict[frozenset[str], Link] = {}
    for pair, requests in evidence.items():
        first, second = sorted(pair)
        links[pair] = Link(first, second, SUGGESTED, tuple(sorted(requests)))
    split: set[frozenset[str]] = set()
    for pair, decision in latest.items():
        first, second = sorted(pair)
        if decision.same_person:
            links[pair] = Link(first, second, CONFIRMED, tuple(sorted(evidence.get(pair, ()))),
                               decision.case)
        else:
            links.pop(pair, None)
            split.add(pair)
    return links, together, kinds, split


def person_of(asked: Sequence[str], sightings: Iterable[Sighting],
              decisions: Iterable[LinkDecision] = ()) -> Person:
    """The person ``asked`` (one identifier's fingerprints: they are one value, so one person)
    belongs to, under the linking rule of this module."""
    links, together, kinds, split = links_from(sightings, decisions)
    neighbours: dict[str, list[Link]] = defaultdict(list)
    for link in links.values():
        neighbours[link.first].append(link)
        neighbours[link.second].append(link)
    asked = tuple(dict.fromkeys(asked))
    members: dict[str, Member] = {
        s: Member(s, tuple(sorted(kinds.get(s, ()))), ASKED) for s in asked}
    queue = deque(asked)
    while queue:
        current = queue.popleft()
        # confirmed links first, so a member reachable both ways is shown as confirmed
        for link in sorted(neighbours[current], key=lambda k: (k.state != CONFIRMED,
                                                               k.first, k.second)):
            other = link.second if link.first == current else link.first
            if other in members:
                continue
            members[other] = Member(other, tuple(sorted(kinds.get(other, ()))), link.state,
                                    current, link.requests, link.case)
            queue.append(other)
    inside = set(members)
    confirmed = [link for link in links.values() if link.state == CONFIRMED]
    confirmed_core = _reach(asked, confirmed)
    groups: list[set[str]] = []
    for member in members.values():
        if member.is_name and not any(member.subject in g for g in groups):
            groups.append(confirmed_core if member.subject in confirmed_core
                          else _reach([member.subject], confirmed))
    seen_with = sorted({s for pair in together if pair & inside for s in pair} - inside)
    split_from = sorted({s for pair in split if pair & inside for s in pair} - inside)
    return Person(
        asked=asked, members=tuple(members.values()),
        links=tuple(sorted((link for pair, link in links.items() if pair <= inside),
                           key=lambda k: (k.first, k.second))),
        seen_with=tuple(Member(s, tuple(sorted(kinds.get(s, ()))), "seen-with")
                        for s in seen_with),
        split=tuple(split_from), confirmed_core=frozenset(confirmed_core),
        name_groups=len(groups))


def _reach(start: Iterable[str], links: Iterable[Link]) -> set[str]:
    neighbours: dict[str, set[str]] = defaultdict(set)
    for link in links:
        neighbours[link.first].add(link.second)
        neighbours[link.second].add(link.first)
    reached = set(start)
    queue = deque(reached)
    while queue:
        for other in neighbours[queue.popleft()] - reached:
            reached.add(other)
            queue.append(other)
    return reached

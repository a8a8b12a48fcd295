"""A hot reload that needs what the running detection did not load is refused (restart)."""

from __future__ import annotations

from dataclasses import dataclass

from streams.adapters.policy_files import load_policy_set
from streams.adapters.policy_reload import restart_needed
from streams.config import project_root
from streams.core.loaded_policy import LoadedPolicy
from streams.core.model import DetectionRequest
from streams.core.policy import EntityRule
from streams.runtime.batched_detection import BatchedDetector, Results

SHIPPED = load_policy_set(project_root() / "policies")


class LoadedOnly:
    """Batches that say what their detectors loaded; never asked to detect here."""

    parallel = 1

    def __init__(self, languages: tuple[str, ...] | None,
                 entities: frozenset[str] | None, possible_names: bool | None = None) -> None:
        self.languages, self.entities = languages, entities
        self.possible_names = possible_names

    async def run(self, batch: list[DetectionRequest]) -> Results:
        raise AssertionError("not called")

    def close(self) -> None:
        pass


@dataclass
class Holder:
    policy: LoadedPolicy
    detection: BatchedDetector

    def replace_policy(self, policy: LoadedPolicy) -> None:
        self.policy = policy


def holder(languages: tuple[str, ...] | None, entities: frozenset[str] | None,
           possible_names: bool | None = None) -> Holder:
    return Holder(SHIPPED, BatchedDetector(LoadedOnly(languages, entities, possible_names),
                                           timeout_s=1))


def with_person_from(min_score: float) -> LoadedPolicy:
    """The shipped set, its first rule redacting PERSON from ``min_score``."""
    first, *rest = SHIPPED.policy.rules
    lowered = first.model_copy(update={"redaction": {**first.redaction,
                                                     "PERSON": EntityRule(min_score=min_score)}})
    return LoadedPolicy(SHIPPED.policy.model_copy(update={"rules": (lowered, *rest)}),
                        "test", "(test)")


def test_the_same_policy_needs_no_restart() -> None:
    everything = holder(tuple(SHIPPED.policy.detection.languages),
                        frozenset(SHIPPED.policy.entity_types))
    assert restart_needed(everything, SHIPPED) == []


def test_a_language_the_detection_processes_did_not_load_needs_a_restart() -> None:
    english_only = holder(("en",), frozenset(SHIPPED.policy.entity_types))
    [problem] = restart_needed(english_only, SHIPPED)
    assert "new detection language(s)" in problem and "fr" in problem


def test_an_entity_type_not_loaded_needs_a_restart() -> None:
    without_iban = holder(tuple(SHIPPED.policy.detection.languages),
                          frozenset(SHIPPED.policy.entity_types) - {"IBAN_CODE"})
    [problem] = restart_needed(without_iban, SHIPPED)
    assert "IBAN_CODE" in problem


def test_unknown_scope_checks_providers_only() -> None:
    assert restart_needed(holder(None, None), SHIPPED) == []


def test_possible_names_selected_by_a_reload_need_a_restart_when_not_looked_for() -> None:
    everything = (tuple(SHIPPED.policy.detection.languages),
                  frozenset(SHIPPED.policy.entity_types))
    [problem] = restart_needed(holder(*everything, possible_names=False), with_person_from(0.38))
    assert "min_score 0.38" in problem and "possible names" in problem
    assert restart_needed(holder(*everything, possible_names=True), with_person_from(0.38)) == []
    # 0.4 (the shipped health rules) selects none of them
    assert restart_needed(holder(*everything, possible_names=False), with_person_from(0.4)) == []

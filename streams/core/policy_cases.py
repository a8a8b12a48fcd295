"""Policy test cases: YAML files next to the policies that say what the policy must decide.

```yaml
cases:
  - name: a patient letter stays on government hardware
    request:                       # as on douane.requests; `text` is short for one message
      tenant: ministry-of-health
      purpose: patient-correspondence
      text: "Write to Sophie Dubois about her appointment."
    entities:                      # what the detector finds (omit to run the real detector)
      PERSON: [Sophie Dubois]
    unavailable: [sovereign-local] # providers to treat as down (optional)
    expect:                        # only the keys given are compared
      decision: forward            # forward | block
      classification: sensitive
      provider: sovereign-local
      redacted: [PERSON]           # entity types replaced in what left
      reasons: [redacted, routed]  # reason codes, in order
```

Other ``expect`` keys: ``model``, ``operators`` ({TYPE: operator}), ``rules`` (ids of the rules
that decided something, in order), ``fallbacks``, ``text`` (the text that left), ``budgets``
({budget id: within | warn | exhausted}), ``detection`` (fast | thorough: whether the
deployment's opt-in detection tiers read the request, the rules' ``detection``).

A case decides with no spend, and so does not look at budgets, unless it says what its tenant
has spent this month (what the audit store's ledger would say) and on which day (UTC) the
request is decided - which month, and which prices are in force; a fixed day, so that the case
decides the same whenever it runs:

```yaml
    spent:                         # per purpose (absent: answers that declared none), currency
      - {purpose: casework, amount: 480.00, currency: EUR}
    on: 2026-11-15
```
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import yaml

from streams.core.budgets import NO_PURPOSE, MonthSpend
from streams.core.decision import Decision, decide, detection_depth
from streams.core.loaded_policy import LoadedPolicy
from streams.core.model import ChatMessage, Detection, Finding, GovernedRequest
from streams.core.policy_yaml import YamlSyntaxError, load_yaml
from streams.core.redaction import KeyedTokens, KeyedValue, hmac_token
from streams.errors import DouaneError


class Detect(Protocol):
    """The detector a case without ``entities`` runs: ``tiers`` False for a request the
    policy reads with ``detection: fast`` (the first pass only)."""

    def __call__(self, messages: tuple[ChatMessage, ...], language: str | None, *,
                 tiers: bool = True) -> Detection: ...


EXPECT_KEYS = ("decision", "classification", "provider", "model", "redacted", "operators",
               "reasons", "rules", "fallbacks", "text", "budgets", "detection")
DECLARED_SCORE = 0.85


class TestKeys:
    """Keyed tokens under fixed per-tenant keys, computed in memory, so that keyed operators
    give stable, comparable results in tests."""

    def __getitem__(self, keyed: KeyedValue) -> str:
        if keyed.operator == "keyed-hash":
            return hmac_token(f"test-key/{keyed.tenant}".encode(), keyed.entity_type,
                              keyed.value)
        return "test-ciphertext"


@dataclass
class Case:
    file: str
    line: int
    name: str
    request: GovernedRequest
    entities: Mapping[str, list[Any]] | None
    unavailable: tuple[str, ...]
    expect: dict[str, Any]
    detection: Mapping[str, str] = field(default_factory=dict)
    # the tenant's spend this month, (purpose or NO_PURPOSE, currency) -> amount; None: the
    # case does not look at budgets
    spent: Mapping[tuple[str, str], Decimal] | None = None
    decided_on: date | None = None  # given with ``spent``
    # what is wrong with this case as written (a typo in ``expect``, a missing tenant): the
    # case fails with it, the other cases of its file still run
    problem: str | None = None

    @property
    def label(self) -> str:
        return f"{self.file}:{self.line}: {self.name}"


@dataclass
class CaseResult:
    case: Case
    actual: dict[str, Any]
    decision: Decision | None
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(
            _normal(key, self.case.expect[key]) == _normal(key, self.actual.get(key))
            for key in self.case.expect)

    def failed_keys(self) -> list[str]:
        """The ``expect`` keys whose value differs (``error`` when the case could not run):
        what a record may say about a failure without repeating the case's text."""
        if self.error is not None:
            return ["error"]
        return [key for key in self.case.expect
                if _normal(key, self.case.expect[key]) != _normal(key, self.actual.get(key))]

    def diff(self) -> list[str]:
        if self.error is not None:
            return [self.error]
        keys = list(self.case.expect)
        expected = yaml.safe_dump({k: _normal(k, self.case.expect[k]) for k in keys},
                                  sort_keys=False, allow_unicode=True).splitlines()
        actual = yaml.safe_dump({k: _normal(k, self.actual.get(k)) for k in keys},
                                sort_keys=False, allow_unicode=True).splitlines()
        return list(difflib.unified_diff(expected, actual, "expected", "actual", lineterm=""))


def _normal(key: str, value: Any) -> Any:
    if key == "redacted" and isinstance(value, list):
        return sorted(value)
    if key in ("redacted", "reasons", "rules", "fallbacks") and value is None:
        return []
    if key == "budgets" and value is None:
        return {}
    return value


class CaseFileError(DouaneError, ValueError):
    pass


def parse_cases(text: str, file: str) -> list[Case]:
    try:
        document = load_yaml(text)
    except YamlSyntaxError as error:
        raise CaseFileError(f"{file}:{error.mark.line}:{error.mark.column}: "
                            f"{error.message}") from None
    value = document.value
    if not isinstance(value, dict) or not isinstance(value.get("cases"), list):
        raise CaseFileError(f"{file}:1:1: a test file is a mapping with a list 'cases'")
    cases = []
    for index, raw in enumerate(value["cases"]):
        line = document.mark(("cases", index)).line
        where = f"{file}:{line}: cases[{index}]"
        name = str(raw.get("name", f"case {index + 1}")) if isinstance(raw, dict) \
            else f"case {index + 1}"
        try:
            cases.append(_case(raw, file, line, name, index, where))
        except (CaseFileError, KeyError, TypeError, ValueError) as error:
            problem = str(error) if isinstance(error, CaseFileError) else \
                f"{where}.request: cannot be read ({type(error).__name__}: {error})"
            cases.append(Case(file, line, name, GovernedRequest(f"{file}-{index + 1}", "", ()),
                              None, (), {}, problem=problem))
    return cases


def _case(raw: Any, file: str, line: int, name: str, index: int, where: str) -> Case:
    if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict) \
            or not isinstance(raw.get("expect"), dict):
        raise CaseFileError(f"{where}: a case needs 'request' and 'expect' mappings")
    unknown = sorted(str(key) for key in set(raw["expect"]) - set(EXPECT_KEYS))
    if unknown:
        raise CaseFileError(f"{where}.expect: " + "; ".join(
            f"unknown key '{key}'{_did_you_mean(key, EXPECT_KEYS)}" for key in unknown)
            + f" (known: {', '.join(EXPECT_KEYS)})")
    case = Case(
        file=file, line=line, name=name,
        request=_request(raw["request"], f"{file}-{index + 1}", where),
        entities=raw.get("entities"), unavailable=tuple(raw.get("unavailable") or ()),
        expect=dict(raw["expect"]), detection=dict(raw.get("detection") or {}),
        spent=_spent(raw["spent"], f"{where}.spent") if "spent" in raw else None,
        decided_on=_day(raw["on"], f"{where}.on") if "on" in raw else None,
    )
    if (case.spent is None) != (case.decided_on is None):
        raise CaseFileError(f"{where}: 'spent' and 'on' go together: the month's spend so far, "
                            "and the day (YYYY-MM-DD, UTC) the request is decided")
    return case


def _spent(raw: Any, where: str) -> dict[tuple[str, str], Decimal]:
    if not isinstance(raw, list):
        raise CaseFileError(f"{where}: a list of {{purpose, amount, currency}} "
                            "(purpose optional)")
    amounts: dict[tuple[str, str], Decimal] = {}
    for index, item in enumerate(raw):
        at = f"{where}[{index}]"
        if not isinstance(item, dict) or "amount" not in item or "currency" not in item:
            raise CaseFileError(f"{at}: needs 'amount' and 'currency' (and optionally "
                                "'purpose')")
        unknown = sorted(str(key) for key in set(item) - {"purpose", "amount", "currency"})
        if unknown:
            raise CaseFileError(f"{at}: unknown key '{unknown[0]}' (known: purpose, amount, "
                                "currency)")
        try:
            amount = Decimal(str(item["amount"]))
        except InvalidOperation:
            raise CaseFileError(f"{at}.amount: {item['amount']!r} is not a number") from None
        if not amount.is_finite() or amount < 0:
            raise CaseFileError(f"{at}.amount: {item['amount']!r}: a spend is a number "
                                "from 0 up")
        key = (str(item.get("purpose") or NO_PURPOSE), str(item["currency"]))
        amounts[key] = amounts.get(key, Decimal(0)) + amount
    return amounts


def _day(raw: Any, where: str) -> date:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise CaseFileError(f"{where}: {raw!r} is not a calendar date (YYYY-MM-DD)") from None


def _did_you_mean(word: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _request(raw: Mapping[str, Any], default_id: str, where: str) -> GovernedRequest:
    if "tenant" not in raw:
        raise CaseFileError(f"{where}.request: missing 'tenant'")
    if "messages" in raw:
        messages = tuple(ChatMessage(str(m["role"]), str(m["content"])) for m in raw["messages"])
    else:
        messages = (ChatMessage("user", str(raw.get("text", ""))),)
    return GovernedRequest(
        id=str(raw.get("id", default_id)), tenant=str(raw["tenant"]), messages=messages,
        purpose=raw.get("purpose"), classification=raw.get("classification"),
        model=raw.get("model"), language=raw.get("language"),
    )


def declared_findings(request: GovernedRequest, entities: Mapping[str, list[Any]],
                      where: str) -> tuple[Finding, ...]:
    """Every occurrence of each declared value, as the detector would report it."""
    found = []
    for kind, values in entities.items():
        for item in values or []:
            text = str(item["text"] if isinstance(item, dict) else item)
            score = float(item.get("score", DECLARED_SCORE)) if isinstance(item, dict) \
                else DECLARED_SCORE
            hits = 0
            for index, message in enumerate(request.messages):
                start = message.content.find(text)
                while start >= 0 and text:
                    found.append(Finding(index, kind, start, start + len(text), score, "case"))
                    hits += 1
                    start = message.content.find(text, start + 1)
            if hits == 0:
                raise CaseFileError(f"{where}: the {kind} value declared in 'entities' is not "
                                    "in the request text")
    return tuple(found)


def run_case(
    case: Case, loaded: LoadedPolicy, detect: Detect | None = None,
    tokens: KeyedTokens | None = None,
) -> CaseResult:
    language = case.detection.get("language") or case.request.language \
        or loaded.policy.detection.default_language
    method = case.detection.get("method", "ner+patterns")
    if case.problem is not None:
        return CaseResult(case, {}, None, case.problem)
    try:
        if case.entities is not None:
            detection = Detection(language, method,
                                  declared_findings(case.request, case.entities, case.label))
        elif detect is None:
            return CaseResult(case, {}, None, "no 'entities' given and no detector available")
        else:
            request = case.request
            detection = detect(request.messages, request.language, tiers=detection_depth(
                loaded, request.tenant, request.purpose, request.classification) != "fast")
    except CaseFileError as error:
        return CaseResult(case, {}, None, str(error))
    spend = None
    if case.spent is not None and case.decided_on is not None:
        spend = MonthSpend.at(case.request.tenant,
                              datetime.combine(case.decided_on, time(12), UTC), case.spent)
    decision = decide(case.request, detection, loaded,
                      tokens=tokens if tokens is not None else TestKeys(),
                      unavailable=frozenset(case.unavailable), spend=spend)
    return CaseResult(case, summary(decision), decision)


def summary(decision: Decision) -> dict[str, Any]:
    """A decision as the keys of ``expect``."""
    verdict = decision.verdict
    operators = dict(sorted(verdict.operators.items())) if verdict else {}
    return {
        "decision": decision.outcome,
        "classification": decision.classification,
        "provider": decision.provider.id if decision.provider else None,
        "model": decision.model,
        "redacted": sorted(k for k in decision.entity_counts if operators.get(k) != "keep"),
        "operators": operators,
        "reasons": [r.code for r in decision.reasons],
        "rules": decision.rule_ids,
        "fallbacks": [p.id for p in decision.fallbacks],
        "text": "\n".join(m.content for m in decision.forwarded_messages)
        if decision.outcome == "forward" else None,
        "budgets": {state.budget.id: state.status for state in verdict.budgets}
        if verdict else {},
        "detection": verdict.resolution.detection
        if verdict is not None and verdict.resolution is not None else None,
    }


def run_cases(
    cases: Collection[Case], loaded: LoadedPolicy, detect: Detect | None = None
) -> list[CaseResult]:
    return [run_case(case, loaded, detect) for case in cases]


def decided_settings(result: CaseResult) -> list[tuple[int, list[str]]]:
    """Per rule that decided something for this case, in rule order: the settings it decided
    (a redaction counts only for an entity type the case contains)."""
    verdict = result.decision.verdict if result.decision is not None else None
    if verdict is None or verdict.resolution is None:
        return []
    resolution = verdict.resolution
    return [(index, [s for s in resolution.settings_of(index)
                     if not s.startswith("redaction.") or s[10:] in verdict.operators])
            for index in verdict.rules]


def not_exercised(loaded: LoadedPolicy, results: Collection[CaseResult]) -> list[int]:
    """Indexes of the rules that decided nothing in any of ``results``: no case covers them."""
    exercised = {index for result in results for index, _ in decided_settings(result)}
    return [index for index in range(len(loaded.policy.rules)) if index not in exercised]

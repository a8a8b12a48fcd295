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
that decided something, in order), ``fallbacks``, ``text`` (the text that left).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from streams.core.decision import Decision, decide
from streams.core.model import ChatMessage, Detection, Finding, GovernedRequest
from streams.core.policy import LoadedPolicy
from streams.core.policy_yaml import YamlSyntaxError, load_yaml
from streams.core.redaction import OperatorKeys, hmac_token
from streams.errors import DouaneError

Detect = Callable[[tuple[ChatMessage, ...], str | None], Detection]
EXPECT_KEYS = ("decision", "classification", "provider", "model", "redacted", "operators",
               "reasons", "rules", "fallbacks", "text")
DECLARED_SCORE = 0.85


class TestKeys:
    """Fixed per-tenant keys so that keyed operators give stable, comparable results in tests."""

    def keyed_hash(self, tenant: str, entity_type: str, value: str) -> str:
        return hmac_token(f"test-key/{tenant}".encode(), entity_type, value)

    def encrypt(self, tenant: str, entity_type: str, value: str,
                request_id: str | None = None) -> str:
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
        if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict) \
                or not isinstance(raw.get("expect"), dict):
            raise CaseFileError(f"{where}: a case needs 'request' and 'expect' mappings")
        unknown = sorted(set(raw["expect"]) - set(EXPECT_KEYS))
        if unknown:
            raise CaseFileError(f"{where}.expect: unknown key(s) {', '.join(unknown)} "
                                f"(known: {', '.join(EXPECT_KEYS)})")
        cases.append(Case(
            file=file, line=line, name=str(raw.get("name", f"case {index + 1}")),
            request=_request(raw["request"], f"{file}-{index + 1}", where),
            entities=raw.get("entities"), unavailable=tuple(raw.get("unavailable") or ()),
            expect=dict(raw["expect"]), detection=dict(raw.get("detection") or {}),
        ))
    return cases


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
    keys: OperatorKeys | None = None,
) -> CaseResult:
    language = case.detection.get("language") or case.request.language \
        or loaded.policy.detection.default_language
    method = case.detection.get("method", "ner+patterns")
    try:
        if case.entities is not None:
            detection = Detection(language, method,
                                  declared_findings(case.request, case.entities, case.label))
        elif detect is None:
            return CaseResult(case, {}, None, "no 'entities' given and no detector available")
        else:
            detection = detect(case.request.messages, case.request.language)
    except CaseFileError as error:
        return CaseResult(case, {}, None, str(error))
    decision = decide(case.request, detection, loaded, keys=keys or TestKeys(),
                      unavailable=frozenset(case.unavailable))
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
    }


def run_cases(
    cases: Collection[Case], loaded: LoadedPolicy, detect: Detect | None = None
) -> list[CaseResult]:
    return [run_case(case, loaded, detect) for case in cases]

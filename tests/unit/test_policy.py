"""Policy sets: the shipped one loads, its hash names its content, and every kind of error is
reported with file:line:column and the path in the document - all of them at once."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from streams.adapters.policy_files import load_policy_set, parse_policy, policy_document
from streams.config import project_root
from streams.core.policy import PolicyError

POLICIES = project_root() / "policies"

SMALL = """\
policy: small
version: 1
providers:
  - id: local
    kind: openai-compatible
    endpoint: http://127.0.0.1:9/v1
    models: [llama]
    jurisdiction: IS
    hosting: on-premises
  - id: mistral-paris
    kind: mistral
    endpoint: https://api.mistral.ai/v1
    models: [mistral-large]
    jurisdiction: FR
    retains_data: true
    retention_days: 30
tenants:
  - id: registry
    default_classification: personal
rules:
  - id: secret
    when: {classifications: [secret]}
    residency: {providers: []}
  - id: personal-stays-home
    when: {classifications: [personal, sensitive]}
    residency: {jurisdictions: [IS]}
  - id: the-rest
    when: {classifications: [public, internal]}
    residency: {jurisdictions: [IS, FR]}
    redaction:
      PERSON: {operator: placeholder}
"""


def problems_of(text: str, name: str = "p.yaml") -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, name)
    return caught.value.problems


def test_the_shipped_set_loads() -> None:
    loaded = load_policy_set(POLICIES)
    policy = loaded.policy
    assert (policy.policy, policy.jurisdiction) == ("national-administration", "FR")
    assert policy.providers[0].id == "sovereign-local"  # the demo's and the tests' door
    assert {"ministry-of-health", "ministry-of-education", "tax-office", "city-of-lyon"} \
        <= policy.tenant_ids
    assert [name.rsplit("/", 1)[-1] for name, _ in loaded.files][:3] == [
        "policy.yaml", "sovereign.yaml", "providers.yaml"]
    assert re.fullmatch(r"[0-9a-f]{64}", loaded.digest)
    assert loaded.rule_label(0) == "'secret-never-leaves' (policies/guardrails.yaml rules[0])"


def test_small_single_file_policy_loads() -> None:
    loaded = parse_policy(SMALL, "small.yaml")
    assert [r.id for r in loaded.policy.rules] == ["secret", "personal-stays-home", "the-rest"]


# --- the hash ------------------------------------------------------------------------------

def copy_set(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


def test_hash_ignores_comments_layout_and_which_file_holds_a_section(tmp_path: Path) -> None:
    digest = load_policy_set(POLICIES).digest
    target = copy_set(tmp_path)
    health = target / "health.yaml"
    health.write_text("# reviewed by the DPO\n" + health.read_text().replace("\n", "\n\n"))
    # move the sovereign provider into providers.yaml and drop sovereign.yaml from the set
    sovereign = yaml.safe_load((target / "sovereign.yaml").read_text())["providers"]
    providers = yaml.safe_load((target / "providers.yaml").read_text())
    providers["providers"] = sovereign + providers["providers"]
    (target / "providers.yaml").write_text(yaml.safe_dump(providers, indent=4))
    (target / "sovereign.yaml").unlink()
    manifest = (target / "policy.yaml").read_text().replace("  - sovereign.yaml", "")
    (target / "policy.yaml").write_text(manifest)
    assert load_policy_set(target).digest == digest


def test_hash_changes_with_a_value_and_with_rule_order() -> None:
    base = parse_policy(SMALL, "a.yaml").digest
    assert parse_policy(SMALL.replace("jurisdictions: [IS, FR]", "jurisdictions: [FR, IS]"),
                        "a.yaml").digest != base
    document = yaml.safe_load(SMALL)
    document["rules"][0], document["rules"][1] = document["rules"][1], document["rules"][0]
    assert parse_policy(yaml.safe_dump(document), "a.yaml").digest != base


# --- errors: file:line:column: path: message --------------------------------------------

@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(("residency: {providers: []}", "residency: {providers: [openai-us]}"),
                     r"^p\.yaml:23:29: rules\[0\]\.residency\.providers\[0\]: unknown provider "
                     r"'openai-us' \(known providers: local, mistral-paris\)$",
                     id="unknown-provider"),
        pytest.param(("      PERSON: {operator: placeholder}", "      PERSN: {operator: mask}"),
                     r"^p\.yaml:31:7: rules\[2\]\.redaction\.PERSN: unknown entity type 'PERSN' "
                     r"\(known entity types: .*PERSON.*\)$", id="unknown-entity-type"),
        pytest.param(("  - id: secret\n    when: {classifications: [secret]}\n"
                      "    residency: {providers: []}\n", ""),
                     r"^p\.yaml:\d+:\d+: classifications\.secret: classification 'secret' has no "
                     r"residency rule for tenant 'registry'",
                     id="classification-without-residency"),
        pytest.param(("    kind: mistral", "    kind: acme"),
                     r"^p\.yaml:11:11: providers\[1\]\.kind: 'acme' is not one of: openai, ",
                     id="bad-enum"),
        pytest.param(("jurisdiction: FR", "jurisdiction: France"),
                     r"^p\.yaml:14:19: providers\[1\]\.jurisdiction: 'France' is not a country: "
                     r"two capital letters \(ISO 3166-1 alpha-2\), e\.g\. FR", id="bad-pattern"),
        pytest.param(("      PERSON: {operator: placeholder}",
                      "      PERSON: {operator: placeholder}\n"
                      "    retention: {raw_topics: 30 dayz}"),
                     r"^p\.yaml:32:29: rules\[2\]\.retention\.raw_topics: '30 dayz' is not a "
                     r"duration: use a number and a unit: s, m \(minutes\), h, d, w, y "
                     r"\(365 days\), with no space - e\.g\. 30d, 12h, 15m, 2w, 10y "
                     r"\(did you mean '30d'\?\)$", id="bad-duration"),
        pytest.param(("    retention_days: 30", "    retention_days: 30\n    api_key: x"),
                     r"^p\.yaml:17:5: providers\[1\]\.api_key: unknown key 'api_key' \(allowed: ",
                     id="unknown-key"),
        pytest.param(("    default_classification: personal\n", "\n"),
                     r"^p\.yaml:18:5: tenants\[0\]: missing required key 'default_classification'",
                     id="missing-key"),
        pytest.param(("    residency: {jurisdictions: [IS]}", "    residency: {}"),
                     r"^p\.yaml:26:16: rules\[1\]\.residency: residency must give providers, "
                     r"jurisdictions or regions", id="empty-residency"),
        pytest.param(("  - id: the-rest", "  - id: the-rest\n    colour: blue"),
                     r"^p\.yaml:28:5: rules\[2\]\.colour: unknown key 'colour'", id="rule-key"),
        pytest.param(("version: 1", "version: 1\nversion: 2"),
                     r"^p\.yaml:3:1: version: duplicate key 'version'$", id="duplicate-key"),
        pytest.param(("policy: small", "policy: [small"),
                     r"^p\.yaml:\d+:\d+: \(document\): not valid YAML: ", id="yaml-syntax"),
        pytest.param(("      PERSON: {operator: placeholder}",
                      "      PERSON: {operator: placeholder, keep_last: 2}"),
                     r"^p\.yaml:31:50: rules\[2\]\.redaction\.PERSON\.keep_last: keep_last applies "
                     r"to the mask operator only", id="keep-last-without-mask"),
    ],
)
def test_each_error_names_file_line_column_and_path(change: tuple[str, str], expected: str,
                                                     ) -> None:
    old, new = change
    assert old in SMALL
    problems = problems_of(SMALL.replace(old, new, 1))
    assert any(re.search(expected, p) for p in problems), problems


def test_unreachable_rules_are_reported_with_what_shadows_them() -> None:
    text = SMALL.replace("  - id: the-rest", """\
  - id: shadowed
    when: {classifications: [personal]}
    residency: {jurisdictions: [FR]}
  - id: never-matches
    when: {tenants: [registry], classifications: [public]}
    residency: {providers: [local]}
  - id: the-rest""").replace("    default_classification: personal",
                             "    default_classification: personal\n"
                             "    minimum_classification: internal")
    problems = problems_of(text)
    assert problems == [
        "p.yaml:28:5: rules[2]: rule 'shadowed' is unreachable: every request it matches "
        "already has each of its settings decided by earlier rules ('personal-stays-home' "
        "(p.yaml rules[1]))",
        "p.yaml:31:5: rules[3]: rule 'never-matches' is unreachable: no request can match it "
        "(check its tenants, purposes and classifications against the tenants' allowed "
        "purposes and minimum classifications)",
    ]


def test_cross_references_are_all_reported_at_once() -> None:
    text = (SMALL.replace("residency: {providers: []}", "residency: {providers: [ghost]}")
            .replace("PERSON: {operator: placeholder}", "PERSN: {operator: placeholder}")
            .replace("    when: {classifications: [personal, sensitive]}",
                     "    when: {classifications: [personal], tenants: [nobody]}"))
    problems = problems_of(text)
    assert [p.split(": ")[1] for p in problems] == [
        "rules[0].residency.providers[0]",
        "rules[1].when.tenants[0]", "rules[2].redaction.PERSN"]


def test_schema_errors_are_all_reported_at_once() -> None:
    text = (SMALL.replace("kind: mistral", "kind: acme")
            .replace("jurisdiction: IS", "jurisdiction: is")
            .replace("  - id: the-rest", "  - id: the-rest\n    colour: blue"))
    assert [p.split(": ")[1] for p in problems_of(text)] == [
        "providers[0].jurisdiction", "providers[1].kind", "rules[2].colour"]


def test_norway_stays_a_country_not_a_boolean() -> None:
    loaded = parse_policy(SMALL.replace("jurisdiction: IS", "jurisdiction: NO")
                          .replace("[IS", "[NO"), "p.yaml")
    assert loaded.policy.providers[0].jurisdiction == "NO"


def test_a_set_names_the_file_of_each_problem(tmp_path: Path) -> None:
    target = copy_set(tmp_path)
    health = target / "health.yaml"
    health.write_text(health.read_text().replace("attestations: [hds]",
                                                 "attestations: [hds]\n        colour: red"))
    (target / "forgotten.yaml").write_text("rules: []\n")
    tax = target / "tax.yaml"
    tax.write_text(tax.read_text().replace("    residency: {providers: [sovereign-local]}",
                                           "    residency: {providers: [openai-us]}"))
    manifest = target / "policy.yaml"
    manifest.write_text(manifest.read_text().replace("  - general.yaml", "  - general.yaml\n"
                                                     "  - missing.yaml"))
    with pytest.raises(PolicyError) as caught:
        load_policy_set(target)
    text = "\n".join(caught.value.problems)
    assert re.search(r"forgotten\.yaml:1:1: \(document\): not included by .*policy\.yaml", text)
    assert re.search(r"policy\.yaml:\d+:5: include\[8\]: cannot read 'missing\.yaml' "
                     r"\(no such file\)", text)
    assert re.search(r"health\.yaml:\d+:9: rules\[1\]\.residency\.require\.colour: unknown key",
                     text)


def test_cross_reference_in_an_included_file_names_it(tmp_path: Path) -> None:
    target = copy_set(tmp_path)
    tax = target / "tax.yaml"
    tax.write_text(tax.read_text().replace("    residency: {providers: [sovereign-local]}",
                                           "    residency: {providers: [openai-us]}"))
    with pytest.raises(PolicyError) as caught:
        load_policy_set(target)
    [problem] = caught.value.problems
    assert re.match(r".*tax\.yaml:11:29: rules\[0\]\.residency\.providers\[0\]: unknown "
                    r"provider 'openai-us' \(known providers: anthropic, ", problem)


def test_policy_document_round_trips_as_a_single_file() -> None:
    document = policy_document(POLICIES)
    assert parse_policy(yaml.safe_dump(document), "one.yaml").digest == \
        load_policy_set(POLICIES).digest


def test_entity_catalogue_matches_the_detector() -> None:
    from streams.adapters.recognizers import KNOWN_ENTITIES
    from streams.core.entities import ENTITY_TYPES

    assert set(ENTITY_TYPES) == set(KNOWN_ENTITIES), (
        "streams/core/entities.py and the recognizers disagree: add new entity types to both")


def test_the_policy_guide_example_is_a_valid_policy() -> None:
    guide = (project_root() / "docs" / "policies.md").read_text("utf-8")
    section = guide[guide.index("## A complete small example"):]
    example = section[section.index("```yaml") + 7:section.index("```\n", 10)]
    loaded = parse_policy(example, "registry.yaml")
    assert loaded.policy.rules[0].id == "secret-never-leaves"
    resolution = loaded.resolve("registry", "press", "public")
    assert [p.id for p in resolution.candidates] == ["home", "mistral-paris"]
    assert [p.id for p in loaded.resolve("registry", None, "personal").candidates] == ["home"]


LEAKING = SMALL.replace("version: 1", "version: 1\njurisdiction: IS").replace(
    "    residency: {jurisdictions: [IS]}",
    "    residency: {providers: [local, mistral-paris]}")


def test_residency_that_lets_personal_data_leave_the_jurisdiction_is_refused() -> None:
    assert problems_of(LEAKING) == [
        "p.yaml:27:16: rules[1].residency: rule 'personal-stays-home' lets personal/sensitive "
        "data leave the set's jurisdiction IS: it allows mistral-paris (FR) (e.g. tenant "
        "'registry', classification 'personal', and 1 more case(s)); restrict it (e.g. "
        "jurisdictions: [IS]) or, if this is intended, name the exception on the rule: "
        'residency_exception: "<why, and who approved it>"']
    # public and internal data may travel: the same providers for them raise nothing
    parse_policy(SMALL.replace("version: 1", "version: 1\njurisdiction: IS"), "p.yaml")


def test_a_named_residency_exception_allows_it() -> None:
    excepted = LEAKING.replace(
        "    residency: {providers: [local, mistral-paris]}",
        "    residency: {providers: [local, mistral-paris]}\n"
        "    residency_exception: EU processor under DPA 2025-14, approved by the DPO")
    assert parse_policy(excepted, "p.yaml").policy.rules[1].residency_exception
    # an exception names the residency of its own rule
    assert problems_of(excepted + "  - id: names\n    residency_exception: why\n"
                                  "    redaction: {EMAIL_ADDRESS: {operator: drop}}\n") == [
        "p.yaml:35:5: rules[3].residency_exception: a residency_exception applies to the "
        "residency of the same rule, and this rule has none"]


def test_the_shipped_set_sending_personal_data_to_a_us_provider_is_refused(
        tmp_path: Path) -> None:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    general = target / "general.yaml"
    general.write_text(general.read_text().replace(
        "      providers: [sovereign-local, secnumcloud-mistral, mistral-paris]\n"
        "      jurisdictions: [FR]\n",
        "      providers: [sovereign-local, secnumcloud-mistral, mistral-paris, openai-eu]\n"))
    with pytest.raises(PolicyError) as caught:
        load_policy_set(target)
    [problem] = caught.value.problems
    assert "rules[2].residency: rule 'baseline-personal' lets personal data leave the set's " \
        "jurisdiction FR: it allows openai-eu (US)" in problem


@pytest.mark.parametrize(("written", "hint"), [
    ("30 days", "(did you mean '30d'?)"),
    ("12 hours", "(did you mean '12h'?)"),
    ("15min", "(did you mean '15m'?)"),
    ("30D", "(did you mean '30d'?)"),
    ("3 months", "there is no month unit ('m' means minutes): write days, e.g. 90d"),
    ("1234567d", "(at most 6 digits: use a larger unit)"),
])
def test_a_wrong_duration_says_how_to_write_it(written: str, hint: str) -> None:
    from streams.core.durations import parse_duration

    with pytest.raises(ValueError) as caught:
        parse_duration(written)
    message = str(caught.value)
    assert message.startswith(f"'{written}' is not a duration: use a number and a unit: s, "
                              "m (minutes), h, d, w, y")
    assert hint in message and "[smhdwy]" not in message


# --- prices -------------------------------------------------------------------------------

PRICED = SMALL.replace("    retention_days: 30\n", """\
    retention_days: 30
    prices:
      - valid_from: 2025-01-01
        currency: EUR
        input_per_million: 2.00
        output_per_million: 6.00
      - {valid_from: 2025-06-01, currency: EUR, input_per_million: 1.5, output_per_million: 5,
         model: mistral-large}
""", 1)


def test_prices_load_as_exact_decimals_and_dates() -> None:
    provider = parse_policy(PRICED, "p.yaml").policy.provider("mistral-paris")
    first, second = provider.prices
    assert str(first.valid_from) == "2025-01-01" and first.currency == "EUR"
    assert str(first.input_per_million) == "2.0" and str(second.output_per_million) == "5"
    assert second.model == "mistral-large"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(("input_per_million: 2.00", "input_per_million: -2.00"),
                     r"^p\.yaml:20:28: providers\[1\]\.prices\[0\]\.input_per_million: -2\.0: "
                     r"a price cannot be negative$", id="negative-price"),
        pytest.param(("currency: EUR\n", "currency: euro\n"),
                     r"^p\.yaml:19:19: providers\[1\]\.prices\[0\]\.currency: 'euro' is not a "
                     r"currency: three capital letters \(ISO 4217\), e\.g\. EUR", id="currency"),
        pytest.param(("model: mistral-large}", "model: mistral-huge}"),
                     r"^p\.yaml:23:17: providers\[1\]\.prices\[1\]\.model: provider "
                     r"'mistral-paris' does not offer model 'mistral-huge' \(known models: "
                     r"mistral-large\)$", id="model-not-offered"),
        pytest.param(("valid_from: 2025-06-01", "valid_from: 2025-06-31"),
                     r"^p\.yaml:22:22: providers\[1\]\.prices\[1\]\.valid_from: Input should be "
                     r"a valid date", id="bad-date"),
    ],
)
def test_each_price_error_names_file_line_column_and_path(change: tuple[str, str],
                                                           expected: str) -> None:
    old, new = change
    assert old in PRICED
    problems = problems_of(PRICED.replace(old, new, 1))
    assert any(re.search(expected, p) for p in problems), problems


def test_two_prices_with_the_same_valid_from_are_refused() -> None:
    same_day = PRICED.replace(", output_per_million: 5,\n         model: mistral-large}",
                              ", output_per_million: 5}").replace("2025-06-01", "2025-01-01")
    problems = problems_of(same_day)
    assert problems == ["p.yaml:22:22: providers[1].prices[1].valid_from: a second price for "
                        "the provider valid from 2025-01-01 (first at prices[0]): give each "
                        "change its own date"], problems
    # the same day for another scope (one model) is a different entry, not a duplicate
    assert parse_policy(PRICED.replace("2025-06-01", "2025-01-01"), "p.yaml")


def test_a_price_change_is_a_policy_change() -> None:
    base = parse_policy(PRICED, "p.yaml").digest
    assert parse_policy(PRICED.replace("output_per_million: 6.00", "output_per_million: 6.01"),
                        "p.yaml").digest != base
    assert parse_policy(PRICED.replace("2025-06-01", "2025-06-02"), "p.yaml").digest != base


def test_the_shipped_providers_all_have_prices_and_the_local_door_is_free() -> None:
    policy = load_policy_set(POLICIES / "policy.yaml").policy
    assert all(provider.prices for provider in policy.providers)
    local = policy.provider("sovereign-local").prices
    assert [(p.input_per_million, p.output_per_million) for p in local] == [(0, 0)]

"""What a policy file may not do (issue 12, item 9): read files outside its folder, expand YAML
aliases, or send prompts to a metadata address or over plain http to another machine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from streams.adapters.policy_files import load_policy_set, parse_policy
from streams.core.policy import PolicyError

POLICY = """\
policy: small
version: 1
providers:
  - id: door
    kind: {kind}
    endpoint: {endpoint}
    models: [m]
    jurisdiction: FR
    hosting: {hosting}
tenants:
  - id: registry
    default_classification: personal
rules:
  - id: everything-to-the-door
    residency: {{providers: [door]}}
"""


def small(endpoint: str, hosting: str = "public-cloud", kind: str = "openai-compatible") -> str:
    return POLICY.format(endpoint=endpoint, hosting=hosting, kind=kind)


def problems_of(text: str, name: str = "p.yaml") -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, name)
    return caught.value.problems


def test_the_small_policy_is_valid() -> None:
    assert parse_policy(small("https://llm.example.fr/v1"), "p.yaml").policy.providers[0].id \
        == "door"


# --------------------------------------------------------------------------- includes

def manifest(folder: Path, *includes: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    listed = "".join(f"  - {name}\n" for name in includes)
    (folder / "policy.yaml").write_text(f"policy: p\nversion: 1\ninclude:\n{listed}")
    return folder


def test_an_include_climbing_out_of_the_folder_is_refused_unread(tmp_path: Path) -> None:
    (tmp_path / "outside.yaml").write_text("providers: [")  # would be a YAML error if read
    folder = manifest(tmp_path / "policies", "../outside.yaml", "sub/../../outside.yaml",
                      "/etc/outside.yaml")
    with pytest.raises(PolicyError) as caught:
        load_policy_set(folder)
    problems = [p for p in caught.value.problems if "is outside the policy folder" in p]
    assert len(problems) == 3, caught.value.problems
    assert re.search(r"policy\.yaml:4:5: include\[0\]: include '\.\./outside\.yaml' is "
                     r"outside the policy folder", problems[0])
    assert "include[1]: include 'sub/../../outside.yaml' is outside" in problems[1]
    assert "include[2]: include '/etc/outside.yaml' is outside" in problems[2]
    assert not any("outside.yaml:" in p for p in caught.value.problems)  # never parsed


def test_an_include_that_is_a_link_leading_out_of_the_folder_is_refused(
        tmp_path: Path) -> None:
    (tmp_path / "secret.yaml").write_text("providers: [")
    folder = manifest(tmp_path / "policies", "providers.yaml")
    (folder / "providers.yaml").symlink_to(tmp_path / "secret.yaml")
    with pytest.raises(PolicyError) as caught:
        load_policy_set(folder)
    assert any(re.search(r"policy\.yaml:4:5: include\[0\]: cannot read 'providers\.yaml' "
                         r"\(it leads to .*secret\.yaml, outside the policy folder ", p)
               for p in caught.value.problems), caught.value.problems
    assert not any("secret.yaml:" in p for p in caught.value.problems)


def test_includes_below_the_folder_and_links_inside_it_are_read(tmp_path: Path) -> None:
    folder = manifest(tmp_path / "policies", "parts/all.yaml", "alias.yaml")
    (folder / "parts").mkdir()
    body = small("https://llm.example.fr/v1").split("providers:", 1)[1]
    (folder / "parts" / "all.yaml").write_text("providers:" + body)
    (folder / "alias.yaml").symlink_to(folder / "parts" / "empty.yaml")
    (folder / "parts" / "empty.yaml").write_text("purposes: []\n")
    assert load_policy_set(folder).policy.providers[0].id == "door"


# --------------------------------------------------------------------------- aliases

def test_a_yaml_alias_is_refused_where_it_is_written() -> None:
    text = small("https://llm.example.fr/v1").replace(
        "    models: [m]", "    models: &models [m]").replace(
        "residency: {providers: [door]}",
        "residency: {providers: [door]}\n    limits: {models: *models}")
    problems = problems_of(text)
    assert problems == ["p.yaml:16:22: (document): YAML aliases are not allowed in a policy "
                        "(*models): write the value out where it is used"]


def test_an_alias_bomb_fails_at_its_first_alias() -> None:
    """The shape of the nine-line "billion laughs" that kept `policy validate` busy for over a
    minute, four levels deep here so that a loader without the defence still returns (then
    this test fails on the missing error, instead of hanging the suite)."""
    lol = "[" + ", ".join(["lol"] * 9) + "]"
    levels = ["a: &a " + lol] + [
        f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]"
        for previous, name in zip("abc", "bcd", strict=True)]
    problems = problems_of("\n".join(levels) + "\n")
    assert problems == ["p.yaml:2:8: (document): YAML aliases are not allowed in a policy "
                        "(*a): write the value out where it is used"]


def test_an_anchor_without_alias_is_harmless() -> None:
    text = small("https://llm.example.fr/v1").replace("    models: [m]", "    models: &m [m]")
    assert parse_policy(text, "p.yaml").policy.providers[0].models == ("m",)


# --------------------------------------------------------------------------- endpoints

@pytest.mark.parametrize(("endpoint", "hosting", "kind", "problem"), [
    ("http://169.254.169.254/latest/meta-data/", "public-cloud", "anthropic", "metadata"),
    ("https://169.254.169.254/v1", "on-premises", "openai-compatible", "metadata"),
    ("https://169.254.170.2/v1", "sovereign-cloud", "openai-compatible", "metadata"),
    ("https://[fd00:ec2::254]/v1", "public-cloud", "openai", "metadata"),
    ("https://[fe80::1]/v1", "on-premises", "openai-compatible", "metadata"),
    ("https://[::ffff:169.254.169.254]/v1", "public-cloud", "openai", "metadata"),
    ("https://2852039166/v1", "public-cloud", "openai", "metadata"),
    ("https://0xa9.0xfe.0xa9.0xfe/v1", "public-cloud", "openai", "metadata"),
    ("http://metadata.google.internal/computeMetadata/v1", "on-premises", "gemini", "metadata"),
    ("https://METADATA.GOOGLE.INTERNAL./v1", "public-cloud", "gemini", "metadata"),
    ("https://100.100.100.200/v1", "public-cloud", "dashscope", "metadata"),
    ("http://api.anthropic.com/v1", "public-cloud", "anthropic", "must use https"),
    ("http://10.1.2.3/v1", "sovereign-cloud", "openai-compatible", "must use https"),
    ("https://key:secret@api.example.com/v1", "public-cloud", "openai", "user name or password"),
    ("https://api.example.com:99999/v1", "public-cloud", "openai", "not a valid URL"),
])
def test_an_endpoint_douane_must_not_call_is_refused(
        endpoint: str, hosting: str, kind: str, problem: str) -> None:
    problems = problems_of(small(endpoint, hosting, kind))
    assert len(problems) == 1, problems
    assert re.match(r"p\.yaml:6:15: providers\[0\]\.endpoint: provider 'door': endpoint ",
                    problems[0]), problems[0]
    assert problem in problems[0]
    assert "secret" not in problems[0]  # credentials in a URL are not repeated


@pytest.mark.parametrize(("endpoint", "hosting"), [
    ("https://api.mistral.ai/v1", "public-cloud"),
    ("http://10.1.2.3:8000/v1", "on-premises"),  # the administration's own network
    ("http://model:8088/v1", "on-premises"),  # docker-compose's stand-in
    ("http://127.0.0.1:8088/v1", "public-cloud"),  # this machine: a stand-in or a TLS proxy
    ("http://[::1]:8088/v1", "sovereign-cloud"),
    ("http://localhost:8088/v1", "public-cloud"),
])
def test_endpoints_that_stay_allowed(endpoint: str, hosting: str) -> None:
    assert parse_policy(small(endpoint, hosting), "p.yaml").policy.providers[0].endpoint \
        == endpoint

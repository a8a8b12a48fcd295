"""The generated load of ``douane bench dates-addresses``: Faker's values, planted where the
labels say, and negatives that hold neither type."""

from __future__ import annotations

from datetime import date

from faker import Faker

from streams.devtools.bench.dates_addresses import (
    address_loads,
    birth_loads,
    negative_loads,
    written_dates,
)


def test_labels_point_at_the_planted_values() -> None:
    loads = [*address_loads(6, seed=2), *birth_loads(6, seed=2)]
    assert {load.name.split()[-1] for load in address_loads(1, 1)} == {
        "en_US", "en_GB", "fr_FR", "es_ES", "es_MX"}
    for load in loads:
        assert len(load.prompts) == 6
        for prompt in load.prompts:
            (span,) = prompt.spans
            value = prompt.text[span.start:span.end]
            assert value and value == value.strip()
            assert span.entity_type == ("STREET_ADDRESS" if "addresses" in load.name
                                        else "DATE_OF_BIRTH")
            if span.entity_type == "DATE_OF_BIRTH":
                assert any(c.isdigit() for c in value)


def test_the_same_seed_gives_the_same_load() -> None:
    assert [p.text for p in birth_loads(5, 7)[0].prompts] == \
        [p.text for p in birth_loads(5, 7)[0].prompts]
    assert [p.text for p in birth_loads(5, 7)[0].prompts] != \
        [p.text for p in birth_loads(5, 8)[0].prompts]


def test_negative_prompts_hold_no_label() -> None:
    for load in negative_loads(4, seed=1):
        assert all(p.spans == () for p in load.prompts)


def test_dates_are_written_as_each_language_writes_them() -> None:
    day = date(1984, 3, 2)
    assert "2 de marzo de 1984" in written_dates(day, "es", Faker("es_ES"))
    assert "2 mars 1984" in written_dates(day, "fr", Faker("fr_FR"))
    assert "March 2, 1984" in written_dates(day, "en", Faker("en_US"))
    assert "2 березня 1984 року" in written_dates(day, "uk", Faker("uk_UA"))
    assert "2. mars 1984" in written_dates(day, "is", Faker("is_IS"))
    assert "1984-03-02" in written_dates(day, "is", Faker("is_IS"))

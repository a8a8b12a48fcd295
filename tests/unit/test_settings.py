"""Settings read from DOUANE_* variables: defaults, and errors that name the variable."""

from __future__ import annotations

import pytest

from streams.config import SettingError, load_settings


def test_static_group_membership_is_off_unless_an_instance_id_is_given() -> None:
    assert load_settings({}).kafka_group_instance_id is None
    assert load_settings({"DOUANE_KAFKA_GROUP_INSTANCE_ID": ""}).kafka_group_instance_id is None
    settings = load_settings({"DOUANE_KAFKA_GROUP_INSTANCE_ID": "host-7.douane-worker_1"})
    assert settings.kafka_group_instance_id == "host-7.douane-worker_1"


@pytest.mark.parametrize("value", ["worker 1", "-leading-dash", "x" * 250, "wörker", "a/b"])
def test_an_unusable_instance_id_is_refused_by_name(value: str) -> None:
    with pytest.raises(SettingError, match="DOUANE_KAFKA_GROUP_INSTANCE_ID"):
        load_settings({"DOUANE_KAFKA_GROUP_INSTANCE_ID": value})


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("DOUANE_MAX_IN_FLIGHT", "0", "at least 1"),
    ("DOUANE_TOPIC_PARTITIONS", "twelve", "not a whole number"),
    ("DOUANE_DETECTION_PROCESSES", "-1", "at least 0"),
    ("DOUANE_WORKER_HTTP_PORT", "65536", "not a TCP port"),
    ("DOUANE_WORKER_HTTP_PORT", "http", "not a whole number"),
])
def test_counts_are_checked(name: str, value: str, problem: str) -> None:
    with pytest.raises(SettingError, match=f"{name}.*{problem}"):
        load_settings({name: value})


def test_the_workers_health_server_is_off_unless_a_port_is_given_and_on_loopback() -> None:
    assert load_settings({}).worker_http_port == 0
    settings = load_settings({"DOUANE_WORKER_HTTP_PORT": "9464"})
    assert (settings.worker_http_port, settings.worker_http_host) == (9464, "127.0.0.1")

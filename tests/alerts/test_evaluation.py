"""Limits on the ingest path: crossings, hold-for, hysteresis, severity raised within one
occurrence, new occurrence after clear, latching, rates, scopes, and LOS backlogs."""

from __future__ import annotations

from typing import Any

import pytest

from ops.alerts.models import AlertState, RuleState
from tests.alerts.conftest import alerts_of, at, audit_actions, ingest, make_rule, outbox

pytestmark = pytest.mark.django_db


def test_a_crossing_opens_an_alert_with_an_outbox_row_in_the_ingest_transaction(
    fleet: dict[str, Any],
) -> None:
    make_rule()
    ingest("leo-001", [(0, 70), (1, 85), (2, 86)])
    [alert] = alerts_of("gpu-hot")
    assert alert.state == AlertState.UNACKNOWLEDGED and alert.active
    assert alert.severity == "warning"
    assert alert.started_at == at(1) and alert.value == 85.0
    assert alert.spacecraft == fleet["leo-001"]
    assert outbox(alert) == ["firing"]
    assert audit_actions(alert) == ["alert.raised"]


def test_no_crossing_writes_nothing(fleet: dict[str, Any]) -> None:
    make_rule()
    ingest("leo-001", [(0, 70), (1, 75)])
    assert alerts_of("gpu-hot") == []
    assert not RuleState.objects.exists()


def test_hold_for_needs_both_the_samples_and_the_duration_across_requests(
    fleet: dict[str, Any],
) -> None:
    make_rule(hold_s=10, hold_samples=3)
    ingest("leo-001", [(0, 90), (5, 90)])
    assert alerts_of("gpu-hot") == []
    ingest("leo-001", [(8, 90)])  # three samples, but only 8 s
    assert alerts_of("gpu-hot") == []
    ingest("leo-001", [(11, 90)])
    [alert] = alerts_of("gpu-hot")
    assert alert.started_at == at(0)
    # A dip resets the hold.
    make_rule("gpu-hot-2", hold_samples=2)
    ingest("leo-002", [(0, 90), (1, 70), (2, 90)])
    assert alerts_of("gpu-hot-2") == []
    ingest("leo-002", [(3, 91)])
    assert len(alerts_of("gpu-hot-2")) == 1


def test_hysteresis_keeps_a_noisy_signal_to_one_occurrence(fleet: dict[str, Any]) -> None:
    make_rule(clear_high=75.0)
    noisy = [(s, 80.0 + (3.0 if s % 2 else -3.0)) for s in range(40)]  # 77 / 83 around 80
    for chunk in range(0, 40, 5):
        ingest("leo-001", noisy[chunk : chunk + 5])
    [alert] = alerts_of("gpu-hot")
    assert alert.active and outbox(alert) == ["firing"]
    ingest("leo-001", [(41, 74.0)])
    alert.refresh_from_db()
    assert not alert.active and alert.cleared_at == at(41)
    assert alert.state == AlertState.RETURNED  # never acked: stays until acked


def test_a_worse_value_raises_the_severity_of_the_same_occurrence(fleet: dict[str, Any]) -> None:
    make_rule(
        levels=[
            {"severity": "warning", "high": 80.0},
            {"severity": "critical", "high": 90.0},
            {"severity": "severe", "high": 95.0},
        ]
    )
    ingest("leo-001", [(0, 85)])
    ingest("leo-001", [(1, 92), (2, 85)])
    [alert] = alerts_of("gpu-hot")
    assert alert.severity == "critical" and alert.active
    assert outbox(alert) == ["firing", "severity_raised"]
    ingest("leo-001", [(3, 97)])
    alert.refresh_from_db()
    assert alert.severity == "severe" and outbox(alert)[-1] == "severity_raised"
    assert alert.summary.endswith("gpu_temp_c 97 on leo-001 (severe)"), alert.summary


def test_a_new_crossing_after_clearing_is_a_new_occurrence(fleet: dict[str, Any]) -> None:
    make_rule()
    ingest("leo-001", [(0, 85)])
    ingest("leo-001", [(1, 70)])
    ingest("leo-001", [(2, 88)])
    first, second = alerts_of("gpu-hot")
    assert not first.active and first.cleared_at == at(1)
    assert second.active and second.started_at == at(2)
    assert outbox(second) == ["firing"]


def test_a_latching_rule_stays_latched_after_clearing(fleet: dict[str, Any]) -> None:
    make_rule(latching=True)
    ingest("leo-001", [(0, 85)])
    ingest("leo-001", [(1, 70)])
    [alert] = alerts_of("gpu-hot")
    assert alert.state == AlertState.LATCHED and not alert.active
    # Crossing again before a reset re-activates the same occurrence.
    ingest("leo-001", [(2, 90)])
    [again] = alerts_of("gpu-hot")
    assert again.pk == alert.pk and again.active and again.state == AlertState.UNACKNOWLEDGED


def test_below_and_outside_and_scopes(fleet: dict[str, Any]) -> None:
    make_rule(
        "soc-low",
        metric="battery_soc",
        condition="below",
        levels=[{"severity": "distress", "low": 0.2}],
        scope="role",
        role="leo",
    )
    make_rule(
        "temp-band",
        metric="*_temp_c",
        condition="outside",
        levels=[{"severity": "watch", "low": -10.0, "high": 60.0}],
        scope="spacecraft",
        spacecraft=fleet["geo-001"],
    )
    ingest("leo-001", [(0, 0.1)], metric="battery_soc")
    ingest("geo-001", [(0, 0.1)], metric="battery_soc")  # a GEO hub: out of scope
    ingest("geo-001", [(0, -20.0)], metric="radiator_temp_c")
    ingest("leo-002", [(0, -20.0)], metric="radiator_temp_c")  # not the one spacecraft
    [low] = alerts_of("soc-low")
    assert low.spacecraft == fleet["leo-001"] and low.severity == "distress"
    [band] = alerts_of("temp-band")
    assert band.spacecraft == fleet["geo-001"] and band.metric == "radiator_temp_c"


def test_counter_rate_survives_a_reboot_and_rate_of_change(fleet: dict[str, Any]) -> None:
    make_rule(
        "ecc",
        metric="ecc_errors_total",
        condition="counter_rate_above",
        levels=[{"severity": "warning", "high": 1.0}],
    )
    # 10 s apart: +5 (0.5/s), then a reboot (back to 3: an increase of 3, 0.3/s), then +30.
    ingest("leo-001", [(0, 100), (10, 105)], metric="ecc_errors_total")
    ingest("leo-001", [(20, 3)], metric="ecc_errors_total")
    assert alerts_of("ecc") == []
    ingest("leo-001", [(30, 33)], metric="ecc_errors_total")
    [alert] = alerts_of("ecc")
    assert alert.value == pytest.approx(3.0) and alert.started_at == at(30)
    make_rule(
        "heating",
        metric="battery_temp_c",
        condition="rate_of_change",
        levels=[{"severity": "warning", "low": -0.5, "high": 0.5}],
    )
    ingest("leo-002", [(0, 20), (10, 22), (20, 35)], metric="battery_temp_c")
    [heat] = alerts_of("heating")
    assert heat.value == pytest.approx(1.3) and heat.started_at == at(20)


def test_a_los_backlog_that_began_and_cleared_in_eclipse_is_history_not_a_page(
    fleet: dict[str, Any],
) -> None:
    make_rule(
        "undervolt",
        metric="bus_voltage_v",
        condition="below",
        levels=[{"severity": "critical", "low": 26.0}],
    )
    # AOS: the live sample first, then the onboard recording of the eclipse.
    ingest("leo-001", [(3600, 28.0)], metric="bus_voltage_v", now=at(3601))
    eclipse = [(s, 25.0 if 600 <= s < 1200 else 28.0) for s in range(0, 3600, 60)]
    ingest("leo-001", eclipse, metric="bus_voltage_v", now=at(3605))
    [alert] = alerts_of("undervolt")
    assert alert.backlog and not alert.active
    assert alert.started_at == at(600) and alert.cleared_at == at(1200)
    assert alert.raised_at == at(3605)
    assert alert.state == AlertState.RETURNED
    assert outbox(alert) == ["backlog"]  # a notice, never "firing"
    assert "already cleared" in alert.summary


def test_a_backlog_dumped_before_any_live_sample_does_not_page_either(
    fleet: dict[str, Any],
) -> None:
    make_rule(
        "undervolt",
        metric="bus_voltage_v",
        condition="below",
        levels=[{"severity": "critical", "low": 26.0}],
        los_policy="record",
    )
    eclipse = [(s, 25.0 if 600 <= s < 1200 else 28.0) for s in range(0, 3600, 60)]
    ingest("leo-001", eclipse, metric="bus_voltage_v", now=at(3605))
    [alert] = alerts_of("undervolt")
    assert alert.backlog and alert.started_at == at(600) and alert.cleared_at == at(1200)
    assert outbox(alert) == []  # los_policy "record": recorded only


def test_a_backlog_still_breaching_at_its_end_extends_the_live_occurrence(
    fleet: dict[str, Any],
) -> None:
    make_rule(
        "undervolt",
        metric="bus_voltage_v",
        condition="below",
        levels=[{"severity": "critical", "low": 26.0}],
    )
    ingest("leo-001", [(3600, 25.0)], metric="bus_voltage_v", now=at(3601))
    [live] = alerts_of("undervolt")
    assert live.started_at == at(3600)
    ingest("leo-001", [(3000, 28.0), (3300, 25.5)], metric="bus_voltage_v", now=at(3605))
    [same] = alerts_of("undervolt")
    assert same.pk == live.pk and same.started_at == at(3300) and same.active
    assert audit_actions(same) == ["alert.raised", "alert.started_earlier"]

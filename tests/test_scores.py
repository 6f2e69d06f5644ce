"""Reading scored contacts, Call Priority from data, and matching results to rows (C.5)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csvscore.scores.contact import ContactResult, read_scored_contact
from csvscore.scores.identity import e164, identity_hash, name_hash
from csvscore.scores.match import (
    MISMATCH,
    NO_RESULT,
    NOT_ENRICHED,
    NOT_SENT,
    PENDING,
    SCORED,
    JobInfo,
    RunRow,
    SentPhone,
    match_scores,
)
from csvscore.scores.priority import load_priorities, priorities_from

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
SENT = NOW - timedelta(hours=1)
PRIO = load_priorities()
MS = int((SENT + timedelta(minutes=10)).timestamp() * 1000)


def row(key: str = "k1", job: str | None = "J1", first: str = "Ann", **kw: object) -> RunRow:
    phones = kw.pop(
        "phones",
        (
            SentPhone("Direct Phone", 1, "+14155550101", "(415) 555-0101"),
            SentPhone("Mobile", 2, "+12125550102", "212.555.0102"),
        ),
    )
    return RunRow(0, key, job, SENT, name_hash(first, "Lee"), phones, **kw)  # type: ignore[arg-type]


def scored(key: str = "k1", job: str | None = "J1", ms: int = MS, **fields: str) -> ContactResult:
    payload = {
        "customerContactId": key,
        "firstName": "Ann",
        "lastName": "Lee",
        "phone": "+14155550101",
        "phoneStatus": "P2",
        "phone2": "+12125550102",
        "phone2Status": "P1",
        "leadStatus": "P1",
        **fields,
    }
    if job:
        payload["jobId"] = job
    return read_scored_contact(payload, event_id=f"e{ms}", event_ms=ms)


def match(rows: list[RunRow], results: list[ContactResult], jobs: dict | None = None) -> list:
    by_key: dict[str, list[ContactResult]] = {}
    for r in results:
        by_key.setdefault(r.key or "", []).append(r)
    return match_scores(rows, by_key, jobs or {}, PRIO, now=NOW)


# -- reading and priorities ------------------------------------------------------------------------


def test_api_schema_spelling_is_read() -> None:
    r = scored()
    assert (r.key, r.job_id, r.lead_status) == ("k1", "J1", "P1")
    assert [(p.slot, p.e164, p.status) for p in r.phones] == [
        (1, "+14155550101", "P2"),
        (2, "+12125550102", "P1"),
    ]


def test_the_guides_snake_case_spelling_is_read_with_its_own_slot_numbers() -> None:
    r = read_scored_contact(
        {
            "customerContactId": "k",
            "first_name": "Ann",
            "last_name": "Lee",
            "phone": "4155550101",
            "phone_status": "P3",
            "phone1": "+1 212 555 0102",
            "phone1_status": "IVR",
            "lead_status": "P3",
        }
    )
    assert [(p.slot, p.e164, p.status) for p in r.phones] == [
        (1, "+14155550101", "P3"),
        (2, "+12125550102", "IVR"),
    ]
    assert r.name_hash == name_hash("ann", "LEE") and r.lead_status == "P3"


def test_a_phones_list_is_read_when_there_are_no_phone_keys() -> None:
    r = read_scored_contact(
        {"customerContactId": "k", "phones": [{"number": "+14155550101", "status": "P1"}]}
    )
    assert [(p.slot, p.status) for p in r.phones] == [(1, "P1")]


def test_a_result_survives_its_json_round_trip() -> None:
    r = scored()
    assert ContactResult.from_json(r.to_json()) == r


def test_priorities_come_from_the_data_file_and_ignore_case_and_spacing() -> None:
    assert [PRIO.shown(s) for s in ("P1", "p 2", "p-3", "ivr", "bad data", "Purple")] == [
        1,
        2,
        3,
        4,
        9,
        "?",
    ]
    assert PRIO.same("high", "P1") and PRIO.best(["P3", "Purple", "P2"]) == "P2"


def test_a_new_status_is_a_data_change(tmp_path: Path) -> None:
    data = tmp_path / "statuses.yaml"
    data.write_text("statuses:\n  - status: Gold\n    priority: 1\n    aliases: [golden]\n")
    assert load_priorities(data).shown("GOLDEN") == 1


@pytest.mark.parametrize(
    "bad",
    [None, {"statuses": [{"priority": 1}]}, {"statuses": [{"status": "X", "priority": "1"}]}],
)
def test_a_broken_statuses_file_says_what_is_wrong(bad: object) -> None:
    with pytest.raises(ValueError, match="statuses"):
        priorities_from(bad)


def test_identity_is_blind_to_order_format_and_case() -> None:
    a = identity_hash(name_hash("José", "Lee"), ["+14155550101", e164("(212) 555-0102")])
    b = identity_hash(name_hash("jose", " LEE "), [e164("212-555-0102"), "+14155550101"])
    assert a == b


# -- matching ------------------------------------------------------------------------------------


def test_a_scored_row_gets_every_column() -> None:
    [rec] = match([row()], [scored()])
    assert rec.state == SCORED and rec.match_method == "key+job"
    assert (rec.lead_status, rec.call_priority) == ("P1", 1)
    assert (rec.best_phone, rec.best_phone_column) == ("212.555.0102", "Mobile")
    assert dict(rec.phone_statuses) == {"Direct Phone": "P2", "Mobile": "P1"}
    assert rec.scored_at and rec.scored_at.startswith("2026-11-20T11:10")
    assert rec.note == ""


def test_latest_event_wins_and_a_changed_result_is_noted() -> None:
    old = scored(ms=MS, leadStatus="P3")
    new = scored(ms=MS + 1000, leadStatus="P1")
    [rec] = match([row()], [new, old])
    assert rec.lead_status == "P1" and "scored more than once" in rec.note


def test_results_of_another_job_are_not_this_rows() -> None:
    [rec] = match([row(job="J1")], [scored(job="J2")])
    assert rec.state == PENDING


def test_without_a_job_id_in_the_payload_the_key_alone_matches() -> None:
    [rec] = match([row()], [scored(job=None)])
    assert rec.state == SCORED and rec.match_method == "key"


def test_a_result_from_before_the_row_was_sent_does_not_count() -> None:
    early = int((SENT - timedelta(hours=2)).timestamp() * 1000)
    [rec] = match([row()], [scored(job=None, ms=early)])
    assert rec.state == PENDING


def test_another_name_under_the_same_key_is_a_mismatch_still_shown() -> None:
    [rec] = match([row(first="Bob")], [scored()])
    assert rec.state == MISMATCH and rec.lead_status == "P1" and "another name" in rec.note


def test_no_number_in_common_is_a_mismatch() -> None:
    other = scored(phone="+13125550111", phone2="+17135550112")
    [rec] = match([row()], [other])
    assert rec.state == MISMATCH and "none of the numbers" in rec.note


def test_renumbered_phones_are_matched_back_by_number() -> None:
    swapped = scored(
        phone="(212) 555-0102", phoneStatus="P1", phone2="415-555-0101", phone2Status="P2"
    )
    [rec] = match([row()], [swapped])
    assert rec.state == SCORED
    assert dict(rec.phone_statuses) == {"Direct Phone": "P2", "Mobile": "P1"}
    assert rec.best_phone_column == "Mobile"


def test_an_unparseable_number_falls_back_to_its_slot_with_a_note() -> None:
    odd = scored(phone2="not a number", phone2Status="IVR", leadStatus="P2")
    [rec] = match([row()], [odd])
    assert rec.phone_statuses["Mobile"] == "IVR" and "another number in its slot" in rec.note


def test_unknown_statuses_are_shown_raw_with_a_question_mark() -> None:
    [rec] = match([row()], [scored(leadStatus="Platinum", phone2Status="Platinum")])
    assert (rec.lead_status, rec.call_priority) == ("Platinum", "?")
    assert "unknown TitanX status 'Platinum'" in rec.note and rec.best_phone_column == "Mobile"


def test_a_missing_lead_status_is_the_best_phone_status_with_a_note() -> None:
    r = scored()
    r = ContactResult(**{**r.__dict__, "lead_status": None})
    [rec] = match([row()], [r])
    assert rec.lead_status == "P1" and "no lead status" in rec.note


def test_a_column_whose_value_was_not_sent_says_so() -> None:
    phones = (
        SentPhone("Direct Phone", 1, "+14155550101"),
        SentPhone("Home", None, None, "4.1E+09"),
    )
    [rec] = match([row(phones=phones)], [scored()])
    assert rec.phone_statuses["Home"] == NOT_SENT


def test_rows_never_sent_are_not_sent() -> None:
    [rec] = match([row(sent=False, status="duplicate")], [scored()])
    assert rec.state == NOT_SENT and "duplicate" in rec.note


def test_pending_until_the_job_is_finished_plus_grace_then_no_result() -> None:
    recent = JobInfo(
        "J1", completed=True, status="Finalized", completed_at=NOW - timedelta(minutes=5)
    )
    old = JobInfo("J1", completed=True, status="Finalized", completed_at=NOW - timedelta(hours=1))
    running = JobInfo("J1", status="Processing")
    assert match([row()], [], {"J1": running})[0].state == PENDING
    assert match([row()], [], {"J1": recent})[0].state == PENDING
    rec = match([row()], [], {"J1": old})[0]
    assert rec.state == NO_RESULT and "J1" in rec.note


def test_a_not_enriched_job_says_so() -> None:
    done = JobInfo(
        "J1", completed=True, status="Not Enriched", completed_at=NOW - timedelta(days=1)
    )
    assert match([row()], [], {"J1": done})[0].state == NOT_ENRICHED


@given(st.permutations(["+14155550101", "+12125550102", "+16175550103"]))
def test_phones_match_their_columns_whatever_slots_titanx_returns(order: list[str]) -> None:
    sent = tuple(
        SentPhone(f"col{i}", i + 1, n)
        for i, n in enumerate(["+14155550101", "+12125550102", "+16175550103"])
    )
    statuses = {"+14155550101": "P1", "+12125550102": "P2", "+16175550103": "IVR"}
    payload: dict[str, str] = {"customerContactId": "k1", "firstName": "Ann", "lastName": "Lee"}
    for slot, number in zip(("phone", "phone2", "phone3"), order, strict=True):
        payload[slot], payload[f"{slot}Status"] = number, statuses[number]
    result = read_scored_contact(payload, event_ms=MS)
    [rec] = match([row(phones=sent, job=None)], [result])
    assert dict(rec.phone_statuses) == {"col0": "P1", "col1": "P2", "col2": "IVR"}
    assert rec.best_phone_column == "col0" and rec.state == SCORED

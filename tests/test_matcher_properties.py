"""Property tests: whatever the headers, the mapping keeps its invariants."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from csvscore.mapping.assignment import max_weight_assignment
from csvscore.mapping.matcher import map_columns
from csvscore.mapping.normalize import compact, tokens
from csvscore.mapping.synonyms import load_synonyms

SYN = load_synonyms()
REAL = sorted({e.label for e in SYN.fuzzy_entries} | {"Fax", "Email Status", "Other City", "Notes"})
# Headers whose meaning depends on their neighbours by design (a company block starts or ends,
# an extension/type/status belongs to the phone before it): kept out of the order property.
POSITIONAL = {"record", "extension", "type", "status", "validity"}
ORDER_FREE = [h for h in REAL if not POSITIONAL & set(tokens(h))]

VALUES = st.sampled_from(
    [
        "ann@example.com",
        "(415) 555-0134",
        "'+1 212 555 0101",
        "https://www.linkedin.com/in/ann",
        "https://www.linkedin.com/company/acme",
        "acme.example.com",
        "CA",
        "Texas",
        "94105",
        "United States",
        "51-200",
        "Acme Inc",
        "VP Sales",
        "",
        "204",
    ]
)
junk = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=25)
header = st.one_of(st.sampled_from(REAL), junk, st.just(""), st.just("Phone Number"))


def check_invariants(headers: list[str], samples: list[list[str]]) -> None:
    mapping = map_columns(headers, samples)
    assert [c.index for c in mapping.columns] == list(range(len(headers)))
    assert [c.header for c in mapping.columns] == headers
    fields = [c.field for c in mapping.columns if c.field is not None]
    assert len(fields) == len(set(fields)), fields
    keys = [c.unmapped_key for c in mapping.columns]
    assert len(set(keys)) == len(keys) and all(keys)
    for col in mapping.columns:
        assert 0.0 <= col.confidence <= 1.0
        assert col.reason
        assert not (col.review and col.field is not None)


@given(st.lists(st.tuples(header, st.lists(VALUES, max_size=6)), max_size=40))
@settings(max_examples=150, deadline=None)
def test_any_headers_keep_the_invariants(columns: list[tuple[str, list[str]]]) -> None:
    headers = [h for h, _ in columns]
    samples = [[v for v in vs if v] for _, vs in columns]
    check_invariants(headers, samples)


@given(st.lists(st.sampled_from(REAL), min_size=1, max_size=12))
@settings(max_examples=100, deadline=None)
def test_duplicated_real_headers_keep_the_invariants(headers: list[str]) -> None:
    doubled = headers + headers[: len(headers) // 2]
    check_invariants(doubled, [[] for _ in doubled])


distinct_headers = st.lists(
    st.one_of(st.sampled_from(ORDER_FREE), junk.filter(lambda h: not POSITIONAL & set(tokens(h)))),
    min_size=1,
    max_size=30,
    unique_by=compact,
)


@given(distinct_headers, st.data())
@settings(max_examples=150, deadline=None)
def test_column_order_does_not_change_any_field(headers: list[str], data: st.DataObject) -> None:
    samples = {h: data.draw(st.lists(VALUES, max_size=5)) for h in headers}
    before = map_columns(headers, [[v for v in samples[h] if v] for h in headers])
    shuffled = data.draw(st.permutations(headers))
    after = map_columns(shuffled, [[v for v in samples[h] if v] for h in shuffled])
    assert {c.header: c.field for c in before.columns} == {c.header: c.field for c in after.columns}
    assert {c.header: c.phone_type for c in before.columns} == {
        c.header: c.phone_type for c in after.columns
    }


@given(
    st.dictionaries(
        st.integers(0, 5),
        st.dictionaries(st.sampled_from("ABCDE"), st.integers(1, 40), min_size=1, max_size=4),
        max_size=6,
    )
)
@settings(max_examples=300, deadline=None)
def test_assignment_is_a_maximum_weight_matching(edges: dict[int, dict[str, int]]) -> None:
    result = max_weight_assignment(edges)
    assert len(set(result.values())) == len(result)
    assert all(f in edges[c] for c, f in result.items())
    total = sum(edges[c][f] for c, f in result.items())
    # Brute force: every way of giving each column one of its fields or nothing.
    cols = sorted(edges)
    best = 0
    for choice in itertools.product(*[[None, *edges[c]] for c in cols]):
        used = [f for f in choice if f is not None]
        if len(used) == len(set(used)):
            best = max(
                best, sum(edges[c][f] for c, f in zip(cols, choice, strict=True) if f is not None)
            )
    assert total == best

"""The mapping engine: ladder, one-to-one assignment, phones, context, profiles, fixtures, speed."""

from __future__ import annotations

import csv
import itertools
import random
import string
from pathlib import Path

import pytest

from csvscore.errors import MappingError
from csvscore.fields import FIELD_NAMES, FULL_NAME, PHONE_SLOTS
from csvscore.mapping.matcher import DEFAULT_THRESHOLD, list_profiles, map_columns, unmapped_keys
from csvscore.mapping.model import METHODS, Mapping
from csvscore.mapping.normalize import compact, normalize, tokens
from csvscore.mapping.overrides import OverrideEntry, Overrides
from csvscore.mapping.synonyms import load_profiles, load_synonyms

EXPORTS = Path(__file__).resolve().parent.parent / "fixtures" / "exports"


def run(headers: list[str], samples: list[list[str]] | None = None, **kw: object) -> Mapping:
    return map_columns(headers, samples if samples is not None else [[] for _ in headers], **kw)  # type: ignore[arg-type]


def fields_of(mapping: Mapping) -> list[str | None]:
    return [c.field for c in mapping.columns]


def by_header(mapping: Mapping) -> dict[str, str | None]:
    return {c.header: c.field for c in mapping.columns}


# --- normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variants",
    [
        ["MailingState", "mailing_state", "Mailing State", "MAILING STATE", " mailing-state "],
        ["Phone #", "Phone No.", "Phone Num", "Ph Number", "Tel Nbr", "phoneNumber"],
        ["LinkedIn URL", "Linked In URL", "linkedin_url", "linkedInUrl", "LINKEDIN URL"],
        ["E-mail", "Email", "e_mail", "EMAIL"],
        ["Mobile", "Cell", "Mob", "Cellular"],
        ["Company Name", "Co Name", "Co. Name"],
        ["Account Number", "Acct #", "Acct No."],
        ["Organization", "Org", "Organisation"],
        ["Department", "Dept", "Dept."],
        ["Employees", "Emp", "Emps"],
        ["Revenue", "Rev"],
        ["Province", "Prov"],
        ["Country", "Ctry", "Cntry"],
        ["Description", "Desc"],
        ["Phone Extension", "Phone Ext", "Ph Ext.", "Tel Extn"],
        ["Street Address", "St Address", "Street Addr"],
        ["Prénom", "Prenom"],
    ],
)
def test_normalisation_makes_spellings_equal(variants: list[str]) -> None:
    keys = {compact(v) for v in variants}
    assert len(keys) == 1, {v: compact(v) for v in variants}


def test_normalisation_keeps_the_words() -> None:
    assert tokens("Mailing Zip/Postal Code") == ("mailing", "zip", "postal", "code")
    assert normalize("# Employees") == "number employees"
    assert normalize("Address1") == "address 1"
    assert normalize("\ufeffFirst Name") == "first name"
    # A leading "No" is a negation, not "number"; a lone "x" is an extension.
    assert normalize("No Email") == "no email"
    assert normalize("x") == "extension"
    # A lone "ST" is a state ("City, ST, Zip"); inside a header "St" is street.
    assert normalize("ST") == "state"
    assert normalize("Mailing St") == "mailing street"


# --- the ladder: exact, synonym, fuzzy, sample ---------------------------------------------


def test_exact_api_names_map_with_method_exact() -> None:
    m = run(["zip_postal_code", "companyLinkedInUrl", "First Name", "fsTotalCalls"])
    assert fields_of(m) == ["zipPostalCode", "companyLinkedInUrl", "firstName", "fsTotalCalls"]
    assert all(c.method == "exact" and c.confidence == 1.0 for c in m.columns)


def test_synonyms_map_with_method_synonym() -> None:
    m = run(["Mailing Street", "Account Name", "Seniority"])
    assert fields_of(m) == ["street", "companyAccount", "level"]
    assert all(c.method == "synonym" for c in m.columns)
    assert "Mailing Street" in m.columns[0].reason


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Emial Adress", "email"),
        ("Frist Name", "firstName"),
        ("Compnay Name", "companyAccount"),
        ("Job Titel", "title"),
        ("Postal Cdoe", "zipPostalCode"),
    ],
)
def test_typos_map_by_fuzzy_similarity(header: str, field: str) -> None:
    col = run([header]).columns[0]
    assert col.field == field
    assert col.method == "fuzzy"
    assert DEFAULT_THRESHOLD <= col.confidence < 0.95
    assert "similar" in col.reason


def test_sample_values_map_a_meaningless_header() -> None:
    m = run(
        ["Field 7", "Column B", "Misc"],
        [
            ["ann@example.com", "bo@example.org", "cy@example.com"],
            ["https://www.linkedin.com/in/ann-x", "https://linkedin.com/in/bo-y"],
            ["some note", "another note"],
        ],
    )
    assert fields_of(m) == ["email", "linkedInUrl", None]
    assert m.columns[0].method == "sample" and "email addresses" in m.columns[0].reason
    assert m.columns[2].unmapped_key == "Misc"


def test_sample_values_break_the_url_tie() -> None:
    person = ["https://www.linkedin.com/in/ann-x", "https://www.linkedin.com/in/bo-y"]
    company = ["https://www.linkedin.com/company/acme", "https://linkedin.com/company/bolt"]
    site = ["https://acme.example.com", "www.bolt.example.org"]
    assert run(["URL"], [person]).columns[0].field == "linkedInUrl"
    assert run(["URL"], [company]).columns[0].field == "companyLinkedInUrl"
    assert run(["URL"], [site]).columns[0].field == "website"
    # The header says person but the values are company pages: the values win.
    col = run(["LinkedIn URL"], [company]).columns[0]
    assert col.field == "companyLinkedInUrl" and col.method == "sample"


def test_contradicting_values_lower_confidence_and_flag_review() -> None:
    phones = ["(415) 555-0134", "212-555-0101", "+1 312 555 0199"]
    col = run(["Email"], [phones]).columns[0]
    assert col.field is None
    assert col.review
    assert "below threshold" in col.reason and "not email addresses" in col.reason
    ok = run(["Email"], [["ann@example.com"]]).columns[0]
    assert ok.field == "email" and ok.confidence == 1.0


def test_every_decision_has_confidence_method_and_reason() -> None:
    headers = ["First Name", "Emial", "Fax", "", "Zzqx", "Mobile", "Name"]
    for col in run(headers).columns:
        assert 0.0 <= col.confidence <= 1.0
        assert col.method in METHODS
        assert col.reason and col.reason.endswith(".")


# --- one-to-one, globally best -------------------------------------------------------------


def test_two_columns_never_share_a_field_and_the_better_one_wins() -> None:
    for headers in (["Personal Email", "Email"], ["Email", "Personal Email"]):
        m = run(headers)
        assert by_header(m) == {"Email": "email", "Personal Email": None}
        loser = next(c for c in m.columns if c.header == "Personal Email")
        assert "went to" in loser.reason


def test_assignment_is_globally_best_not_first_come_first_served() -> None:
    # "URL" could be website or linkedInUrl (0.6 each, raised by LinkedIn-looking values); the
    # "Website" column can only be website. Greedy in column order would give "URL" the
    # website and leave "Website" unmapped; the global optimum gives each its own field.
    li = ["https://www.linkedin.com/in/ann-x", "https://www.linkedin.com/in/bo-y"]
    headers = ["URL", "Website", "Company"]
    samples = [li, ["acme.example.com"], ["Acme"]]
    m = run(headers, samples)
    assert fields_of(m) == ["linkedInUrl", "website", "companyAccount"]


def test_column_order_does_not_change_the_result() -> None:
    headers = [
        "Company",
        "Company Name",
        "Account Name",
        "Email",
        "Work Email",
        "Personal Email",
        "Mobile",
        "Phone",
        "Home Phone",
        "First Name",
        "Last Name",
        "Full Name",
        "Title",
        "Job Title",
        "Zip",
        "Postal Code",
    ]
    expected = by_header(run(headers))
    rng = random.Random(7)
    for _ in range(25):
        shuffled = headers[:]
        rng.shuffle(shuffled)
        assert by_header(run(shuffled)) == expected
    assert len([f for f in expected.values() if f]) == len({f for f in expected.values() if f})


# --- hard negatives ------------------------------------------------------------------------


def test_hard_negatives_are_data_in_synonyms_yaml() -> None:
    syn = load_synonyms()
    words = {" ".join(seq) for seq in syn.never}
    for word in (
        "status",
        "opt out",
        "bounced",
        "previous",
        "assistant",
        "asst",
        "fax",
        "source",
        "do not call",
        "email domain",
        "case",
        "owner email",
    ):
        assert word in words
    assert "email" not in syn.never_unless["secondary"] and "phone" in syn.never_unless["secondary"]
    assert "city" not in syn.never_unless["other"] and "phone" in syn.never_unless["other"]


def test_personal_email_is_a_fallback_only() -> None:
    assert run(["Personal Email"]).columns[0].field == "email"
    assert run(["Personal Email"]).columns[0].confidence < 0.95
    assert by_header(run(["Work Email", "Personal Email"]))["Personal Email"] is None


# --- phones --------------------------------------------------------------------------------


def test_phones_fill_slots_by_type_priority() -> None:
    headers = ["Home Phone", "Company Phone", "Business Phone", "Mobile Phone", "Direct Dial"]
    m = run(headers)
    got = {c.header: (c.field, c.phone_type) for c in m.columns}
    assert got == {
        "Direct Dial": ("phone", "direct"),
        "Mobile Phone": ("phone2", "mobile"),
        "Business Phone": ("phone3", "work"),
        "Company Phone": ("phone4", "company"),
        "Home Phone": ("phone5", "home"),
    }
    assert all("priority" in c.reason for c in m.columns)


def test_more_than_five_phones_drops_the_lowest_priority_with_a_reason() -> None:
    headers = ["Other Phone", "Home Phone", "Work Phone", "Mobile", "Direct Phone", "HQ Phone"]
    m = run(headers)
    other = m.columns[0]
    assert other.field is None
    assert "More than 5 phone columns" in other.reason
    assert sorted(c.field for c in m.columns[1:]) == sorted(PHONE_SLOTS)
    assert any("more than 5 phone columns" in n for n in m.notes)


def test_unqualified_phones_keep_their_number_order() -> None:
    m = run(["Phone 2", "Phone 1", "Phone 3"])
    assert fields_of(m) == ["phone2", "phone", "phone3"]
    assert all(c.phone_type is None for c in m.columns)


def test_extension_goes_to_phone_ext_and_its_phone_becomes_main() -> None:
    m = run(
        ["Mobile Phone", "Business Phone", "Business Phone Ext."],
        [["415-555-0134"], ["415-555-0101"], ["204"]],
    )
    assert fields_of(m) == ["phone2", "phone", "phoneExt"]
    assert "extension" in m.columns[1].reason


def test_extension_of_a_secondary_line_stays_unmapped_when_a_direct_dial_exists() -> None:
    m = run(["Direct Phone", "Company Phone", "Company Phone Ext"])
    assert fields_of(m) == ["phone", "phone2", None]
    assert "only for the main phone" in m.columns[2].reason


def test_type_and_status_columns_follow_their_phone_slot() -> None:
    m = run(["Phone 1", "Phone 1 Type", "Phone 2", "Phone 2 Type", "Phone 2 Status"])
    assert fields_of(m) == ["phone", "phoneType", "phone2", "phone2Type", "phone2Status"]


def test_api_style_slot_names_are_fixed_slots() -> None:
    m = run(["phone2", "Mobile", "phone2Type"])
    assert fields_of(m) == ["phone2", "phone", "phone2Type"]


# --- full name -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["Full Name", "Name", "Contact Full Name", "Contact Name", "Person - Name", "contact_name"],
)
def test_full_name_maps_when_there_are_no_first_and_last_columns(header: str) -> None:
    alone = run([header, "Email"])
    assert alone.columns[0].field == FULL_NAME and alone.columns[0].method == "synonym"
    assert any("split into first and last" in n for n in alone.notes)
    both = run(["First Name", header, "Last Name"])
    assert both.columns[1].field is None
    assert "own columns" in both.columns[1].reason


# --- context -------------------------------------------------------------------------------


def test_columns_after_a_company_record_id_describe_the_company() -> None:
    headers = [
        "Record ID",
        "First Name",
        "Last Name",
        "Phone Number",
        "City",
        "State/Region",
        "Record ID - Company",
        "Company name",
        "Phone Number",
        "City",
        "Street Address",
        "Postal Code",
        "Country/Region",
        "State/Region",
        "Industry",
        "Number of Employees",
        "Annual Revenue",
        "Website URL",
        "LinkedIn Company Page",
        "Email",
    ]
    m = run(headers)
    got = [(c.field, c.method, c.phone_type) for c in m.columns]
    assert got[3] == ("phone", "synonym", "work")  # the contact's phone
    assert got[4][0] == "city" and got[5][0] == "stateProvince"
    assert got[6][0] == "accountCrmId"
    assert got[8] == ("phone2", "context", "company")
    assert [g[0] for g in got[9:14]] == [
        "companyCity",
        "companyAddress",
        "companyZip",
        "companyCountry",
        "companyState",
    ]
    assert all(g[1] == "context" for g in got[7:19])
    assert [g[0] for g in got[14:19]] == [
        "industry",
        "numberOfEmployees",
        "annualRevenue",
        "website",
        "companyLinkedInUrl",
    ]
    # A contact field inside the company block is not the contact's.
    assert got[19][0] is None and "company block" in m.columns[19].reason
    assert "Record ID - Company" in m.columns[9].reason


def test_a_record_id_of_another_object_ends_the_company_block() -> None:
    m = run(["Record ID - Company", "City", "Record ID - Deal", "City"])
    assert fields_of(m)[1] == "companyCity"
    assert fields_of(m)[3] == "city"


def test_explicit_company_headers_map_by_synonym() -> None:
    headers = [
        "Company Street",
        "HQ State",
        "Account: Billing City",
        "Billing Zip",
        "Company Country",
    ]
    m = run(headers)
    assert fields_of(m) == [
        "companyAddress",
        "companyState",
        "companyCity",
        "companyZip",
        "companyCountry",
    ]
    assert all(c.method in ("synonym", "exact") for c in m.columns)
    assert by_header(run(["Company City", "City"])) == {
        "Company City": "companyCity",
        "City": "city",
    }


# --- threshold and review ------------------------------------------------------------------


def test_below_threshold_is_unmapped_and_flagged_for_review() -> None:
    col = run(["Phone Nmbr"], [["hello", "world"]]).columns[0]
    assert col.field is None and col.review
    assert col.reason.startswith("looks like phone") and "below threshold" in col.reason
    # The same header with a lower threshold is mapped.
    low = run(["Phone Nmbr"], [["hello", "world"]], threshold=0.2).columns[0]
    assert low.field in PHONE_SLOTS and not low.review


def test_review_names_the_next_free_phone_slot() -> None:
    m = run(["Phone", "Mobile", "Cell Phne"], [["415-555-0134"], ["415-555-0101"], ["n/a"]])
    assert m.columns[2].review
    assert m.columns[2].reason.startswith("looks like phone3 (")


# --- unmapped keys -------------------------------------------------------------------------


def test_unmapped_keys_are_unique_and_never_blank() -> None:
    headers = ["Phone Number", "Notes", "Phone Number", "", "Notes", "Phone Number (2)", "  "]
    assert unmapped_keys(headers) == [
        "Phone Number",
        "Notes",
        "Phone Number (2)",
        "Column 4",
        "Notes (2)",
        "Phone Number (2) (2)",
        "Column 7",
    ]
    m = run(headers)
    assert len(m.columns) == len(headers)
    assert [c.index for c in m.columns] == list(range(len(headers)))
    assert len({c.unmapped_key for c in m.columns}) == len(headers)


def test_nothing_is_dropped_even_with_missing_samples() -> None:
    headers = ["Email", "x", "", "Phone", "Other"]
    m = map_columns(headers, [["a@example.com"]])
    assert [c.header for c in m.columns] == headers
    assert m.columns[0].sample == "a@example.com"


# --- profiles ------------------------------------------------------------------------------


def test_list_profiles() -> None:
    assert list_profiles() == sorted(
        [
            "salesforce",
            "hubspot",
            "apollo",
            "zoominfo",
            "pipedrive",
            "dynamics365",
            "zoho",
            "close",
            "outreach",
            "salesloft",
            "linkedin",
            "salesnavigator",
            "lusha",
        ]
    )


def test_profile_pins_win_over_generic_synonyms() -> None:
    generic = run(["Phone", "Mobile"]).columns[0]
    assert generic.phone_type is None
    zoho = run(["Phone", "Mobile"], profile="zoho")
    assert zoho.profile == "zoho"
    assert zoho.columns[0].phone_type == "work" and "Zoho" in zoho.columns[0].reason


def test_profile_is_detected_from_signature_headers() -> None:
    m = run(
        ["Record ID", "First Name", "Last Name", "Phone Number", "Lifecycle Stage", "Contact owner"]
    )
    assert m.profile == "hubspot"
    assert any("HubSpot" in n for n in m.notes)
    assert run(["First Name", "Last Name", "Phone"]).profile is None


def test_unknown_profile_lists_the_available_ones() -> None:
    with pytest.raises(MappingError) as info:
        run(["Email"], profile="hubspott")
    assert "hubspott" in str(info.value)
    for name in list_profiles():
        assert name in str(info.value)


def test_profile_data_uses_valid_fields() -> None:
    valid = {*FIELD_NAMES, FULL_NAME, "phone"}
    for prof in load_profiles().values():
        assert prof.signature, prof.name
        for pin in prof.pins.values():
            assert pin.field is None or pin.field in valid


def test_synonym_data_is_loaded_from_the_package() -> None:
    syn = load_synonyms()
    assert syn.count >= 400
    assert load_synonyms() is syn  # cached
    fields = {e.field for entries in syn.by_key.values() for e in entries}
    assert {"email", "phone", "firstName", "companyAccount", "recordOwner"} <= fields


# --- overrides -----------------------------------------------------------------------------


def test_overrides_pin_columns_and_leave_the_rest_to_compete() -> None:
    overrides = Overrides(
        [
            OverrideEntry("email", header="Personal Email"),
            OverrideEntry(None, column=3),
            OverrideEntry("phone2", column=4),
        ]
    )
    headers = ["Email", "Personal Email", "Company", "Mobile", "Phone"]
    m = run(headers, overrides=overrides)
    assert fields_of(m) == [None, "email", None, "phone2", "phone"]
    assert [c.method for c in m.columns[1:4]] == ["override"] * 3
    assert all(c.confidence == 1.0 for c in m.columns[1:4])
    assert m.columns[3].phone_type == "mobile"
    assert "went to" in m.columns[0].reason


# --- the fixture exports -------------------------------------------------------------------


def read_export(path: Path) -> tuple[list[str], list[list[str]]]:
    """Headers and per-column samples with plain csv (skipping a preamble like LinkedIn's)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    start = next(i for i, row in enumerate(rows) if sum(1 for c in row if c.strip()) >= 3)
    headers, body = rows[start], rows[start + 1 :]
    samples = [
        [r[i].strip() for r in body if i < len(r) and r[i].strip()][:50]
        for i in range(len(headers))
    ]
    return headers, samples


# (column number, field, phone type) for the columns that matter in each file.
# fmt: off
FIXTURES: dict[str, tuple[str | None, list[tuple[int, str | None, str | None]]]] = {
    "salesforce_report.csv": ("salesforce", [
        (1, "contactCrmId", None), (6, "companyAccount", None), (7, "accountCrmId", None),
        (8, "street", None), (10, "stateProvince", None), (13, "phone2", "work"),
        (14, "phone", "mobile"), (15, None, None), (16, "phone3", "home"), (17, "phone4", "other"),
        (18, None, None), (19, "email", None), (20, None, None), (22, "recordOwner", None),
        (26, "companyCity", None), (27, "companyState", None),
    ]),
    "salesforce_dataloader.csv": ("salesforce", [
        (1, "contactCrmId", None), (2, "accountCrmId", None), (3, "lastName", None),
        (4, "firstName", None), (6, None, None), (7, None, None), (8, None, None),
        (11, "stateProvince", None), (14, "phone2", "work"), (16, "phone", "mobile"),
        (19, None, None), (24, "recordOwner", None), (25, None, None), (26, None, None),
    ]),
    "hubspot.csv": ("hubspot", [
        (1, "contactCrmId", None), (5, "phone2", "work"), (6, "phone", "mobile"),
        (8, "recordOwner", None), (10, None, None), (13, "city", None), (19, None, None),
        (20, "accountCrmId", None), (21, "companyAccount", None), (23, "phone3", "company"),
        (24, "companyCity", None), (25, "companyState", None), (26, "companyZip", None),
        (27, "companyCountry", None), (28, "companyAddress", None), (29, "industry", None),
        (30, "numberOfEmployees", None), (31, "annualRevenue", None), (32, "website", None),
        (33, "companyLinkedInUrl", None),
    ]),
    "apollo.csv": ("apollo", [
        (4, "companyAccount", None), (5, None, None), (7, None, None), (12, "level", None),
        (13, "dept", None), (14, "recordOwner", None), (15, "phone", "direct"),
        (16, "phone5", "home"), (17, "phone2", "mobile"), (18, "phone4", "company"),
        (19, None, None), (23, None, None), (24, "numberOfEmployees", None),
        (27, "linkedInUrl", None), (29, "companyLinkedInUrl", None), (35, "companyAddress", None),
        (36, "companyCity", None), (39, "phone3", "company"), (41, "technologies", None),
        (43, "sicCodes", None), (54, "databaseContactId", None), (55, "databaseCompanyId", None),
        (56, None, None),
    ]),
    "zoominfo.csv": ("zoominfo", [
        (1, "databaseContactId", None), (9, "level", None), (11, "jobFunction", None),
        (13, None, None), (14, "phone", "direct"), (15, "email", None), (16, None, None),
        (17, "phone2", "mobile"), (21, None, None), (24, None, None), (25, "linkedInUrl", None),
        (27, "city", None), (31, "databaseCompanyId", None), (35, "phone3", "company"),
        (36, None, None), (38, "annualRevenue", None), (40, "numberOfEmployees", None),
        (46, "industry", None), (47, "primarySubIndustry", None),
        (51, "companyLinkedInUrl", None), (52, "companyAddress", None),
        (58, "campaignListName", None),
    ]),
    "pipedrive.csv": ("pipedrive", [
        (1, "contactCrmId", None), (2, None, None), (3, "firstName", None), (7, "email", None),
        (8, None, None), (9, None, None), (10, "phone2", "work"), (11, "phone3", "home"),
        (12, "phone", "mobile"), (15, "recordOwner", None), (21, "companyAddress", None),
    ]),
    "dynamics365.csv": ("dynamics365", [
        (1, "contactCrmId", None), (2, None, None), (4, None, None), (8, "companyAccount", None),
        (10, "phone2", "work"), (11, "phone", "mobile"), (12, "street", None),
        (15, "zipPostalCode", None), (16, "country", None), (17, "recordOwner", None),
        (18, None, None),
    ]),
    "zoho.csv": ("zoho", [
        (1, "contactCrmId", None), (2, "recordOwner", None), (10, "phone2", "work"),
        (11, "phone3", "home"), (12, "phone4", "other"), (13, None, None),
        (14, "phone", "mobile"), (16, None, None), (17, None, None), (20, "street", None),
        (21, None, None), (23, None, None), (32, None, None),
    ]),
    "close.csv": ("close", [
        (1, "leadId", None), (2, "companyAccount", None), (3, None, None), (4, "website", None),
        (5, "contactCrmId", None), (6, "fullName", None), (8, "phone", None),
        (9, "phoneType", None), (10, "email", None), (11, None, None), (13, "companyCity", None),
    ]),
    "outreach.csv": ("outreach", [
        (1, "contactCrmId", None), (5, "companyAccount", None), (6, "email", None),
        (7, "phone2", "work"), (8, "phone", "mobile"), (9, "phone3", "home"),
        (10, "phone5", "other"), (11, "phone4", "other"), (13, "city", None),
        (17, "linkedInUrl", None), (18, "timeZone", None), (22, "campaignListName", None),
    ]),
    "salesloft.csv": ("salesloft", [
        (4, "phone", "work"), (5, "phoneExt", None), (6, "phone2", "mobile"),
        (7, "phone3", "home"), (9, "companyAccount", None), (15, "companyCity", None),
        (22, "campaignListName", None), (24, None, None), (25, None, None), (26, None, None),
        (27, "contactCrmId", None),
    ]),
    "linkedin_connections.csv": ("linkedin", [
        (3, "linkedInUrl", None), (4, "email", None), (5, "companyAccount", None),
        (6, "title", None), (7, None, None),
    ]),
    "sales_navigator.csv": ("salesnavigator", [
        (1, "linkedInUrl", None), (2, None, None), (5, None, None),
        (8, "companyLinkedInUrl", None), (9, "website", None), (15, "email", None),
        (16, None, None), (17, "phone", None),
    ]),
    "lusha.csv": ("lusha", [
        (7, "website", None), (9, "numberOfEmployees", None), (14, "email", None),
        (15, None, None), (16, None, None), (18, "phone", None), (19, "phoneType", None),
        (20, "phone2", None), (21, "phone2Type", None),
    ]),
    "generic.csv": (None, [
        (1, "fullName", None), (2, "email", None), (3, "phone", None), (4, "phoneExt", None),
        (5, "phone2", "mobile"), (10, "stateProvince", None), (15, None, None),
        (16, None, None), (18, None, None),
    ]),
}
# fmt: on


def test_every_fixture_export_is_covered() -> None:
    assert sorted(p.name for p in EXPORTS.glob("*.csv")) == sorted(FIXTURES)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_export_maps(name: str) -> None:
    headers, samples = read_export(EXPORTS / name)
    assert 5 <= len(samples[0]) <= 20 or name == "linkedin_connections.csv"
    m = map_columns(headers, samples)
    profile, expected = FIXTURES[name]
    assert m.profile == profile
    mapped = m.by_field()
    assert {"firstName", "lastName"} <= set(mapped) or FULL_NAME in mapped
    assert "email" in mapped
    if name == "linkedin_connections.csv":
        # A real LinkedIn connections export has no phone column at all.
        assert m.missing_required() == ["phone"]
    else:
        assert set(mapped) & set(PHONE_SLOTS)
        assert m.missing_required() == []
    for number, field, phone_type in expected:
        col = m.columns[number - 1]
        assert (col.field, col.phone_type if field else None) == (field, phone_type), (
            f"column {number} {col.header!r}: {col.reason}"
        )
    assert len(m.columns) == len(headers)
    assert len({c.unmapped_key for c in m.columns}) == len(headers)
    assert not [c.header for c in m.columns if c.review], "no fixture column should need review"


def test_hubspot_repeated_headers_get_distinct_unmapped_keys() -> None:
    headers, _ = read_export(EXPORTS / "hubspot.csv")
    keys = unmapped_keys(headers)
    assert keys[4] == "Phone Number" and keys[22] == "Phone Number (2)"
    assert keys[12] == "City" and keys[23] == "City (2)"


def test_apollo_phones_with_a_leading_apostrophe_are_phones() -> None:
    headers, samples = read_export(EXPORTS / "apollo.csv")
    assert samples[16][0].startswith("'+1 ")
    m = map_columns(headers, samples)
    assert "values are phone numbers" in m.columns[16].reason


# --- performance ---------------------------------------------------------------------------


def test_300_mixed_columns_all_come_back_mapped_or_unmapped_in_order() -> None:
    # Speed is measured in benchmarks/ (goal < 50 ms), not asserted here.
    syn = load_synonyms()
    real = sorted({e.label for e in syn.fuzzy_entries})
    rng = random.Random(300)

    def junk() -> str:
        words = ("".join(rng.choices(string.ascii_letters, k=rng.randint(3, 9))) for _ in range(3))
        return " ".join(itertools.islice(words, rng.randint(1, 3)))

    values = [
        "ann@example.com",
        "(415) 555-0134",
        "Acme Inc",
        "https://www.linkedin.com/in/ann",
        "CA",
        "94105",
        "12345",
        "free text here",
    ]
    for _ in range(5):
        headers = [rng.choice(real) for _ in range(150)] + [junk() for _ in range(150)]
        rng.shuffle(headers)
        samples = [[rng.choice(values) for _ in range(50)] for _ in headers]
        tokens.cache_clear()  # no help from earlier runs' normalisation
        m = map_columns(headers, samples)
        assert [c.index for c in m.columns] == list(range(300))
        assert [c.header for c in m.columns] == headers
        fields = [c.field for c in m.columns if c.field is not None]
        assert len(fields) == len(set(fields))


# --- value sniffers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("email", ["ann@example.com", "a.b+c@sub.example.org"], ["ann@", "example.com", "a b@c.d"]),
        ("phone", ["'+1 415 555 0134", "(415) 555-0134", "4155550134", "415.555.0134 x204"],
         ["12", "hello", "415-555"]),
        ("linkedin_person", ["https://www.linkedin.com/in/ann-x"],
         ["https://www.linkedin.com/company/acme"]),
        ("linkedin_company", ["http://linkedin.com/company/acme"], ["https://linkedin.com/in/a"]),
        ("url", ["acme.example.com", "https://www.acme.example.org/about"],
         ["ann@example.com", "n/a"]),
        ("state", ["CA", "California", "ontario", "N.Y."], ["Bavaria", "EMEA"]),
        ("zip", ["94105", "02110-1234", "2110", "K1A 0B1", "SW1A 1AA"], ["San Francisco"]),
        ("country", ["United States", "USA", "U.S.", "Germany", "the Netherlands"], ["Narnia"]),
        ("number", ["51-200", "1,001-5,000", "10000+", "$1M - $10M", "4.2B"], ["many", "n/a"]),
        ("timezone", ["America/New_York", "EST", "(GMT-05:00) Eastern Time", "Pacific Time"],
         ["Tuesday"]),
    ],
)  # fmt: skip
def test_sniffers(kind: str, good: list[str], bad: list[str]) -> None:
    from csvscore.mapping import value_kinds as samples

    assert samples.fraction(kind, good) == 1.0, [v for v in good if not samples.CHECKS[kind](v)]
    assert samples.fraction(kind, bad) == 0.0, [v for v in bad if samples.CHECKS[kind](v)]
    assert samples.fraction(kind, []) == 0.0


def test_dominant_kind() -> None:
    from csvscore.mapping import value_kinds as samples

    assert samples.dominant(["ann@example.com", "bo@example.org"]) == ("email", 1.0)
    assert samples.dominant(["(415) 555-0134", "+1 212 555 0101"]) == ("formatted_phone", 1.0)
    assert samples.dominant(["4155550134", "2125550101"]) is None  # bare digits: maybe an ID
    assert samples.dominant(["Acme", "Bolt"]) is None

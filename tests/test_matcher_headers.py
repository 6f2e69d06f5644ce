"""The big table: real-world header strings from CRM and data-provider exports -> field.

Each header is mapped inside a small realistic context (signature columns of its source, or
the columns it depends on), or alone. Expected values:

- an API field name, ``fullName``, or None (a hard negative: must stay unmapped, no review);
- ``"phone"`` for "some phone slot, no type", ``"phone:<type>"`` for a phone slot of that type.
"""

from __future__ import annotations

import pytest

from csvscore.fields import PHONE_SLOTS
from csvscore.mapping.matcher import map_columns
from csvscore.mapping.normalize import compact

SALESFORCE = [
    "Email Opt Out",
    "Asst. Phone",
    "HasOptedOutOfEmail",
    "LastActivityDate",
    "IsEmailBounced",
]
HUBSPOT = ["Lifecycle Stage", "Marketing contact status", "Create Date", "Last Activity Date"]
APOLLO = [
    "Primary Email Source",
    "Email Confidence",
    "Primary Email Catch-all Status",
    "Last Contacted",
]
ZOOMINFO = ["Email Domain", "Contact Accuracy Score", "ZoomInfo Contact Profile URL"]
PIPEDRIVE = ["Person - Labels", "Person - ID", "Person - Owner"]
DYNAMICS = [
    "(Do Not Modify) Contact",
    "(Do Not Modify) Row Checksum",
    "(Do Not Modify) Modified On",
]
ZOHO = ["Skype ID", "Created Time", "Modified Time", "Asst Phone", "Last Activity Time"]
CLOSE = ["lead_status", "primary_email_type", "lead_id"]
OUTREACH = ["Sequence Name", "Occupation", "Emails", "Address Zip"]
SALESLOFT = ["Person Stage", "Do Not Contact", "Salesloft ID"]
LINKEDIN = ["Connected On", "Position"]
SALESNAV = ["Sales Navigator URL", "Connection Degree"]
LUSHA = ["Email 1 Type", "Phone 1 Type", "Phone 2 Type"]
NAMES = ["First Name", "Last Name"]

CASES: list[tuple[str, str | None, list[str]]] = [
    # --- Salesforce reports and Data Loader -------------------------------------------------
    ("Mailing Street", "street", SALESFORCE),
    ("MailingStreet", "street", SALESFORCE),
    ("Mailing City", "city", SALESFORCE),
    ("MailingCity", "city", SALESFORCE),
    ("Mailing State/Province", "stateProvince", SALESFORCE),
    ("MailingState", "stateProvince", SALESFORCE),
    ("Mailing Zip/Postal Code", "zipPostalCode", SALESFORCE),
    ("MailingPostalCode", "zipPostalCode", SALESFORCE),
    ("Mailing Country", "country", SALESFORCE),
    ("MailingCountry", "country", SALESFORCE),
    ("Account Name", "companyAccount", SALESFORCE),
    ("Contact ID", "contactCrmId", SALESFORCE),
    ("Account ID", "accountCrmId", SALESFORCE),
    ("AccountId", "accountCrmId", SALESFORCE),
    ("Id", "contactCrmId", SALESFORCE),
    ("Contact Owner", "recordOwner", SALESFORCE),
    ("OwnerId", "recordOwner", SALESFORCE),
    ("Lead ID", "leadId", []),
    ("Lead Owner", "recordOwner", []),
    ("Title", "title", SALESFORCE),
    ("Department", "dept", SALESFORCE),
    ("Phone", "phone:work", SALESFORCE),
    ("Mobile", "phone:mobile", SALESFORCE),
    ("MobilePhone", "phone:mobile", SALESFORCE),
    ("HomePhone", "phone:home", SALESFORCE),
    ("OtherPhone", "phone:other", SALESFORCE),
    ("Account: Billing City", "companyCity", SALESFORCE),
    ("Account: Billing Street", "companyAddress", SALESFORCE),
    ("Account: Billing State/Province", "companyState", SALESFORCE),
    ("Billing Zip/Postal Code", "companyZip", []),
    ("Billing Country", "companyCountry", []),
    ("Account: Industry", "industry", SALESFORCE),
    ("Name", None, [*SALESFORCE, "FirstName", "LastName"]),
    ("Salutation", None, SALESFORCE),
    ("Asst. Phone", None, []),
    ("AssistantPhone", None, []),
    ("Assistant Phone", None, []),
    ("Email Opt Out", None, []),
    ("HasOptedOutOfEmail", None, []),
    ("DoNotCall", None, []),
    ("Do Not Call", None, []),
    ("Lead Source", None, []),
    ("LeadSource", None, []),
    ("Created Date", None, []),
    ("CreatedDate", None, []),
    ("Last Activity Date", None, []),
    ("LastActivityDate", None, []),
    ("IsEmailBounced", None, []),
    ("Email Bounced", None, []),
    ("Fax", None, []),
    ("Other City", None, []),
    ("OtherCity", None, []),
    ("Other Street", None, []),
    ("Lead Status", None, []),
    # --- HubSpot ----------------------------------------------------------------------------
    ("Record ID", "contactCrmId", HUBSPOT),
    ("Record ID - Contact", "contactCrmId", HUBSPOT),
    ("Record ID - Company", "accountCrmId", HUBSPOT),
    ("Phone Number", "phone:work", HUBSPOT),
    ("Mobile Phone Number", "phone:mobile", HUBSPOT),
    ("Job Title", "title", HUBSPOT),
    ("Associated Company", "companyAccount", HUBSPOT),
    ("Company name", "companyAccount", HUBSPOT),
    ("Contact owner", "recordOwner", HUBSPOT),
    ("Street Address", "street", HUBSPOT),
    ("Postal Code", "zipPostalCode", HUBSPOT),
    ("State/Region", "stateProvince", HUBSPOT),
    ("Country/Region", "country", HUBSPOT),
    ("Website URL", "website", HUBSPOT),
    ("Company Domain Name", "website", HUBSPOT),
    ("Number of Employees", "numberOfEmployees", HUBSPOT),
    ("Annual Revenue", "annualRevenue", HUBSPOT),
    ("Industry", "industry", HUBSPOT),
    ("LinkedIn Company Page", "companyLinkedInUrl", HUBSPOT),
    ("Associated Company IDs", "accountCrmId", HUBSPOT),
    ("Primary Associated Company ID", "accountCrmId", HUBSPOT),
    ("Lifecycle Stage", None, []),
    ("Marketing contact status", None, []),
    ("Create Date", None, []),
    ("Company owner", None, HUBSPOT),
    # --- Apollo -----------------------------------------------------------------------------
    ("Work Direct Phone", "phone:direct", APOLLO),
    ("Mobile Phone", "phone:mobile", APOLLO),
    ("Corporate Phone", "phone:company", APOLLO),
    ("Home Phone", "phone:home", APOLLO),
    ("Other Phone", "phone:other", APOLLO),
    ("Company Phone", "phone:company", APOLLO),
    ("Person Linkedin Url", "linkedInUrl", APOLLO),
    ("Company Linkedin Url", "companyLinkedInUrl", APOLLO),
    ("# Employees", "numberOfEmployees", APOLLO),
    ("Seniority", "level", APOLLO),
    ("Departments", "dept", APOLLO),
    ("Apollo Contact Id", "databaseContactId", APOLLO),
    ("Apollo Account Id", "databaseCompanyId", APOLLO),
    ("Technologies", "technologies", APOLLO),
    ("SIC Codes", "sicCodes", APOLLO),
    ("Company Address", "companyAddress", APOLLO),
    ("Company City", "companyCity", APOLLO),
    ("Company State", "companyState", APOLLO),
    ("Company Country", "companyCountry", APOLLO),
    ("Lists", "campaignListName", APOLLO),
    ("Company", "companyAccount", APOLLO),
    ("Company Name for Emails", None, [*APOLLO, "Company"]),
    ("Account Owner", None, APOLLO),
    ("Email Status", None, []),
    ("Primary Email Source", None, []),
    ("Email Confidence", None, []),
    ("Primary Email Catch-all Status", None, []),
    ("Primary Email Last Verified At", None, []),
    ("Stage", None, []),
    ("Last Contacted", None, []),
    ("Keywords", None, []),
    ("Facebook Url", None, []),
    ("Twitter Url", None, []),
    ("SEO Description", None, []),
    ("Total Funding", None, []),
    ("Latest Funding Amount", None, []),
    ("Email Sent", None, []),
    ("Email Open", None, []),
    ("Replied", None, []),
    ("Number of Retail Locations", None, []),
    ("Secondary Email", None, []),
    ("Secondary Email Source", None, []),
    ("Tertiary Email", None, []),
    # --- ZoomInfo ---------------------------------------------------------------------------
    ("Direct Phone Number", "phone:direct", ZOOMINFO),
    ("Mobile phone", "phone:mobile", ZOOMINFO),
    ("Company HQ Phone", "phone:company", ZOOMINFO),
    ("ZoomInfo Contact ID", "databaseContactId", ZOOMINFO),
    ("ZoomInfo Company ID", "databaseCompanyId", ZOOMINFO),
    ("Employees", "numberOfEmployees", ZOOMINFO),
    ("Revenue (in 000s USD)", "annualRevenue", ZOOMINFO),
    ("Primary Industry", "industry", ZOOMINFO),
    ("Primary Sub-Industry", "primarySubIndustry", ZOOMINFO),
    ("LinkedIn Contact Profile URL", "linkedInUrl", ZOOMINFO),
    ("Management Level", "level", ZOOMINFO),
    ("Job Function", "jobFunction", ZOOMINFO),
    ("Person City", "city", ZOOMINFO),
    ("Person State", "stateProvince", ZOOMINFO),
    ("Person Zip Code", "zipPostalCode", ZOOMINFO),
    ("Person Street", "street", ZOOMINFO),
    ("Email Address", "email", ZOOMINFO),
    ("NAICS Codes", "naicsCodes", ZOOMINFO),
    ("Company Zip Code", "companyZip", ZOOMINFO),
    ("Company Street Address", "companyAddress", ZOOMINFO),
    ("LinkedIn Company Profile URL", "companyLinkedInUrl", ZOOMINFO),
    ("Query Name", "campaignListName", ZOOMINFO),
    ("Email Domain", None, []),
    ("Middle Name", None, []),
    ("Suffix", None, []),
    ("Previous Company Name", None, []),
    ("Previous Job Title", None, []),
    ("Job Start Date", None, []),
    ("Contact Accuracy Score", None, []),
    ("Ticker", None, []),
    ("Founded Year", None, []),
    ("ZoomInfo Contact Profile URL", None, ZOOMINFO),
    # --- Pipedrive --------------------------------------------------------------------------
    ("Person - Name", "fullName", PIPEDRIVE),
    ("Person - Name", None, [*PIPEDRIVE, "Person - First name", "Person - Last name"]),
    ("Person - First name", "firstName", PIPEDRIVE),
    ("Person - Last name", "lastName", PIPEDRIVE),
    ("Person - Phone - Work", "phone:work", PIPEDRIVE),
    ("Person - Phone - Mobile", "phone:mobile", PIPEDRIVE),
    ("Person - Phone - Home", "phone:home", PIPEDRIVE),
    ("Person - Email - Work", "email", PIPEDRIVE),
    ("Organization - Name", "companyAccount", PIPEDRIVE),
    ("Person - Organization", "companyAccount", PIPEDRIVE),
    ("Person - Owner", "recordOwner", PIPEDRIVE),
    ("Person - Job title", "title", PIPEDRIVE),
    ("Organization - Address", "companyAddress", PIPEDRIVE),
    ("Person - Email - Other", None, PIPEDRIVE),
    ("Person - Label", None, PIPEDRIVE),
    ("Organization - Owner", None, PIPEDRIVE),
    ("Person - Open deals", None, PIPEDRIVE),
    # --- Dynamics 365 -----------------------------------------------------------------------
    ("Business Phone", "phone:work", DYNAMICS),
    ("Address 1: Street 1", "street", DYNAMICS),
    ("Address 1: City", "city", DYNAMICS),
    ("Address 1: State/Province", "stateProvince", DYNAMICS),
    ("Address 1: ZIP/Postal Code", "zipPostalCode", DYNAMICS),
    ("Address 1: Country/Region", "country", DYNAMICS),
    ("Company Name", "companyAccount", DYNAMICS),
    ("(Do Not Modify) Contact", "contactCrmId", DYNAMICS),
    ("Full Name", None, [*DYNAMICS, *NAMES]),
    ("(Do Not Modify) Row Checksum", None, []),
    ("(Do Not Modify) Modified On", None, []),
    ("Address 1: Street 2", None, DYNAMICS),
    ("Address 2: City", None, DYNAMICS),
    ("Business Phone Ext.", "phoneExt", ["Business Phone"]),
    # --- Zoho CRM ---------------------------------------------------------------------------
    ("Phone", "phone:work", ZOHO),
    ("Mobile", "phone:mobile", ZOHO),
    ("Mailing Zip", "zipPostalCode", ZOHO),
    ("Designation", "title", ZOHO),
    ("Lead Owner", "recordOwner", ZOHO),
    ("Record Id", "contactCrmId", ZOHO),
    ("Asst Phone", None, []),
    ("Skype ID", None, []),
    ("Other Zip", None, []),
    ("Modified Time", None, []),
    # --- Close ------------------------------------------------------------------------------
    ("contact_name", "fullName", []),
    ("lead_name", "companyAccount", CLOSE),
    ("primary_phone", "phone", []),
    ("primary_email", "email", []),
    ("primary_phone_type", "phoneType", ["primary_phone"]),
    ("lead_status", None, []),
    ("primary_email_type", None, []),
    # --- Outreach ---------------------------------------------------------------------------
    ("Emails", "email", OUTREACH),
    ("Work Phone", "phone:work", OUTREACH),
    ("Voip Phone", "phone:other", OUTREACH),
    ("Address City", "city", OUTREACH),
    ("Address State", "stateProvince", OUTREACH),
    ("Sequence Name", "campaignListName", []),
    ("Opted Out", None, []),
    # --- Salesloft --------------------------------------------------------------------------
    ("Phone Extension", "phoneExt", ["Phone"]),
    ("Cadence", "campaignListName", SALESLOFT),
    ("Work City", "companyCity", SALESLOFT),
    ("Personal Email", None, ["Email"]),
    ("Personal Email", "email", []),
    ("Do Not Contact", None, []),
    ("Person Stage", None, []),
    ("CRM ID", "contactCrmId", SALESLOFT),
    # --- LinkedIn and Sales Navigator -------------------------------------------------------
    ("URL", "linkedInUrl", LINKEDIN),
    ("Profile URL", "linkedInUrl", SALESNAV),
    ("Position", "title", LINKEDIN),
    ("Company", "companyAccount", LINKEDIN),
    ("Connected On", None, []),
    ("Sales Navigator URL", None, SALESNAV),
    ("Connection Degree", None, SALESNAV),
    # --- Lusha ------------------------------------------------------------------------------
    ("Phone 1", "phone", LUSHA),
    ("Direct Phone", "phone:direct", LUSHA),
    ("Email 1", "email", LUSHA),
    ("Company Size", "numberOfEmployees", LUSHA),
    ("Email 1 Type", None, []),
    # --- Generic spellings, abbreviations, camelCase and snake_case ------------------------
    ("Tel", "phone", []),
    ("Ph #", "phone", []),
    ("Phone No.", "phone", []),
    ("Telephone Number", "phone", []),
    ("Cell", "phone:mobile", []),
    ("Cell #", "phone:mobile", []),
    ("Mob No.", "phone:mobile", []),
    ("Secondary Phone", "phone:other", []),
    ("E-mail", "email", []),
    ("e_mail_address", "email", []),
    ("EMAIL ADDRESS", "email", []),
    ("first_name", "firstName", []),
    ("FirstName", "firstName", []),
    ("fname", "firstName", []),
    ("Given Name", "firstName", []),
    ("Surname", "lastName", []),
    ("Full Name", "fullName", []),
    ("Name", "fullName", []),
    ("Contact Name", "fullName", []),
    ("Contact Full Name", "fullName", []),
    ("Name", None, NAMES),
    ("Co Name", "companyAccount", []),
    ("Acct Name", "companyAccount", []),
    ("Org Name", "companyAccount", []),
    ("Dept", "dept", []),
    ("Emp Count", "numberOfEmployees", []),
    ("No. of Employees", "numberOfEmployees", []),
    ("Rev", "annualRevenue", []),
    ("Zip", "zipPostalCode", []),
    ("ZIP Code", "zipPostalCode", []),
    ("ST", "stateProvince", []),
    ("Street Addr", "street", []),
    ("Prov", "stateProvince", []),
    ("Ctry", "country", []),
    ("Desc", None, []),
    ("Ext", "phoneExt", ["Phone"]),
    ("x", "phoneExt", ["Phone"]),
    ("Extension", "phoneExt", ["Phone"]),
    ("zip_postal_code", "zipPostalCode", []),
    ("linkedInUrl", "linkedInUrl", []),
    ("Linked In URL", "linkedInUrl", []),
    ("HQ State", "companyState", []),
    ("Company Street", "companyAddress", []),
    ("Billing City", "companyCity", []),
    ("Time Zone", "timeZone", []),
    ("TZ", "timeZone", []),
    ("Persona", "persona", []),
    ("Total Calls", "fsTotalCalls", []),
    ("Callback URL", "callbackUrl", []),
    ("External ID", "customerContactId", []),
    ("Campaign", "campaignListName", []),
    ("Phone Status", "phoneStatus", ["Phone"]),
    ("Phone Type", "phoneType", ["Phone"]),
    ("phone2", "phone2", ["Phone"]),
    ("Title Case", None, []),
    ("Phone Opt Out", None, []),
    ("Fax Number", None, []),
    ("Owner Email", None, []),
    ("Contact Owner Email", None, []),
    ("Email Type", None, []),
    ("Gender", None, []),
    ("Birthdate", None, []),
    ("Notes", None, []),
    ("Description", None, []),
    ("Tags", None, []),
    # Decision: a company/HQ line's extension is phoneExt only while that line is the main
    # phone; with a direct dial present, the direct dial is main and the extension stays extra.
    ("Company Phone Ext", "phoneExt", ["Company Phone"]),
    ("Company Phone Ext", None, ["Work Direct Phone", "Company Phone"]),
]


def _id(case: tuple[str, str | None, list[str]]) -> str:
    header, expected, context = case
    where = f" +{len(context)}" if context else ""
    return f"{header!r}->{expected}{where}"


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 150
    assert sum(1 for _, expected, _ in CASES if expected is None) >= 40


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_header(case: tuple[str, str | None, list[str]]) -> None:
    header, expected, context = case
    headers = [h for h in context if compact(h) != compact(header)] + [header]
    mapping = map_columns(headers, [[] for _ in headers])
    col = mapping.columns[-1]
    assert col.header == header
    if expected is None:
        assert col.field is None, col.reason
        assert not col.review, col.reason
        assert col.reason
    elif (
        expected.startswith("phone") and expected.split(":")[0] == "phone" and expected != "phone2"
    ):
        assert col.field in PHONE_SLOTS, col.reason
        want_type = expected.split(":")[1] if ":" in expected else None
        assert col.phone_type == want_type, col.reason
    else:
        assert col.field == expected, col.reason
    assert col.reason

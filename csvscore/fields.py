"""The TitanX v2 contact schema: 56 string fields plus ``unmappedFields`` (57 keys in all).

Each field has a *kind*, which tells the mapping engine what sample values should look
like and the contact builder how to clean them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    description: str


def _f(name: str, kind: str, description: str) -> Field:
    return Field(name, kind, description)


FIELDS: tuple[Field, ...] = (
    _f("firstName", "first_name", "Contact's first (given) name. Required."),
    _f("lastName", "last_name", "Contact's last (family) name. Required."),
    _f("email", "email", "Contact's own email address."),
    _f("phone", "phone", "Best phone number (direct dial first). One valid US phone is required."),
    _f("phone2", "phone", "Second phone number (e.g. mobile)."),
    _f("phone3", "phone", "Third phone number (e.g. work/business line)."),
    _f("phone4", "phone", "Fourth phone number (e.g. company HQ)."),
    _f("phone5", "phone", "Fifth phone number (e.g. home/other)."),
    _f("phoneExt", "phone_ext", "Extension for the main phone number (e.g. 204)."),
    _f("phoneStatus", "phone_status", "Known status of phone (from a previous scoring or dialer)."),
    _f("phone2Status", "phone_status", "Known status of phone2."),
    _f("phone3Status", "phone_status", "Known status of phone3."),
    _f("phone4Status", "phone_status", "Known status of phone4."),
    _f("phone5Status", "phone_status", "Known status of phone5."),
    _f("phoneType", "phone_type", "Type of phone: direct, mobile, work, company, home..."),
    _f("phone2Type", "phone_type", "Type of phone2."),
    _f("phone3Type", "phone_type", "Type of phone3."),
    _f("phone4Type", "phone_type", "Type of phone4."),
    _f("phone5Type", "phone_type", "Type of phone5."),
    _f("street", "street", "Contact's street address (mailing address line)."),
    _f("city", "city", "Contact's city."),
    _f("stateProvince", "state", "Contact's state or province (e.g. CA, Ontario)."),
    _f("zipPostalCode", "zip", "Contact's ZIP or postal code."),
    _f("country", "country", "Contact's country."),
    _f("title", "title", "Job title (e.g. VP Sales)."),
    _f("companyAccount", "company", "Company / account name the contact works for."),
    _f("website", "url", "Company website or domain."),
    _f("linkedInUrl", "linkedin_person", "Contact's LinkedIn profile URL (linkedin.com/in/...)."),
    _f("companyLinkedInUrl", "linkedin_company", "Company LinkedIn page (/company/...)."),
    _f("persona", "text", "Persona or buyer segment the contact belongs to."),
    _f("dept", "text", "Department (e.g. Sales, Engineering)."),
    _f("level", "text", "Seniority or management level (e.g. VP, Director, C-Level)."),
    _f("jobFunction", "text", "Job function (e.g. Marketing, Operations)."),
    _f("timeZone", "timezone", "Contact's time zone (e.g. America/New_York, EST)."),
    _f("companyCountry", "country", "Country of the company's address / HQ."),
    _f("companyState", "state", "State or province of the company's address / HQ."),
    _f("companyCity", "city", "City of the company's address / HQ."),
    _f("companyZip", "zip", "ZIP or postal code of the company's address / HQ."),
    _f("companyAddress", "street", "Street address of the company / HQ."),
    _f("numberOfEmployees", "number", "Company head count or employee range (sent as text)."),
    _f("annualRevenue", "number", "Company annual revenue or range (sent as text)."),
    _f("industry", "text", "Company industry."),
    _f("primarySubIndustry", "text", "Company primary sub-industry."),
    _f("sicCodes", "code", "Company SIC code(s)."),
    _f("naicsCodes", "code", "Company NAICS code(s)."),
    _f("technologies", "text", "Technologies the company uses."),
    _f("recordOwner", "owner", "CRM owner of the contact record (e.g. sales rep)."),
    _f("contactCrmId", "id", "Contact ID in your CRM (Salesforce Contact ID, HubSpot Record ID)."),
    _f("accountCrmId", "id", "Account/company ID in your CRM."),
    _f("databaseContactId", "id", "Contact's ID in a data provider (ZoomInfo, Apollo...)."),
    _f("databaseCompanyId", "id", "Company's ID in a data provider."),
    _f("customerContactId", "id", "Your own key for the row; csvscore uses it to match results."),
    _f("campaignListName", "text", "Campaign, list or cadence the contact came from."),
    _f("callbackUrl", "url", "URL that receives this contact's score (webhook)."),
    _f("leadId", "id", "Lead ID (e.g. Salesforce Lead ID)."),
    _f("fsTotalCalls", "number", "Total calls already made to the contact."),
)

# The 57th key of a contact: an object for every column that maps to none of the above.
UNMAPPED_FIELDS = Field(
    "unmappedFields", "object", "Every other column of the row, keyed by its header (text)."
)
ALL_FIELDS: tuple[Field, ...] = (*FIELDS, UNMAPPED_FIELDS)

FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

PHONE_SLOTS: tuple[str, ...] = ("phone", "phone2", "phone3", "phone4", "phone5")

# Pseudo-field for a "Full Name" column that csvscore splits into firstName/lastName.
FULL_NAME = "fullName"

assert len(FIELDS) == 56 and len(ALL_FIELDS) == 57

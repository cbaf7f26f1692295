"""The synthetic sample written the way CRMs export it, to try presets and mappings.

Each module converts the canonical tables of :func:`salesx2lib.sample.generate` into one
CRM's export layout, with its real file names, field names and formatting quirks:
:mod:`~salesx2lib.sample_crm.salesforce` (a Salesforce Data Export),
:mod:`~salesx2lib.sample_crm.hubspot` (HubSpot's deal and activity exports) and
:mod:`~salesx2lib.sample_crm.spreadsheet` (two hand-kept files: deals with owner names,
and owners with their managers and offices).
"""

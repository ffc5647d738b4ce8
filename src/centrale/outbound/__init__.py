"""Outbound campaigns: contact lists and the compliance engine.

Pure Python and sans-I/O apart from explicit load/export helpers: the dialer feeds the engine with
times and events, the engine answers with decisions it also keeps in an audit log.
"""

from centrale.outbound.abandon import AbandonRateTracker, WindowRate
from centrale.outbound.compliance import evaluate, requires_information_message
from centrale.outbound.consent import ConsentRecord, ConsentRegistry, ConsentScope, ConsentScopeKind
from centrale.outbound.contact import Contact, TimeZoneSource
from centrale.outbound.decision import Decision, RuleOutcome, Verdict
from centrale.outbound.dnc import DncEntry, DncLevel, DncScope, DoNotCallRegistry
from centrale.outbound.errors import ComplianceConfigError, ListImportError, OutboundError
from centrale.outbound.lists import ImportResult, ListImporter
from centrale.outbound.mapping import ColumnMapping
from centrale.outbound.presets import Preset, RuleSpec, builtin_presets, load_preset
from centrale.outbound.report import IssueAction, IssueCode, RowIssue, write_report
from centrale.outbound.results import ContactResult, export_results
from centrale.outbound.settings import (
    CampaignCompliance,
    CapScope,
    DialingMode,
    FrequencyCap,
    campaign_from_mapping,
    load_campaign_settings,
)
from centrale.outbound.state import CallAssessment, ComplianceState

__all__ = [
    "AbandonRateTracker",
    "CallAssessment",
    "CampaignCompliance",
    "CapScope",
    "ColumnMapping",
    "ComplianceConfigError",
    "ComplianceState",
    "ConsentRecord",
    "ConsentRegistry",
    "ConsentScope",
    "ConsentScopeKind",
    "Contact",
    "ContactResult",
    "Decision",
    "DialingMode",
    "DncEntry",
    "DncLevel",
    "DncScope",
    "DoNotCallRegistry",
    "FrequencyCap",
    "ImportResult",
    "IssueAction",
    "IssueCode",
    "ListImportError",
    "ListImporter",
    "OutboundError",
    "Preset",
    "RowIssue",
    "RuleOutcome",
    "RuleSpec",
    "TimeZoneSource",
    "Verdict",
    "WindowRate",
    "builtin_presets",
    "campaign_from_mapping",
    "evaluate",
    "export_results",
    "load_campaign_settings",
    "load_preset",
    "requires_information_message",
    "write_report",
]

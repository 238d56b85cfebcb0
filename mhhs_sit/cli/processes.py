"""The processes ``mhhs-sit new scenario`` writes a skeleton for: what starts each one, and what
the simulated roles answer it with.

Each process is the message a role under test sends and the messages it then receives, in order.
The answers are the simulator's: ``mhhs_sit/cli/answering.py`` reads which role's shipped rule
sends each one (named in the skeleton's comments), and a test runs every skeleton against the
local simulator, so a process here that the rules stop answering fails there, not in a user's run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Process:
    name: str
    title: str
    about: str  # one line for --help
    sender: str  # the role under test that starts it
    interface: str
    event: str
    answers: tuple[tuple[str, str], ...]  # (interface, event) the sender receives, in order
    simulated: tuple[str, ...]  # the roles the cohort must simulate: they answer
    theme: int
    fields: Mapping[str, str] = field(default_factory=dict)  # field name -> YAML value, over the scaffold's
    blocks: tuple[str, ...] = ()  # blocks added under custom: (YAML, one line each)
    accepted: Mapping[str, str] = field(default_factory=dict)  # the answer's field -> value that says "accepted"
    # answer interface -> the refusal (R0.responseMessages[0]) a freshly drawn MPAN gets, and why
    refused: Mapping[str, str] = field(default_factory=dict)
    refused_why: str = ""


_NO_MS = (
    "a freshly drawn MPAN has no metering service on record, so registration refuses it (REG1002) "
    "until one is appointed: appoint the metering service first (IF-031 [MSApp], answered by the "
    "metering service under test with IF-034) to see it accepted, as SITFT-05-004 does"
)
_NOT_OWNER = (
    "a freshly drawn MPAN is another supplier's until this one switches to it, so registration refuses "
    "the supplier ({code}): run a change of supplier first (the change-of-supplier process) to see it accepted"
)
_DS_NOT_APPOINTED = (
    "the data service under test is not appointed to a freshly drawn MPAN, so it is refused ({code}): "
    "appoint it first (the data-service-appointment process) to see it accepted"
)
_APPOINTMENT = "a change of service provider (CSP): registration asks the proposed service, which accepts"

PROCESSES: tuple[Process, ...] = (
    Process(
        "data-service-appointment",
        "Supplier appoints a smart data service",
        f"IF-031 [DSApp] -> IF-032, IF-035, IF-036: {_APPOINTMENT}",
        "SUP",
        "IF-031",
        "DSApp",
        (("IF-032", "DSAppInitialResp"), ("IF-035", "DSAppAccepted"), ("IF-036", "DSAppActive")),
        ("REGS", "SDS"),
        theme=3,
        fields={"supplierNominatedMDREffectiveFromDate": "null"},
        accepted={"IF-032": "R0.responseCode", "IF-035": "B007.responseCode"},
    ),
    Process(
        "metering-service-appointment",
        "Supplier appoints a smart metering service",
        f"IF-031 [MSApp] -> IF-032, IF-035, IF-036: {_APPOINTMENT}",
        "SUP",
        "IF-031",
        "MSApp",
        (("IF-032", "MSAppInitialResp"), ("IF-035", "MSAppAccepted"), ("IF-036", "MSAppActive")),
        ("REGS", "MSS"),
        theme=3,
        accepted={"IF-032": "R0.responseCode", "IF-035": "B007.responseCode"},
    ),
    Process(
        "change-of-supplier",
        "Gaining supplier appoints its metering service on a change of supplier",
        "IF-031 [MSApp] COS with the CSS registration (B013) -> IF-001 [ChangeOfSupplier], IF-002, IF-032, "
        "IF-035, IF-036",
        "SUP",
        "IF-031",
        "MSApp",
        (
            ("IF-001", "ChangeOfSupplier"),
            ("IF-002", "GainMPANInfo"),
            ("IF-032", "MSAppInitialResp"),
            ("IF-035", "MSAppAccepted"),
            ("IF-036", "MSAppActive"),
        ),
        ("REGS", "MSS"),
        theme=4,
        fields={"appointmentScenario": '"COS"'},
        blocks=('B013: {CSSRegistrationID: "CSS-{{ mpan }}"}  # the CSS registration of the switch',),
        accepted={"IF-032": "R0.responseCode", "IF-035": "B007.responseCode"},
    ),
    Process(
        "mpan-relationship",
        "Supplier relates two MPANs",
        "IF-019 [RelatedCreate] -> IF-020 [RelatedCreate]: the registration service answers, the LDSO leaves it",
        "SUP",
        "IF-019",
        "RelatedCreate",
        (("IF-020", "RelatedCreate"),),
        ("REGS",),
        theme=6,
        refused={"IF-020": "REG1060 - Supplier must have ownership of All MPANs to maintain Relationships"},
        refused_why=_NOT_OWNER.format(code="REG1060"),
    ),
    Process(
        "supplier-update",
        "Supplier updates a registration data item (SMSO)",
        "IF-025 [SMSO] -> IF-026 [SMSO]: the registration service answers and notifies",
        "SUP",
        "IF-025",
        "SMSO",
        (("IF-026", "SMSO"),),
        ("REGS",),
        theme=2,
        refused={"IF-026": "REG1021 - Requesting Supplier is not the Current Supplier"},
        refused_why=_NOT_OWNER.format(code="REG1021"),
    ),
    Process(
        "consumption-amendment",
        "Supplier asks its data service to amend consumption",
        "IF-027 [ConsumptionAmendment] -> IF-028 [ConsumptionAmendment]: the smart data service answers",
        "SUP",
        "IF-027",
        "ConsumptionAmendment",
        (("IF-028", "ConsumptionAmendment"),),
        ("SDS",),
        theme=7,
        refused={"IF-028": "RCP1062 - PUB Unexpected given MPAN Process Status/Condition"},
        refused_why=(
            "the simulated data service has no appointment for a freshly drawn MPAN, so it refuses the amendment "
            "(RCP1062): appoint it and let it send consumption first (the data-service-appointment process)"
        ),
    ),
    Process(
        "meter-installation",
        "Metering service reports a meter installed",
        "IF-005 [MeterInstall] -> IF-006 [MeterInstall]: the registration service answers (metering service "
        "under test)",
        "MSS",
        "IF-005",
        "MeterInstall",
        (("IF-006", "MeterInstall"),),
        ("REGS",),
        theme=5,
        refused={"IF-006": "REG1002 - No Valid Appointment held by Metering Service on Relevant Date"},
        refused_why=_NO_MS,
    ),
    Process(
        "energisation",
        "Metering service reports an energisation status change",
        "IF-007 [EnergisationStatusChange] -> IF-008: the registration service answers (metering service under test)",
        "MSS",
        "IF-007",
        "EnergisationStatusChange",
        (("IF-008", "EnergisationStatusChange"),),
        ("REGS",),
        theme=5,
        refused={"IF-008": "REG1002 - No Valid Appointment held by Metering Service on Relevant Date"},
        refused_why=_NO_MS,
    ),
    Process(
        "direct-contract",
        "Data service records a customer direct contract",
        "IF-038 [DirectContractDSAdd] -> IF-039: the registration service answers (data service under test)",
        "SDS",
        "IF-038",
        "DirectContractDSAdd",
        (("IF-039", "DirectContractDSAdd"),),
        ("REGS",),
        theme=2,
        refused={"IF-039": "REG1075 - Only current Service Providers can set Customer Direct Contracts"},
        refused_why=_DS_NOT_APPOINTED.format(code="REG1075"),
    ),
    Process(
        "mdr-start",
        "Data service asks a meter data retriever to start",
        "IF-061 [MDRStart] -> IF-062 [MDRStartResponse]: the meter data retriever answers (data service under test)",
        "SDS",
        "IF-061",
        "MDRStart",
        (("IF-062", "MDRStartResponse"),),
        ("MDR",),
        theme=7,
        accepted={"IF-062": "R0.responseCode"},
    ),
)

BY_NAME: Mapping[str, Process] = {p.name: p for p in PROCESSES}


def process_list() -> str:
    """The processes and what each sends and receives, for ``--help``."""
    width = max(len(p.name) for p in PROCESSES)
    return "processes:\n" + "\n".join(f"  {p.name:<{width}}  {p.about}" for p in PROCESSES)

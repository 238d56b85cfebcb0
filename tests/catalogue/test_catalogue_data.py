"""The catalogue's content: versions, interfaces, roles, routing as DOMAIN-FACTS §2 states them."""

from __future__ import annotations

import pytest

from mhhs_sit.catalogue import Catalogue, UnknownInterfaceError
from mhhs_sit.errors import ConfigError

# Every IF / REP of DOMAIN-FACTS §2 and §2.1 with a payload schema (IF-030 and IF-042 have none).
DOMAIN_FACTS_IDS = [
    *(f"IF-{n:03d}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23)),
    *(f"IF-{n:03d}" for n in (24, 25, 26, 27, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41)),
    *(f"IF-{n:03d}" for n in (43, 44, 45, 47, 50, 51, 61, 62, 63, 64, 65)),
    *("REP-002", "REP-002A", "REP-002B", "REP-003", "REP-003A", "REP-004", "REP-006", "REP-007"),
    *("REP-008", "REP-009", "REP-900", "REP-901"),
]


def test_every_interface_of_the_domain_facts_is_catalogued(cat: Catalogue) -> None:
    assert sorted(i.id for i in cat.interfaces) == sorted(DOMAIN_FACTS_IDS)


def test_versions_are_canonical_oldest_first_with_the_newest_as_default(cat: Catalogue) -> None:
    assert cat.versions == ("1.8.0", "1.8.2", "2.1.0")
    assert cat.default_version == "2.1.0"
    assert cat.version("IR8").aliases == ("IR8",)
    assert cat.version("2.1.0").source == "published"


def test_the_versions_read_alone_are_the_catalogues(cat: Catalogue) -> None:
    """`--ir` is resolved from versions.yaml alone; it must say what the whole catalogue says."""
    from mhhs_sit.catalogue.versions import shipped_versions

    alone = shipped_versions()
    assert [cat.version(n) for n in cat.versions] == list(alone.versions)
    assert alone.default == cat.default_version
    assert alone.resolve("IR 8.2") == cat.resolve_version("IR 8.2") == "1.8.2"


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("IR8", "1.8.0"),
        ("ir8", "1.8.0"),
        ("1.8", "1.8.0"),
        ("IR8.2", "1.8.2"),
        ("IR 8.2", "1.8.2"),
        ("1.8.2", "1.8.2"),
        ("2.1.0", "2.1.0"),
        ("v2.1.0", "2.1.0"),
        ("2.1", "2.1.0"),
    ],
)
def test_a_version_is_named_by_interim_release_or_spec_version(cat: Catalogue, name: str, canonical: str) -> None:
    assert cat.resolve_version(name) == canonical


def test_an_unknown_version_is_refused_with_the_known_ones_listed(cat: Catalogue) -> None:
    with pytest.raises(ConfigError) as caught:
        cat.resolve_version("IR9")
    assert str(caught.value) == ("unknown catalogue version 'IR9'; known versions: 1.8.0 (IR8), 1.8.2 (IR8.2), 2.1.0")


@pytest.mark.parametrize(
    ("iid", "senders", "recipients", "events"),
    [
        ("IF-001", {"REGS"}, {"SUP", "MDS", "LDSO"}, ("InitialRegistration", "ChangeOfSupplier")),
        (
            "IF-019",
            {"SUP"},
            {"REGS", "LDSO"},
            (
                "LinkedImportExportCreate",
                "LinkedImportExportAdd",
                "LinkedImportExportRemove",
                "RelatedCreate",
                "RelatedAdd",
                "RelatedRemove",
            ),
        ),
        (
            "IF-021",
            {"SDS", "ADS", "UMSDS"},
            {"LSS", "MDS", "LDSO", "SUP"},
            ("ActivePower", "ReactivePower"),
        ),
        ("IF-031", {"SUP"}, {"REGS"}, ("MSApp", "DSApp")),
        ("IF-032", {"REGS"}, {"SUP"}, ("MSAppInitialResp", "DSAppInitialResp")),
        (
            "IF-033",
            {"REGS"},
            {"ADS", "SDS", "UMSDS", "MSA", "MSS", "UMSO"},
            ("MSAppSPRequest", "DSAppSPRequest"),
        ),
        (
            "IF-034",
            {"ADS", "SDS", "UMSDS", "MSA", "MSS", "UMSO"},
            {"REGS"},
            ("MSAppSPResponse", "DSAppSPResponse", "SDS-MDRUpdate"),
        ),
        (
            "IF-036",
            {"REGS"},
            {"SUP", "ADS", "SDS", "UMSDS", "MSA", "MSS", "UMSO", "LDSO", "MDS", "EES"},
            ("MSAppActive", "DSAppActive"),
        ),
        ("IF-043", {"REGS"}, {"DCC"}, ("ConnectionTypeChange",)),
        (
            "IF-065",
            {"MDR", "SDS"},
            {"SDS", "MDR"},
            ("ReadingRemote", "MDRInstantaneous", "MDRTOU", "MDRConsumption"),
        ),
        (
            "REP-901",
            {"ECS"},
            {"SUP", "LDSO"},
            ("DUoSEmbeddedLDSOAggInvData", "DUoSSupplierAggInvData"),
        ),
    ],
)
def test_senders_recipients_and_event_codes_match_the_domain_facts(
    cat: Catalogue, iid: str, senders: set[str], recipients: set[str], events: tuple[str, ...]
) -> None:
    interface = cat.interface(iid)
    assert interface.senders == senders
    assert interface.recipients == recipients
    assert interface.event_codes("2.1.0") == events


def test_an_interface_carries_its_publication_schema_version_and_source(cat: Catalogue) -> None:
    if031 = cat.interface("IF-031")
    assert (if031.publication_id, if031.schema_version, if031.source, if031.detail) == (
        "PUB-031",
        "011",
        "published",
        "full",
    )
    assert if031.name == "Supplier Service Provider Appointment Request"
    assert if031.routing == frozenset({"mpan"}) and if031.always == frozenset()
    assert cat.interface("IF-051").schema_version == "001"
    assert cat.interface("REP-002A").schema_version == "008"
    assert cat.interface("REP-002A").publication_id == "REP-002A"
    assert cat.interface("IF-051").source == "modelled"


def test_every_interface_and_report_is_modelled_in_full(cat: Catalogue) -> None:
    for interface in cat.interfaces:
        assert interface.detail == "full", interface.id
        for code in interface.event_codes("2.1.0"):
            schema = cat.schema(interface.id, code, version="2.1.0")
            custom = schema["properties"].get("CustomBlock")
            if interface.has_custom_block(code):
                assert custom is not None and custom.get("x-detail") != "envelope-only", (interface.id, code)
            else:
                assert custom is None and schema["required"] == ["CommonBlock"], (interface.id, code)


def test_the_event_codes_that_carry_no_custom_block(cat: Catalogue) -> None:
    without = {(i.id, code) for i in cat.interfaces for code in i.event_codes("2.1.0") if not i.has_custom_block(code)}
    assert without == {
        ("IF-015", "ConsumptionReplay"),
        ("IF-016", "ConsumptionRequestRejected"),
        ("IF-038", "DirectContractMSRemove"),
        ("IF-038", "DirectContractDSRemove"),
        ("IF-039", "DirectContractMSRemove"),
        ("IF-039", "DirectContractDSRemove"),
    }


def test_interface_ids_are_looked_up_forgivingly(cat: Catalogue) -> None:
    assert cat.interface("if-31").id == "IF-031"
    assert cat.interface("PUB-031").id == "IF-031"
    assert cat.interface("rep-2a").id == "REP-002A"


def test_an_unknown_interface_is_a_key_error_with_a_suggestion(cat: Catalogue) -> None:
    with pytest.raises(KeyError) as caught:
        cat.interface("IF-310")
    assert isinstance(caught.value, UnknownInterfaceError)
    assert "did you mean" in str(caught.value) and "IF-031" in str(caught.value)


def test_interfaces_list_the_versions_they_exist_in(cat: Catalogue) -> None:
    assert cat.interface("IF-031").versions == ("1.8.0", "1.8.2", "2.1.0")
    assert cat.interface("IF-051").versions == ("2.1.0",)
    assert cat.interface("IF-051").event_codes("IR8.2") == ()
    assert cat.interface("IF-003").event_codes("IR8") == (
        "MSDeAppRM",
        "DSDeAppRM",
        "ReverseMigNotification",
        "DSDeAppUpdateRM",
        "MSDeAppUpdateRM",
    )


def test_routing_is_consistent_for_every_interface(cat: Catalogue) -> None:
    for interface in cat.interfaces:
        assert interface.routing <= {"role", "mpan", "always"}, interface.id
        assert ("always" in interface.routing) == bool(interface.always), interface.id
        assert interface.always <= interface.recipients, interface.id
        assert (interface.senders | interface.recipients) <= set(cat.roles), interface.id


def test_roles_say_how_sure_the_code_is(cat: Catalogue) -> None:
    assert cat.roles["SUP"].evidence == "published"
    assert cat.roles["UMSDS"].evidence == "third-party"
    assert cat.roles["DIP"].evidence == "modelled"

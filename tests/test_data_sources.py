"""The DataSource registry: one declaration per survey, everything else derived."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from bhtom2.data_sources import (
    FILTERS,
    PRETTY_SURVEY_NAME,
    TARGET_NAME_KEYS,
    DataSource,
    UnknownDataSource,
    get_data_source,
    get_pretty_survey_name,
)

ORIGINAL_BHTOM_SOURCES = ["GAIA", "ZTF", "CPCS", "AAVSO", "TNS", "ASASSN", "ANTARES", "GAIA_DR2", "ZTF_DR8",
                          "GAIA_DR3"]


def test_every_original_source_is_a_member():
    assert set(ORIGINAL_BHTOM_SOURCES) <= set(DataSource.__members__)


def test_derived_mappings_come_from_the_one_declaration():
    for source in DataSource:
        assert PRETTY_SURVEY_NAME[source] == source.pretty_name == get_pretty_survey_name(source.name)
        assert TARGET_NAME_KEYS[source.name] == source.target_name_label
        assert FILTERS[source] == [f"{band}({source.pretty_name})" for band in source.spec.bands]
    assert FILTERS["GAIA_DR3"] == ["G(Gaia DR3)", "BP(Gaia DR3)", "RP(Gaia DR3)"]
    assert DataSource.GAIA.filter_name("G") == "G(Gaia)"


def test_ztf_dr_band_names_do_not_depend_on_the_release_setting(settings):
    for release in ("dr19", "dr24"):
        settings.BHTOM_ZTF_DATA_RELEASE = release
        assert get_pretty_survey_name("ZTF_DR8") == "ZTF DR"
        assert DataSource.ZTF_DR8.filter_name("g") == "g(ZTF DR)"


@pytest.mark.parametrize("name", ["NOPE", "", "gaia dr4"])
def test_unknown_names_are_clear_errors_not_defaults(name):
    with pytest.raises(UnknownDataSource, match="Unknown data source"):
        get_data_source(name)
    assert name not in PRETTY_SURVEY_NAME


def test_lookup_is_case_insensitive():
    assert get_data_source("gaia_dr3") is DataSource.GAIA_DR3


@pytest.mark.parametrize(
    "source, value, expected",
    [
        ("GAIA", "Gaia16aye", "Gaia16aye"),
        ("GAIA", "gaia16AYE", "Gaia16aye"),
        ("GAIA_DR3", " 4583627001381815936 ", "4583627001381815936"),
        ("ZTF", "ztf18ABCDEFG", "ZTF18abcdefg"),
        ("TNS", "AT 2021abc", "2021abc"),
        ("TNS", "SN2021abc", "2021abc"),
        ("AAVSO", "V* RS Oph", "V* RS Oph"),
        ("OGLE_EWS", "ogle-2023-blg-0123", "OGLE-2023-BLG-0123"),
        ("KMT_NET", "KMT-2016-BLG-1533", "KMT-2016-BLG-1533"),
    ],
)
def test_valid_survey_names_are_normalised(source, value, expected):
    assert get_data_source(source).validate_name(value) == expected


@pytest.mark.parametrize(
    "source, value",
    [
        ("GAIA_DR3", "1 OR 1=1"),
        ("GAIA_DR3", "12345678901234567890"),  # beyond a 64-bit source_id
        ("GAIA_DR3", "-5"),
        ("GAIA", "../etc/passwd"),
        ("GAIA", "Gaia16aye%0d%0aX-Injected: 1"),
        ("GAIA", "Gaia16aye\r\nHost: evil"),
        ("ZTF", "ZTF18abc"),
        ("AAVSO", "RS Oph/../../admin"),
        ("AAVSO", "RS Oph&view=api.object"),
        ("AAVSO", "x" * 65),
        ("TNS", "2021"),
        ("GAIA", ""),
        ("GAIA", "G" * 10000),
    ],
)
def test_invalid_survey_names_are_rejected_with_a_clear_message(source, value):
    with pytest.raises(ValidationError) as error:
        get_data_source(source).validate_name(value)
    assert get_data_source(source).target_name_label in error.value.messages[0]


def test_object_links_quote_the_name():
    assert DataSource.GAIA.object_url("Gaia16aye") == "https://gsaweb.ast.cam.ac.uk/alerts/alert/Gaia16aye/"
    assert DataSource.AAVSO.object_url("V* RS Oph").endswith("ident=V%2A%20RS%20Oph")
    assert DataSource.GAIA_DR3.object_url("1") is None

"""The curated lexicon: file integrity, identifiers in the agreed forms, and the lookup API."""

from __future__ import annotations

import re

import pytest

from kb.lexicon import KINDS, Lexicon, LexiconEntry, lexicon_from_json, load_lexicon

CURIE = re.compile(r"^(DrugBank:DB\d{5}|NCIT:C\d+|ATC:[A-Z]\d\d[A-Z]{2}\d\d|HGNC:\d+|UniProt:[A-Z0-9]{6}|MONDO:\d{7}|"
                   r"ROR:0[a-z0-9]{8}|ISSN:\d{4}-\d{3}[\dX]|EFO:\d{7}|DOID:\d+|MESH:D\d{6})$")  # fmt: skip
IRI = re.compile(r"^(http://www\.wikidata\.org/entity/Q\d+|https://go\.drugbank\.com/drugs/DB\d{5}|"
                 r"http://purl\.obolibrary\.org/obo/(NCIT_C\d+|MONDO_\d{7})|https://ror\.org/0[a-z0-9]{8}|"
                 r"http://purl\.uniprot\.org/uniprot/[A-Z0-9]{6}|https://identifiers\.org/hgnc:\d+)$")  # fmt: skip


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_lexicon()


def test_entries_are_well_formed(lexicon: Lexicon) -> None:
    entries = lexicon.entries()
    assert len(entries) > 100
    for entry in entries:
        assert entry.kind in KINDS and re.fullmatch(r"[a-z0-9-]+", entry.key), entry
        assert all(CURIE.match(x) for x in entry.xrefs), entry.xrefs
        assert all(IRI.match(x) for x in entry.exact_match), entry.exact_match
        for key in entry.drug_class:
            assert lexicon.get("DrugClass", key) is not None, (entry.key, key)
        for key in entry.targets:
            assert lexicon.get("MolecularTarget", key) is not None, (entry.key, key)
        if entry.broader:
            assert lexicon.get(entry.kind, entry.broader) is not None


def test_verified_identifiers_from_the_design(lexicon: Lexicon) -> None:
    def xrefs(kind: str, key: str) -> set[str]:
        entry = lexicon.get(kind, key)
        assert entry is not None, key
        return set(entry.xrefs) | set(entry.exact_match)

    assert {
        "DrugBank:DB05889",
        "NCIT:C71542",
        "ATC:L01FB01",
        "http://www.wikidata.org/entity/Q3799041",
    } <= xrefs("Drug", "inotuzumab-ozogamicin")
    assert {"DrugBank:DB09052", "NCIT:C62528", "ATC:L01FX07"} <= xrefs("Drug", "blinatumomab")
    assert {"HGNC:1643", "UniProt:P20273"} <= xrefs("MolecularTarget", "cd22")
    assert {"HGNC:1633", "UniProt:P15391"} <= xrefs("MolecularTarget", "cd19")
    assert {"HGNC:1674", "UniProt:P07766"} <= xrefs("MolecularTarget", "cd3e")
    assert {"MONDO:0004947", "NCIT:C8936", "EFO:0000094", "DOID:0080630", "MESH:D015452"} <= xrefs(
        "Disease", "b-cell-acute-lymphoblastic-leukemia"
    )
    assert {"MONDO:0009693", "MESH:D009101"} <= xrefs("Disease", "multiple-myeloma")
    assert {"MONDO:0007254", "MESH:D001943"} <= xrefs("Disease", "breast-cancer")
    assert "NCIT:C4870" in xrefs("Endpoint", "complete-remission")
    assert "NCIT:C125201" in xrefs("Endpoint", "overall-survival")
    assert {"ROR:040gcmg81", "http://www.wikidata.org/entity/Q664846"} <= xrefs(
        "Organization", "national-cancer-institute"
    )
    assert {"ROR:01xdqrp08", "http://www.wikidata.org/entity/Q206921"} <= xrefs("Organization", "pfizer")
    assert "ROR:0207ad724" in xrefs("Organization", "wake-forest-university-school-of-medicine")
    assert {"ISSN:0732-183X", "ISSN:1527-7755"} <= xrefs("Journal", "journal-of-clinical-oncology")


def test_match_name_for_registry_intervention_names(lexicon: Lexicon) -> None:
    assert lexicon.match_name("Drug", "Blinatumomab") == lexicon.get("Drug", "blinatumomab")
    assert lexicon.match_name("Drug", "Inotuzumab Ozogamicin") == lexicon.get("Drug", "inotuzumab-ozogamicin")
    assert lexicon.match_name("Drug", "KTE-X19") == lexicon.get("Drug", "brexucabtagene-autoleucel")
    assert lexicon.match_name("Organization", "Wake Forest School of Medicine") == lexicon.get(
        "Organization", "wake-forest-university-school-of-medicine"
    )
    assert lexicon.match_name("Journal", "The New England Journal of Medicine") is not None
    assert lexicon.match_name("Drug", "vericiguat") is None
    assert lexicon.match_name("Drug", "Amgen") is None


def test_find_all_longest_match_case_and_hyphens(lexicon: Lexicon) -> None:
    text = "Adults with B cell acute lymphoblastic leukaemia (ALL) got blinatumomab; all were CD19 positive."
    found = [(m.entry.key, m.surface) for m in lexicon.find_all(text)]
    assert ("b-cell-acute-lymphoblastic-leukemia", "B cell acute lymphoblastic leukaemia") in found
    assert ("acute-lymphoblastic-leukemia", "ALL") in found
    assert not any(surface == "all" for _, surface in found)
    assert ("blinatumomab", "blinatumomab") in found and ("cd19", "CD19") in found
    for match in lexicon.find_all(text):
        assert text[match.start : match.end] == match.surface


def test_fuzzy_tolerates_small_typos(lexicon: Lexicon) -> None:
    assert lexicon.fuzzy("blinatumomabb") == lexicon.get("Drug", "blinatumomab")
    assert lexicon.fuzzy("inotuzumab ozogamycin", "Drug") == lexicon.get("Drug", "inotuzumab-ozogamicin")
    assert lexicon.fuzzy("completely different") is None


def test_load_is_cached_and_json_loader_validates() -> None:
    assert load_lexicon() is load_lexicon()
    small = lexicon_from_json('{"entries": [{"kind": "Drug", "key": "x", "label": "Xumab"}]}')
    assert small.entries() == [LexiconEntry("Drug", "x", "Xumab")]
    with pytest.raises(ValueError):
        lexicon_from_json('{"entries": [{"kind": "Gene", "key": "x", "label": "X"}]}')

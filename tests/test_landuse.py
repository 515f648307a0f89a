"""The national land-use code tables (issue 15): the classes the issue names, complete levels, a use for each."""

from __future__ import annotations

import pytest

from nbgeo.landuse import TABLES, code_text


def test_the_code_tables_hold_the_issue_classes():
    new, old = TABLES["gb_land_use_2023"], TABLES["gb_t_21010_2017"]
    assert new.codes["1001"] == "工业用地" and new.codes["1101"] == "物流仓储用地"
    assert [new.codes[c] for c in ("100101", "100102", "100103")] == ["一类工业用地", "二类工业用地", "三类工业用地"]
    assert old.codes["0601"] == "工业用地" and old.codes["1001"] == "铁路用地"
    assert [new.use_of(c) for c in ("1001", "100103", "1002", "110102", "0901", "0804", "1207")] == [
        "industrial", "industrial", "other", "logistics", "commercial", "public", "other"]
    assert [old.use_of(c) for c in ("0601", "0604", "1001", "0505", "0702")] == [
        "industrial", "logistics", "other", "commercial", "residential"]
    assert sum(len(c) == 4 for c in old.codes) == 73 and sum(len(c) == 2 for c in old.codes) == 12
    assert sum(len(c) == 2 for c in new.codes) == 24
    for table in (new, old):
        assert all(len(code) in (2, 4, 6) and code.isdigit() for code in table.codes)
        assert all(code[:-2] in table.codes for code in table.codes if len(code) > 2)  # every class has its parent
        assert table.source and ("2023" in table.source or "21010-2017" in table.source)


@pytest.mark.parametrize(("value", "text"), [(601, "0601"), (601.0, "0601"), ("601", "0601"), (70101, "070101"),
                                             ("1001", "1001"), (" 工业用地 ", "工业用地"), (1.5, "1.5")])
def test_codes_stored_as_numbers_get_their_leading_zero_back(value, text):
    assert code_text(value) == text


def test_a_name_reads_as_its_class():
    assert TABLES["gb_land_use_2023"].use_of("物流仓储用地") == "logistics"
    assert TABLES["gb_t_21010_2017"].use_of("仓储用地") == "logistics"
    assert TABLES["gb_land_use_2023"].use_of("不存在的地类") is None

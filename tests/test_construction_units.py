"""The shipped registry of construction units (config/construction-units.toml) and the licence
classes' voltage limits the registry holds it to."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpmn_service.registry import ConstructionUnitRegistry
from conftest import ROOT

SHIPPED = ConstructionUnitRegistry.load(ROOT / "config" / "construction-units.toml")


@pytest.mark.parametrize("voltage", ["220V", "380V", "10kV", "20kV", "35kV", "110kV"])
def test_every_voltage_a_form_offers_gets_three_units(voltage: str) -> None:
    """The streamlined process promises at least three recommended units; at 110 kV the file
    held 三级 units to 35 kV (the licence allows 110), and only two were left."""
    assert len(SHIPPED.recommend("YK-2026-000001", voltage, 3)) == 3


def test_a_unit_above_its_licence_class_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "units.toml"
    path.write_text(
        '[[units]]\nname = "甲"\nlicense_no = "1"\nlicense_class = "承装四级"\n'
        "max_voltage_kv = 110\n",
        encoding="utf-8",
    )
    with pytest.raises(
        ValueError,
        match=r"unit #1 \(甲\): max_voltage_kv 110 is above what 承装四级 allows \(35 kV\)",
    ):
        ConstructionUnitRegistry.load(path)
    path.write_text(path.read_text(encoding="utf-8").replace("110", "10"), encoding="utf-8")
    assert len(ConstructionUnitRegistry.load(path).recommend("K", "10kV")) == 1

"""SLA limit tables: config/time-limits.toml and bpmn_service.timelimits."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from bpmn_service.timelimits import CATEGORIES, Regime, TimeLimits
from bpmn_service.workcalendar import WorkCalendar

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2025, 6, 1)

# Expected tables, copied from the domain research (§7.5, §8.7, §8.4, §8.5); None = no limit.
Row = tuple[int | None, int | None, int | None, int | None]

CURRENT: dict[str, Row] = {  # SERC2009, 《供电监管办法》 2009
    "A-T-SCHEME": (3, 8, 20, 45),
    "A-T-DESIGN": (None, 8, 20, 20),
    "A-T-MID": (None, 3, 5, 5),
    "A-T-COMPL": (None, 5, 7, 7),
    "A-T-METER": (3, 5, 7, 7),
}
STREAMLINED: dict[str, Row] = {  # TOBE_TARGET
    "B-T-PLAN": (1, 2, 10, 20),
    "B-T-DESIGN": (None, None, 5, 5),
    "B-T-MID": (None, None, 2, 2),
    "B-T-COSIGN": (1, 1, 3, 3),
    "B-T-SIGN": (2, 2, 2, 2),
    "B-T-ENERGISE": (1, 1, 1, 1),
    "B-T-UTILITY-TOTAL": (3, 15, 20, 30),
    "CF-T-CONTACT": (1, 1, 1, 1),
    "CF-T-HANDLE": (3, 3, 3, 3),
    "CF-T-RESOLVE": (5, 5, 5, 5),
}
COMPLAINT = {key: STREAMLINED[key] for key in ("CF-T-CONTACT", "CF-T-HANDLE", "CF-T-RESOLVE")}


@pytest.fixture(scope="module")
def limits() -> TimeLimits:
    return TimeLimits.load(ROOT / "config" / "time-limits.toml")


def cases(process_key: str, table: dict[str, Row]) -> list[object]:
    return [
        pytest.param(
            process_key, limit_id, category, days, id=f"{process_key}-{limit_id}-{category}"
        )
        for limit_id, row in table.items()
        for category, days in zip(CATEGORIES, row, strict=True)
    ]


@pytest.mark.parametrize(
    ("process_key", "limit_id", "category", "days"),
    cases("yekuo_current", CURRENT)
    + cases("yekuo_streamlined", STREAMLINED)
    + cases("complaint_fast_track", COMPLAINT),
)
def test_every_limit_of_every_category(
    limits: TimeLimits, process_key: str, limit_id: str, category: str, days: int | None
) -> None:
    assert limits.limit(process_key, limit_id, category, at=TODAY) == days


def test_missing_category_is_none_not_zero(limits: TimeLimits) -> None:
    assert limits.limit("yekuo_current", "A-T-DESIGN", "RES", at=TODAY) is None
    assert limits.limit("yekuo_streamlined", "B-T-DESIGN", "LV", at=TODAY) is None
    value = limits.limit("yekuo_current", "A-T-SCHEME", "HV_D", at=TODAY)
    assert isinstance(value, float) and value == 45.0


def test_limit_ids_in_file_order(limits: TimeLimits) -> None:
    assert limits.limit_ids("yekuo_current", at=TODAY) == tuple(CURRENT)
    assert limits.limit_ids("yekuo_streamlined", at=TODAY) == tuple(STREAMLINED)
    assert set(COMPLAINT) <= set(limits.limit_ids("complaint_fast_track", at=TODAY))
    assert limits.process_keys() == ("yekuo_current", "yekuo_streamlined", "complaint_fast_track")


def test_regimes_carry_version_date_and_source(limits: TimeLimits) -> None:
    current = limits.regime_of("yekuo_current", at=TODAY)
    assert isinstance(current, Regime)
    assert (current.name, current.version, current.effective_from) == (
        "SERC2009",
        "2009",
        date(2010, 1, 1),
    )
    assert "供电监管办法" in current.source
    streamlined = limits.regime_of("yekuo_streamlined", at=TODAY)
    assert streamlined.name == "TOBE_TARGET" and streamlined.source
    assert limits.regime_of("complaint_fast_track", at=TODAY) == streamlined
    assert limits.regime_of("yekuo_current") == current  # default: in force today


def test_state_grid_commitments_as_alternative_benchmark(limits: TimeLimits) -> None:
    sg = limits.regime("SG_COMMIT", at=TODAY)
    assert [sg.limit("A-T-SCHEME", c) for c in CATEGORIES] == [3, 7, 15, 30]
    assert [sg.limit("A-T-METER", c) for c in CATEGORIES] == [3, 5, 5, 5]
    assert sg.limit("A-T-DESIGN", "LV") is None
    assert sg.limit("CF-T-CONTACT", "RES") == 1
    assert sg.limit("CF-T-RESOLVE", "HV_D") == 7


def test_unknown_process_key(limits: TimeLimits) -> None:
    with pytest.raises(ValueError, match="unknown process key 'yekuo_future'"):
        limits.limit("yekuo_future", "A-T-SCHEME", "LV")
    with pytest.raises(ValueError, match="unknown process key"):
        limits.regime_of("nope")
    with pytest.raises(ValueError, match="unknown process key"):
        limits.limit_ids("nope")


def test_unknown_limit_id_or_category_is_an_error_not_none(limits: TimeLimits) -> None:
    with pytest.raises(ValueError, match="no limit id 'B-T-PLAN'"):
        limits.limit("yekuo_current", "B-T-PLAN", "LV", at=TODAY)
    with pytest.raises(ValueError, match="unknown customer category 'HV'"):
        limits.limit("yekuo_current", "A-T-SCHEME", "HV", at=TODAY)


def test_limits_feed_the_calendar(limits: TimeLimits) -> None:
    calendar = WorkCalendar.load(ROOT / "config" / "calendar.toml")
    accepted = datetime.fromisoformat("2025-09-26T10:00:00+08:00")
    days = limits.limit("yekuo_current", "A-T-SCHEME", "LV", at=accepted.date())
    assert days == 8
    due = calendar.add_working_days(accepted, days)
    assert due == datetime.fromisoformat("2025-10-15T00:00:00+08:00")  # 国庆 10/1–10/8 skipped
    warn = calendar.add_working_days(accepted, 0.8 * days)
    assert warn == datetime.fromisoformat("2025-10-13T09:36:00+08:00")


# -- versions ---------------------------------------------------------------------------------

REGIME = """
[[regimes]]
name = "SERC2009"
version = "{version}"
effective_from = {effective_from}
source = "test {version}"
[regimes.limits]
A-T-SCHEME = {{ RES = {res}, LV = 8 }}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "time-limits.toml"
    path.write_text(text, encoding="utf-8")
    return path


def versioned(tmp_path: Path, *versions: tuple[str, str, float]) -> Path:
    body = '[processes]\nyekuo_current = "SERC2009"\n'
    for version, effective_from, res in versions:
        body += REGIME.format(version=version, effective_from=effective_from, res=res)
    return write(tmp_path, body)


def test_at_selects_the_newest_version_in_force(tmp_path: Path) -> None:
    limits = TimeLimits.load(
        versioned(
            tmp_path,
            ("2024", "2024-03-01", 2),  # listed out of order on purpose
            ("2009", "2010-01-01", 3),
            ("2999", "2999-01-01", 1),
        )
    )
    assert limits.limit("yekuo_current", "A-T-SCHEME", "RES", at=date(2015, 1, 1)) == 3
    assert limits.limit("yekuo_current", "A-T-SCHEME", "RES", at=date(2024, 2, 29)) == 3
    assert limits.limit("yekuo_current", "A-T-SCHEME", "RES", at=date(2024, 3, 1)) == 2
    assert limits.regime_of("yekuo_current").version == "2024"  # today: 2999 not yet in force
    assert limits.regime_of("yekuo_current", at=date(2999, 6, 1)).version == "2999"
    with pytest.raises(ValueError, match="no version in force on 2009-12-31"):
        limits.regime_of("yekuo_current", at=date(2009, 12, 31))


def test_two_versions_on_the_same_day_are_refused(tmp_path: Path) -> None:
    path = versioned(tmp_path, ("a", "2010-01-01", 3), ("b", "2010-01-01", 2))
    with pytest.raises(ValueError, match="same effective_from 2010-01-01"):
        TimeLimits.load(path)
    path = versioned(tmp_path, ("a", "2010-01-01", 3), ("a", "2011-01-01", 2))
    with pytest.raises(ValueError, match="SERC2009 va is defined twice"):
        TimeLimits.load(path)


# -- validation -------------------------------------------------------------------------------

GOOD = {
    "processes": '[processes]\nyekuo_current = "SERC2009"\n',
    "head": '[[regimes]]\nname = "SERC2009"\nversion = "2009"\n',
    "date": "effective_from = 2010-01-01\n",
    "source": 'source = "test"\n',
    "limits": "[regimes.limits]\nA-T-SCHEME = { RES = 3, LV = 8 }\n",
}


def variant(**parts: str) -> str:
    return "".join(parts.get(key, text) for key, text in GOOD.items())


def test_the_good_variant_loads(tmp_path: Path) -> None:
    limits = TimeLimits.load(write(tmp_path, variant()))
    assert limits.limit("yekuo_current", "A-T-SCHEME", "LV", at=TODAY) == 8


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        (
            {"processes": '[processes]\nyekuo_current = "SERC2010"\n'},
            r"processes.yekuo_current = 'SERC2010' names no regime",
        ),
        ({"processes": ""}, r"\[processes\] is missing"),
        (
            {"limits": "[regimes.limits]\nA-T-SCHEME = { RES = 3, MV = 8 }\n"},
            r"regimes\[0\] \(SERC2009\).limits.A-T-SCHEME.MV: unknown category",
        ),
        (
            {"limits": "[regimes.limits]\nA-T-SCHEME = { RES = 0 }\n"},
            r"A-T-SCHEME.RES = 0 must be a number of days > 0",
        ),
        (
            {"limits": "[regimes.limits]\nA-T-SCHEME = { RES = true }\n"},
            r"A-T-SCHEME.RES = True must be a number",
        ),
        (
            {"limits": '[regimes.limits]\nA-T-SCHEME = { RES = "3" }\n'},
            r"A-T-SCHEME.RES = '3' must be a number",
        ),
        ({"limits": "[regimes.limits]\nA-T-SCHEME = 3\n"}, r"limits.A-T-SCHEME must be a table"),
        ({"limits": "[regimes.limits]\n"}, r"regimes\[0\] \(SERC2009\).limits must be a non-empty"),
        ({"date": 'effective_from = "2010-13-01"\n'}, r"effective_from = '2010-13-01' must be"),
        ({"source": ""}, r"regimes\[0\] \(SERC2009\): missing key\(s\) \['source'\]"),
        ({"source": 'source = ""\n'}, r"source must be a non-empty string"),
        (
            {"head": '[[regimes]]\nname = "SERC2009"\nversion = 2009\n'},
            r"regimes\[0\] \(SERC2009\).version must be a non-empty string",
        ),
        (
            {"head": '[[regimes]]\nname = "serc"\nversion = "1"\n'},
            r"regimes\[0\] \(serc\).name = 'serc' must be UPPER_SNAKE",
        ),
        (
            {"source": 'source = "x"\nsauce = "y"\n'},
            r"regimes\[0\] \(SERC2009\): unknown key\(s\) \['sauce'\]",
        ),
        ({"head": "", "date": "", "source": "", "limits": ""}, r"no \[\[regimes\]\] defined"),
        ({"limits": "[regimes.limits]\nA-T-SCHEME = { RES = 3 \n"}, r"not valid TOML"),
    ],
)
def test_bad_files_are_refused(tmp_path: Path, parts: dict[str, str], message: str) -> None:
    path = write(tmp_path, variant(**parts))
    with pytest.raises(ValueError, match=message) as info:
        TimeLimits.load(path)
    assert str(path) in str(info.value)


def test_rows_name_the_limit_its_escalation_and_its_reminder(limits: TimeLimits) -> None:
    current = limits.regime_of("yekuo_current", at=TODAY)
    assert current.name_of("A-T-SCHEME") == "供电方案答复"
    assert current.escalate_to("A-T-MID") == ("leadership",)  # the regime's escalate_to
    assert current.warn_share("A-T-MID") == 0.8
    streamlined = limits.regime_of("yekuo_streamlined", at=TODAY)
    assert streamlined.escalate_to("B-T-PLAN") == ("service_center",)
    assert streamlined.escalate_to("B-T-SIGN") == ("leadership",)  # the row overrides it
    assert streamlined.warn_share("B-T-SIGN") == 0.5


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ('{ RES = 3, name = "" }', r"A-T-SCHEME.name must be a non-empty string"),
        ('{ RES = 3, escalate_to = "leadership" }', r"A-T-SCHEME.escalate_to = 'leadership'"),
        ("{ RES = 3, warn = 1.5 }", r"A-T-SCHEME.warn = 1.5 must be a share between 0 and 1"),
        ('{ name = "方案答复" }', r"limits.A-T-SCHEME must be a table like"),
    ],
)
def test_bad_row_keys_are_refused(tmp_path: Path, row: str, message: str) -> None:
    path = write(tmp_path, variant(limits=f"[regimes.limits]\nA-T-SCHEME = {row}\n"))
    with pytest.raises(ValueError, match=message):
        TimeLimits.load(path)


def test_fractional_limits_are_allowed(tmp_path: Path) -> None:
    text = variant(limits="[regimes.limits]\nX-T-HALF = { RES = 0.5 }\n")
    limits = TimeLimits.load(write(tmp_path, text))
    assert limits.limit("yekuo_current", "X-T-HALF", "RES", at=TODAY) == 0.5
    assert limits.limit("yekuo_current", "X-T-HALF", "LV", at=TODAY) is None

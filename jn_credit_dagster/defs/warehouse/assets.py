"""The warehouse's reference tables (issue 4): the calendar of working days, the units, the districts.

Not partitioned: each is the whole table, rebuilt in one transaction whenever it is materialized, so
the monthly job refreshes them along with the month it runs.
"""


import datetime as dt
import hashlib

import dagster as dg
from psycopg2 import sql
from psycopg2.extras import execute_values

from jn_credit_dagster.defs import partitions
from jn_credit_dagster.lib.warehouse import calendar
from jn_credit_dagster.lib.common.present import markdown_table
from jn_credit_dagster.lib.common.city import TIMEZONE, district_rows, unit_rows
from jn_credit_dagster.defs.resources import DB_RETRY, WAREHOUSE_POOL, Warehouse
from jn_credit_dagster.defs.failures import asset_failures

CALENDAR_KEY = dg.AssetKey(["wh", "calendar"])
UNITS_KEY = dg.AssetKey(["wh", "units"])
DISTRICTS_KEY = dg.AssetKey(["wh", "districts"])
GROUP = "warehouse"


def _years(partitions_def: dg.MonthlyPartitionsDefinition) -> tuple[range, range]:
    """(years built, years the partitions need): the partitions' years, and one more on each side
    for built, so a decision of the year before the first month still counts its working days."""
    first = partitions.month_of(partitions_def.get_first_partition_key()).year
    last = partitions.month_of(partitions_def.get_last_partition_key()).year
    current = dt.datetime.now(TIMEZONE).year
    return range(first - 1, max(current, last) + 2), range(first, last + 1)


def _schema(*columns: tuple[str, str, str]) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name, type_, description=text) for name, type_, text in columns])


def rows_version(rows: list[tuple]) -> dg.DataVersion:
    """A data version from the rows themselves: rebuilding a reference table with the same rows (every run
    does) leaves the months that read it fresh in the UI; a changed holiday table marks them stale."""
    return dg.DataVersion(hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()[:24])


def _replace(warehouse: Warehouse, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """The table's rows replaced in one transaction: readers see the old rows or the new, never none."""
    target = sql.Identifier(*table.split("."))
    with warehouse.transaction() as cur:
        cur.execute(sql.SQL("DELETE FROM {}").format(target))
        execute_values(cur, sql.SQL("INSERT INTO {} ({}) VALUES %s").format(
            target, sql.SQL(", ").join(map(sql.Identifier, columns))), rows, page_size=1000)


def calendar_asset(partitions_def: dg.MonthlyPartitionsDefinition | None = None) -> dg.AssetsDefinition:
    partitions_def = partitions_def or partitions.monthly()

    @dg.asset(
        key=CALENDAR_KEY,
        group_name=GROUP,
        kinds={"postgres"},
        retry_policy=DB_RETRY,
        pool=WAREHOUSE_POOL,
        description="工作日历：国务院公布的法定节假日和调休上班日（chinesecalendar 包），该包尚未覆盖的年份取 "
                    "assets/calendar.yaml 中信用办维护的节假日表，两者皆无时仅按周末计算并告警。"
                    "wh.wd(a, b) = a 之后至 b（含）的工作日数，供双公示及时报送（I04）等指标使用。",
        metadata={
            "dagster/table_name": "wh.calendar",
            "dagster/column_schema": _schema(
                ("day", "date", "日期"),
                ("workday", "boolean", "是否工作日"),
                ("workday_seq", "integer", "截至当日（含）的累计工作日数"),
                ("source", "text", "来源：chinesecalendar | override（信用办维护） | weekends（仅周末）"),
                ("holiday_name", "text", "节日名称；调休上班日为其所调的节日"),
            ),
        },
    )
    @asset_failures
    def wh_calendar(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        built, _ = _years(partitions_def)
        path = calendar.overrides_path()
        try:
            result = calendar.build(built.start, built.stop - 1, calendar.load_overrides(path))
        except ValueError as error:  # a broken override table will not mend itself on a retry
            raise dg.Failure(f"calendar overrides: {error}", allow_retries=False) from error
        rows = result.rows()
        _replace(warehouse, "wh.calendar", ("day", "workday", "workday_seq", "source", "holiday_name"), rows)
        if result.weekends_only:
            context.log.warning(f"weekends only (no holiday table) for {_join(result.weekends_only)}")
        return dg.MaterializeResult(data_version=rows_version(rows), metadata={
            "dagster/row_count": dg.MetadataValue.int(len(result.days)),
            "years": f"{built.start}–{built.stop - 1}",
            "years_chinesecalendar": _join(result.by_package),
            "years_override_table": _join(result.by_office),
            "years_weekends_only": _join(result.weekends_only),
            "overridden_days": dg.MetadataValue.int(result.overridden_days),
            "overrides_file": dg.MetadataValue.path(str(path)),
            "preview": dg.MetadataValue.md(_calendar_preview(result)),
        })

    return wh_calendar


def _join(years: list[int]) -> str:
    return ", ".join(map(str, years)) or "—"


def _calendar_preview(result: calendar.Calendar) -> str:
    """Per year: where its verdicts come from, working days, weekday holidays, weekend working days."""
    summary: dict[int, list] = {}
    for d in result.days:
        row = summary.setdefault(d.day.year, [d.day.year, set(), 0, 0, 0])
        row[1].add(d.source)
        row[2] += d.workday
        row[3] += not d.workday and d.day.weekday() < 5
        row[4] += d.workday and d.day.weekday() >= 5
    rows = [[y, "、".join(sorted(s)), w, h, a] for y, s, w, h, a in summary.values()]
    return markdown_table(["年份", "来源", "工作日", "工作日放假", "调休上班"], rows)


def calendar_check(partitions_def: dg.MonthlyPartitionsDefinition | None = None) -> dg.AssetChecksDefinition:
    partitions_def = partitions_def or partitions.monthly()

    @dg.asset_check(
        asset=CALENDAR_KEY,
        name="calendar_coverage",
        description="分区所需的每一年都有法定节假日表（chinesecalendar 或 assets/calendar.yaml）；"
                    "仅按周末计算的年份以 WARN 报出（INDICATORS.md）。",
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        _, needed = _years(partitions_def)
        with warehouse.transaction() as cur:
            cur.execute("""
                SELECT extract(year FROM day)::int AS year, bool_or(source = 'weekends')
                FROM wh.calendar WHERE day BETWEEN %s AND %s GROUP BY 1""",
                        (dt.date(needed.start, 1, 1), dt.date(needed.stop - 1, 12, 31)))
            present = dict(cur.fetchall())
        weekends_only = [y for y in needed if present.get(y)]
        missing = [y for y in needed if y not in present]
        problems = ([f"仅按周末计算（无节假日表）：{_join(weekends_only)}"] if weekends_only else []) + \
                   ([f"日历中缺少：{_join(missing)}"] if missing else [])
        return dg.AssetCheckResult(
            passed=not problems,
            severity=dg.AssetCheckSeverity.WARN,
            description="；".join(problems) or f"{needed.start}–{needed.stop - 1} 年均有节假日表",
            metadata={
                "years_needed": f"{needed.start}–{needed.stop - 1}",
                "years_weekends_only": _join(weekends_only),
                "years_missing": _join(missing),
            },
        )

    return _check


def reference_asset(key: dg.AssetKey, description: str, columns: list[tuple[str, str, str, str]],
                    rows) -> dg.AssetsDefinition:
    """A small reference table wh.<name>, replaced whole from `rows()`; columns are (name, type, 表头, 说明)."""
    table = ".".join(key.path)
    names = tuple(name for name, _, _, _ in columns)

    @dg.asset(
        key=key,
        group_name=GROUP,
        kinds={"postgres"},
        retry_policy=DB_RETRY,
        pool=WAREHOUSE_POOL,
        description=description,
        metadata={
            "dagster/table_name": table,
            "dagster/column_schema": _schema(*((name, type_, text) for name, type_, _, text in columns)),
        },
    )
    def _reference(warehouse: Warehouse) -> dg.MaterializeResult:
        found = rows()
        _replace(warehouse, table, names, found)
        return dg.MaterializeResult(data_version=rows_version(found), metadata={
            "dagster/row_count": dg.MetadataValue.int(len(found)),
            "preview": dg.MetadataValue.md(markdown_table([header for _, _, header, _ in columns], found)),
        })

    return _reference


def units_asset() -> dg.AssetsDefinition:
    return reference_asset(
        UNITS_KEY, "责任单位：市直部门、县（市、区）和功能区（FEEDS.md），县级单位带其所属区县代码。", [
            ("unit", "text", "单位", "单位代码（收件箱文件夹名）"),
            ("name", "text", "名称", "单位名称"),
            ("kind", "text", "类别", "类别：department（市直部门） | county（县市区） | zone（功能区）"),
            ("district", "text", "区县", "县级单位的区县代码；功能区和市直部门为空"),
        ], unit_rows)


def districts_asset() -> dg.AssetsDefinition:
    return reference_asset(
        DISTRICTS_KEY, "区县：市本级（370800）、11 个县（市、区）和济宁高新区（370871）；邹城市、曲阜市由国家单独监测。", [
            ("code", "text", "代码", "区县代码（GB/T 2260；高新区为统计代码）"),
            ("name", "text", "名称", "区县名称"),
            ("monitored", "boolean", "单独监测", "是否由国家单独监测"),
        ], district_rows)


@dg.definitions
def warehouse_assets() -> dg.Definitions:
    return dg.Definitions(assets=[calendar_asset(), units_asset(), districts_asset()],
                          asset_checks=[calendar_check()])

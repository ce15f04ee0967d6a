"""The subject master (issue 4): the asset wh/subjects, one row per 统一社会信用代码 per month, built by
lib/warehouse/subjects.py (the month built afresh, its USCCs in two parts side by side, and swapped in).
"""

import dagster as dg

from jn_credit_dagster.defs import partitions
from jn_credit_dagster.defs.lineage import every_earlier_month
from jn_credit_dagster.defs.warehouse.assets import GROUP, _schema
from jn_credit_dagster.lib.common.city import district_rows
from jn_credit_dagster.defs.ingest.steps import feed_key
from jn_credit_dagster.lib.warehouse.subjects import REGISTRY, build_month, subject_columns
from jn_credit_dagster.lib.common.present import markdown_table
from jn_credit_dagster.defs.resources import DB_RETRY, WAREHOUSE_POOL, Warehouse
from jn_credit_dagster.defs.failures import asset_failures

SUBJECTS_KEY = dg.AssetKey(["wh", "subjects"])



def subjects_asset() -> dg.AssetsDefinition:
    @dg.asset(
        key=SUBJECTS_KEY,
        group_name=GROUP,
        partitions_def=partitions.monthly(),
        # M reads the registry snapshot (M's delivery, else the latest earlier one) and the subjects named
        # by correct rows delivered in M or before: every month up to M of those feeds
        deps=[dg.AssetDep(feed_key(f), partition_mapping=every_earlier_month())
              for f in dict.fromkeys([REGISTRY, *(feed for feed, _, _, _ in subject_columns())])],
        kinds={"postgres"},
        retry_policy=DB_RETRY,
        pool=WAREHOUSE_POOL,
        description="主体库：以统一社会信用代码为键，当月市场主体登记快照中的每个有效代码（名称、主体类型、所属区县），"
                    "加上截至当月各报送数据正确行中出现的其他有效代码（未在登记库中：区县取代码第 3–8 位且为已知区县时，"
                    "类型取代码的登记管理部门和机构类别码），并列出提及该主体的数据项；标出现存企业 E(M)（登记快照中主体类型为企业、"
                    "登记状态为存续）。指标的区县、现存企业和是否在登记库均取自此表。",
        metadata={
            "dagster/table_name": "wh.subjects",
            "dagster/column_schema": _schema(
                ("month", "date", "月份（当月第一天）"),
                ("uscc", "text", "统一社会信用代码"),
                ("name", "text", "主体名称（登记库；不在登记库时取报送数据中最新的名称）"),
                ("kind", "text", "主体类别：enterprise | individual_business | farmer_cooperative | rural_collective | "
                                 "social_organization | public_institution | government_body | other_organization | legal_person"),
                ("district", "text", "所属区县代码"),
                ("in_registry", "boolean", "是否在当月登记快照中"),
                ("sources", "text[]", "提及该主体的数据项"),
                ("existing", "boolean", "是否现存企业 E(M)：当月登记快照中有主体类型为企业、登记状态为存续的行"),
            ),
        },
    )
    @asset_failures
    def wh_subjects(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        month = partitions.month_of(context.partition_key)
        with warehouse.transaction() as cur:
            built = build_month(cur, month, [code for code, _, _ in district_rows()], url=warehouse.url())
        kinds = built["kinds"]
        in_registry = sum(k[2] for k in kinds)
        return dg.MaterializeResult(metadata={
            "dagster/row_count": dg.MetadataValue.int(built["rows"]),
            "in_registry": dg.MetadataValue.int(in_registry),
            "not_in_registry": dg.MetadataValue.int(built["rows"] - in_registry),
            **{f"kind_{kind}": dg.MetadataValue.int(n) for kind, n, _, _ in kinds},
            "kinds": dg.MetadataValue.md(markdown_table(["类别", "主体数", "在登记库", "无区县"], kinds)),
            "preview": dg.MetadataValue.md(markdown_table(["统一社会信用代码", "名称", "类别", "区县", "在登记库", "来源"],
                                                          built["preview"])),
        })

    return wh_subjects


@dg.definitions
def subject_assets() -> dg.Definitions:
    return dg.Definitions(assets=[subjects_asset()])

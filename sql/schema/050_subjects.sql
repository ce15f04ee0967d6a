-- The subject master (issue 4): one row per 统一社会信用代码 per month, built by the asset wh/subjects
-- (jn_credit_dagster/lib/warehouse/subjects.py). A month is rebuilt whole in one transaction: into a
-- fresh table, given its primary key once its rows are in, and swapped in for the month's partition (a
-- city's million rows inserted under the key cost half again as much as the rows themselves).
CREATE SCHEMA IF NOT EXISTS wh;

CREATE TABLE IF NOT EXISTS wh.subjects (
    month       date NOT NULL,     -- first day of M
    uscc        text NOT NULL,     -- a valid 统一社会信用代码 (GB 32100-2015)
    name        text,              -- the registry's 主体名称; else the latest name a feed gives with it
    kind        text NOT NULL,     -- wh.subject_kind(主体类型) when in the registry, else wh.uscc_kind(uscc)
    district    text,              -- the registry's 所属区县; else positions 3-8 of the USCC when a known district
    in_registry boolean NOT NULL,  -- on a row of M's registry snapshot
    sources     text[] NOT NULL,   -- the feeds naming it (registry: M's snapshot; the others: correct rows delivered in M or before)
    existing    boolean NOT NULL DEFAULT false,  -- in E(M) (INDICATORS.md): on a snapshot row with 主体类型 企业, 登记状态 存续
    existing_row integer,          -- row_no of the first such snapshot row: the line that counts it (`jn-credit explain`)
    PRIMARY KEY (month, uscc)
) PARTITION BY LIST (month);
-- Every reader reads one month, where a USCC is one row: the planner is told so, not left to estimate
-- from the parent's statistics, where each USCC recurs once a month.
ALTER TABLE wh.subjects ALTER COLUMN uscc SET (n_distinct_inherited = -1);
-- A table of an earlier version gains the columns; its months are rebuilt by the next wh/subjects run.
ALTER TABLE wh.subjects ADD COLUMN IF NOT EXISTS existing boolean NOT NULL DEFAULT false;
-- existing_row is filled for the months already built, once, when the column is added: the
-- explanations of those months read it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'wh.subjects'::regclass AND attname = 'existing_row') THEN
        ALTER TABLE wh.subjects ADD COLUMN existing_row integer;
        IF EXISTS (SELECT 1 FROM wh.subjects WHERE existing) THEN
            EXECUTE $sql$
                UPDATE wh.subjects s SET existing_row = f.row_no
                FROM (SELECT m.month, r.uscc, min(r.row_no) AS row_no
                      FROM (SELECT DISTINCT month FROM wh.subjects WHERE existing) m, wh.registry_snapshot(m.month) r
                      WHERE r.subject_type = '企业' AND r.registration_status = '存续'
                      GROUP BY m.month, r.uscc) f
                WHERE s.month = f.month AND s.uscc = f.uscc AND s.existing
            $sql$;
        END IF;
    END IF;
END $$;

-- An earlier version's wh.subjects was one table: its months move into partitions (ingest_months.wh_subjects_YYYY_MM,
-- as lib/ingest/tables.py names a month's partition).
DO $$
DECLARE m date;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'wh.subjects'::regclass) = 'r' THEN
        ALTER TABLE wh.subjects RENAME TO subjects__unpartitioned;
        ALTER INDEX wh.subjects_pkey RENAME TO subjects__unpartitioned_pkey;
        CREATE TABLE wh.subjects (LIKE wh.subjects__unpartitioned INCLUDING DEFAULTS, PRIMARY KEY (month, uscc))
            PARTITION BY LIST (month);
        FOR m IN SELECT DISTINCT month FROM wh.subjects__unpartitioned LOOP
            EXECUTE format('CREATE TABLE ingest_months.%I PARTITION OF wh.subjects FOR VALUES IN (%L)',
                           'wh_subjects_' || to_char(m, 'YYYY_MM'), m);
            INSERT INTO wh.subjects SELECT * FROM wh.subjects__unpartitioned WHERE month = m;
        END LOOP;
        DROP TABLE wh.subjects__unpartitioned;
        ALTER TABLE wh.subjects ALTER COLUMN uscc SET (n_distinct_inherited = -1);
        ANALYZE wh.subjects;
    END IF;
END $$;
-- No index by kind: nothing looks subjects up by kind (the indicators read a month by the primary key's
-- month), and keeping one cost more than the rest of a city month's insert.
DROP INDEX IF EXISTS wh.subjects_month_kind;

-- 主体类型 of the registry (FEEDS.md) → kind.
CREATE OR REPLACE FUNCTION wh.subject_kind(subject_type text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE subject_type
        WHEN '企业' THEN 'enterprise'
        WHEN '个体工商户' THEN 'individual_business'
        WHEN '农民专业合作社' THEN 'farmer_cooperative'
        WHEN '农村集体经济组织' THEN 'rural_collective'
        WHEN '社会组织' THEN 'social_organization'
        WHEN '事业单位' THEN 'public_institution'
        WHEN '机关' THEN 'government_body'
        WHEN '其他组织' THEN 'other_organization'
        ELSE 'legal_person'
    END
$$;

-- The kind of a subject not in the registry, from the USCC's registration-department and type codes
-- (positions 1-2, GB 32100-2015): 91 企业, 92 个体工商户, 93 农民专业合作社 (市场监管); 11 机关, 12 事业单位
-- (机构编制); 5x 社会组织 (民政); N1-N3 农村集体经济组织 (农业); any other: legal_person (法人及非法人组织).
CREATE OR REPLACE FUNCTION wh.uscc_kind(uscc text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN left(uscc, 2) = '91' THEN 'enterprise'
        WHEN left(uscc, 2) = '92' THEN 'individual_business'
        WHEN left(uscc, 2) = '93' THEN 'farmer_cooperative'
        WHEN left(uscc, 2) = '11' THEN 'government_body'
        WHEN left(uscc, 2) = '12' THEN 'public_institution'
        WHEN left(uscc, 1) = '5' THEN 'social_organization'
        WHEN left(uscc, 2) IN ('N1', 'N2', 'N3') THEN 'rural_collective'
        ELSE 'legal_person'
    END
$$;

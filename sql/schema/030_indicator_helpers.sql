-- Helpers of the indicator SQL (sql/indicators/<id>.sql; INDICATORS.md "Terms").
-- The raw.<feed> tables and the state feeds' facts wh.<feed> are created after the files of sql/schema
-- (their DDL comes from assets/feeds), so the bodies below are not checked at creation; they are at
-- the first call.
SET LOCAL check_function_bodies = off;

-- The per-feed latest_<feed>(m) functions of earlier versions: the fact tables wh.<feed> replaced them.
DROP FUNCTION IF EXISTS wh.latest_blacklist(date), wh.latest_uscc_issue(date), wh.latest_xyd_registration(date),
    wh.latest_arrears(date), wh.latest_tax_grade(date), wh.latest_customs_aeo(date), wh.latest_joint_case(date),
    wh.latest_credit_event(date), wh.latest_repair(date), wh.latest_objection(date), wh.latest_city_stats(date);

-- M's snapshot of a snapshot feed: the latest loaded delivery in M's folder, else in the latest
-- earlier month that has one; latest = max (delivery_date, seq, unit, file). A delivery is
-- (unit, month folder, SHA-256): the same bytes may be another month's delivery too (FEEDS.md).
CREATE OR REPLACE FUNCTION wh.snapshot_delivery(feed text, m date) RETURNS TABLE (month date, unit text, sha256 text)
LANGUAGE sql STABLE AS $$
    SELECT l.month, l.unit, l.sha256 FROM ingest.ledger l
    WHERE l.feed = snapshot_delivery.feed AND l.status = 'loaded' AND l.month <= m
    ORDER BY l.month DESC, l.delivery_date DESC, l.seq DESC, l.unit DESC, l.sha256 DESC
    LIMIT 1
$$;

-- Its file's SHA-256, for the evidence of an indicator.
CREATE OR REPLACE FUNCTION wh.snapshot_file(feed text, m date) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT sha256 FROM wh.snapshot_delivery(feed, m)
$$;

-- M's registry snapshot: the correct rows of that delivery.
CREATE OR REPLACE FUNCTION wh.registry_snapshot(m date)
RETURNS TABLE (uscc text, subject_name text, subject_type text, registration_status text, district text,
               file_sha256 text, row_no integer)
LANGUAGE sql STABLE AS $$
    SELECT r.uscc, r.subject_name, r.subject_type, r.registration_status, r.district, r.file_sha256, r.row_no
    FROM wh.snapshot_delivery('registry', m) d
    JOIN raw.registry r ON r.month = d.month AND r.unit = d.unit AND r.file_sha256 = d.sha256
$$;

-- E(M), the districts of subjects and registry membership: read from wh.subjects (sql/schema/050_subjects.sql),
-- which sorts M's registry snapshot once; these functions repeated that work in every indicator.
DROP FUNCTION IF EXISTS wh.existing_enterprises(date), wh.subject_district(date);

-- M's service_item snapshot.
CREATE OR REPLACE FUNCTION wh.service_item_snapshot(m date)
RETURNS TABLE (item_code text, legally_committable text, commitment_applied text, file_sha256 text, row_no integer)
LANGUAGE sql STABLE AS $$
    SELECT s.item_code, s.legally_committable, s.commitment_applied, s.file_sha256, s.row_no
    FROM wh.snapshot_delivery('service_item', m) d
    JOIN raw.service_item s ON s.month = d.month AND s.unit = d.unit AND s.file_sha256 = d.sha256
$$;

-- The first day of a city_stats 期间 (YYYY, YYYY-Qn, YYYY-MM).
CREATE OR REPLACE FUNCTION wh.period_start(p text) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p ~ '^\d{4}$' THEN make_date(p::int, 1, 1)
        WHEN p ~ '^\d{4}-Q[1-4]$' THEN make_date(left(p, 4)::int, (right(p, 1)::int - 1) * 3 + 1, 1)
        WHEN p ~ '^\d{4}-\d{2}$' THEN make_date(left(p, 4)::int, right(p, 2)::int, 1)
    END
$$;

-- P(M): the latest 常住人口（万人） whose period begins at or before M, × 10 000 (NULL if none).
CREATE OR REPLACE FUNCTION wh.population(m date) RETURNS numeric
LANGUAGE sql STABLE AS $$
    SELECT s.value * 10000 FROM wh.city_stats s
    WHERE s.as_of_month = m AND s.indicator = '常住人口（万人）' AND wh.period_start(s.period) <= m
    ORDER BY wh.period_start(s.period) DESC, length(s.period) DESC
    LIMIT 1
$$;

-- GDP(M) in 万元: the latest year Y <= year(M) with an annual figure or all four quarters in the
-- latest state of city_stats; the annual figure where there is one, else the quarters summed.
CREATE OR REPLACE FUNCTION wh.gdp(m date) RETURNS numeric
LANGUAGE sql STABLE AS $$
    WITH g AS (
        SELECT left(s.period, 4)::int AS y, s.period, s.value FROM wh.city_stats s
        WHERE s.as_of_month = m AND s.indicator = '地区生产总值（亿元）' AND s.period ~ '^\d{4}(-Q[1-4])?$'
          AND left(s.period, 4)::int <= extract(year FROM m)::int
    ), years AS (
        SELECT y, max(value) FILTER (WHERE period ~ '^\d{4}$') AS annual,
               CASE WHEN count(DISTINCT period) FILTER (WHERE period ~ '-Q') = 4
                    THEN sum(value) FILTER (WHERE period ~ '-Q') END AS quarters
        FROM g GROUP BY y
    )
    SELECT coalesce(annual, quarters) * 10000 FROM years
    WHERE coalesce(annual, quarters) IS NOT NULL ORDER BY y DESC LIMIT 1
$$;

-- I27–I30 (负面信用事件) differ only by 领域: latest-state credit_event rows of that domain, 性质 not
-- 正面, 是否主动处理 否, 事件日期 in the last 12 months — a count, with the events as evidence.
CREATE OR REPLACE FUNCTION wh.negative_credit_events(m date, window_start date, month_end date, event_domain text)
RETURNS TABLE (scope text, scope_key text, numerator numeric, denominator numeric, value numeric, evidence jsonb)
LANGUAGE sql STABLE AS $$
    SELECT 'city'::text, '370800'::text, count(*)::numeric, NULL::numeric, count(*)::numeric,
           jsonb_build_object('events', jsonb_path_query_array(coalesce(jsonb_agg(jsonb_build_object(
               'event_no', event_no, 'event_date', event_date, 'nature', nature, 'file', file_sha256, 'row_no', row_no)
               ORDER BY event_date, event_no), '[]'), '$[0 to 19]'))
    FROM wh.credit_event
    WHERE as_of_month = m AND domain = event_domain AND nature <> '正面' AND handled_proactively = '否'
      AND event_date BETWEEN window_start AND month_end
$$;

-- I13 and I14 differ only by 放款渠道 (and I14's 是否信用贷款 是): Σ 放款金额（万元） of correct xyd_loan rows
-- delivered in M or before with 放款日期 in the last 12 months, over GDP(M) in 万元 (NULL without GDP).
CREATE OR REPLACE FUNCTION wh.xyd_loan_share(m date, window_start date, month_end date, channels text[], credit_only boolean)
RETURNS TABLE (scope text, scope_key text, numerator numeric, denominator numeric, value numeric, evidence jsonb)
LANGUAGE sql STABLE AS $$
    WITH l AS (
        SELECT * FROM raw.xyd_loan
        WHERE month <= m AND channel = ANY(channels) AND (NOT credit_only OR is_credit_loan = '是')
          AND lent_on BETWEEN window_start AND month_end
    ), g AS (SELECT wh.gdp(m) AS gdp)
    SELECT 'city'::text, '370800'::text,
           coalesce(sum(l.loan_amount), 0)::numeric,
           (SELECT gdp FROM g)::numeric,
           coalesce(sum(l.loan_amount), 0)::numeric / nullif((SELECT gdp FROM g), 0),
           jsonb_build_object('loans', count(l.*), 'gdp_wan_yuan', (SELECT gdp FROM g),
               'largest', jsonb_path_query_array(coalesce(jsonb_agg(jsonb_build_object(
                   'loan_no', l.loan_no, 'institution', l.institution, 'amount', l.loan_amount, 'lent_on', l.lent_on,
                   'unit', l.unit, 'file', l.file_sha256, 'row_no', l.row_no) ORDER BY l.loan_amount DESC, l.loan_no), '[]'),
                   '$[0 to 19]'))
    FROM l
$$;

RESET check_function_bodies;

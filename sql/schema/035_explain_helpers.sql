-- Helpers of the explanation SQL (sql/indicators/explain/<id>.sql, `jn-credit explain`): the delivered
-- rows an indicator leaves out, in the explanation's leading columns. The feed and its key columns are
-- identifiers, quoted by format(%I); the months are bound values.
SET LOCAL check_function_bodies = off;

-- Quarantined rows of a feed delivered in the month folders first…last (the key as delivered, text).
CREATE OR REPLACE FUNCTION wh.explain_quarantined(feed_id text, first_month date, last_month date, key_columns text[])
RETURNS TABLE (feed text, unit text, month date, file_sha256 text, row_no integer, key text, reason text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT %L::text, q.unit, q.month, q.file_sha256, q.row_no, %s::text, '
        '''quarantined: '' || array_to_string(q.reasons, '', '') FROM quarantine.%I q WHERE q.month BETWEEN $1 AND $2',
        feed_id, coalesce((SELECT 'concat_ws(''|'', ' || string_agg(format('q.%I', c), ', ') || ')' FROM unnest(key_columns) c), 'NULL'),
        feed_id)
    USING first_month, last_month;
END $$;

-- Correct rows of a state feed delivered in M or before that are not in M's latest state (wh.<feed>):
-- a later row of the same key replaced them (INDICATORS.md "Latest state").
CREATE OR REPLACE FUNCTION wh.explain_superseded(feed_id text, m date, key_columns text[])
RETURNS TABLE (feed text, unit text, month date, file_sha256 text, row_no integer, key text, reason text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT %L::text, r.unit, r.month, r.file_sha256, r.row_no, %s::text, '
        '''superseded by a later row of the same key'' FROM raw.%I r WHERE r.month <= $1 AND NOT EXISTS ('
        'SELECT 1 FROM wh.%I f WHERE f.as_of_month = $1 AND f.month = r.month AND f.unit = r.unit '
        'AND f.file_sha256 = r.file_sha256 AND f.row_no = r.row_no)',
        feed_id, coalesce((SELECT 'concat_ws(''|'', ' || string_agg(format('r.%I', c), ', ') || ')' FROM unnest(key_columns) c), 'NULL'),
        feed_id, feed_id)
    USING m;
END $$;

-- Rows (correct and quarantined) of a snapshot feed's deliveries in M's folder other than M's snapshot
-- delivery (wh.snapshot_delivery): a later delivery of the month replaced them. The deliveries come from
-- the ledger (every row of raw.<feed> and quarantine.<feed> is a loaded delivery's), so a month with one
-- delivery, the usual case, reads no rows at all: scanning the month's rows for none cost ~0.4 s a call.
CREATE OR REPLACE FUNCTION wh.explain_other_deliveries(feed_id text, m date, key_columns text[])
RETURNS TABLE (feed text, unit text, month date, file_sha256 text, row_no integer, key text, reason text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    k text := coalesce((SELECT 'concat_ws(''|'', ' || string_agg(format('x.%I', c), ', ') || ')' FROM unnest(key_columns) c), 'NULL');
BEGIN
    RETURN QUERY EXECUTE format(
        'WITH s AS (SELECT * FROM wh.snapshot_delivery(%L, $1)), d AS ('
        'SELECT DISTINCT l.unit, l.sha256 FROM ingest.ledger l WHERE l.feed = %L AND l.month = $1 AND l.status = ''loaded'' '
        'AND NOT EXISTS (SELECT 1 FROM s WHERE s.month = l.month AND s.unit = l.unit AND s.sha256 = l.sha256)), x AS ('
        'SELECT x.unit, x.month, x.file_sha256, x.row_no, %s::text AS key FROM raw.%I x '
        'JOIN d ON d.unit = x.unit AND d.sha256 = x.file_sha256 WHERE x.month = $1 '
        'UNION ALL SELECT x.unit, x.month, x.file_sha256, x.row_no, %s::text FROM quarantine.%I x '
        'JOIN d ON d.unit = x.unit AND d.sha256 = x.file_sha256 WHERE x.month = $1) '
        'SELECT %L::text, x.unit, x.month, x.file_sha256, x.row_no, x.key, '
        '''superseded: a later delivery of the month is the snapshot'' FROM x',
        feed_id, feed_id, k, feed_id, k, feed_id, feed_id)
    USING m;
END $$;

-- The explanations read a subject's district from wh.subjects, as the indicators do.
DROP FUNCTION IF EXISTS wh.explain_subject_district(date);

-- E(M) line by line: each row of M's registry snapshot delivery, `counted` on the row wh.subjects
-- counts (existing_row: the first of its USCC with 主体类型 企业 and 登记状态 存续), else the reason it is
-- not, with the USCC's district (its first row's, wh.subjects'); the delivery's quarantined rows and the
-- month's other registry deliveries with theirs. A hash join on wh.subjects, which has sorted the
-- snapshot once: each explanation sorting it again cost ~3 s of a city month.
CREATE OR REPLACE FUNCTION wh.explain_existing_enterprises(m date)
RETURNS TABLE (unit text, month date, file_sha256 text, row_no integer, uscc text, district text,
               subject_type text, registration_status text, counted boolean, reason text)
LANGUAGE sql STABLE AS $$
    SELECT r.unit, r.month, r.file_sha256, r.row_no, r.uscc, s.district, r.subject_type, r.registration_status,
           coalesce(s.existing_row = r.row_no, false),
           CASE WHEN r.subject_type IS DISTINCT FROM '企业' THEN 'not an enterprise (主体类型 ' || coalesce(r.subject_type, '') || ')'
                WHEN r.registration_status IS DISTINCT FROM '存续' THEN '登记状态 ' || coalesce(r.registration_status, '') || ', not 存续'
                WHEN s.existing_row IS DISTINCT FROM r.row_no THEN 'USCC already counted on an earlier row' ELSE '' END
    FROM wh.snapshot_delivery('registry', m) d
    JOIN raw.registry r ON r.month = d.month AND r.unit = d.unit AND r.file_sha256 = d.sha256
    LEFT JOIN wh.subjects s ON s.month = m AND s.uscc = r.uscc
    UNION ALL
    SELECT q.unit, q.month, q.file_sha256, q.row_no, upper(trim(q.uscc)), nullif(trim(q.district), ''), q.subject_type,
           q.registration_status, false, 'quarantined: ' || array_to_string(q.reasons, ', ')
    FROM wh.snapshot_delivery('registry', m) d
    JOIN quarantine.registry q ON q.month = d.month AND q.unit = d.unit AND q.file_sha256 = d.sha256
    UNION ALL
    SELECT o.unit, o.month, o.file_sha256, o.row_no, o.key, NULL, NULL, NULL, false, o.reason
    FROM wh.explain_other_deliveries('registry', m, ARRAY['uscc']) o
$$;

-- I27–I30 explained (wh.negative_credit_events line by line): each latest-state credit_event row of the
-- domain, 性质 not 正面, 是否主动处理 否, 事件日期 in the last 12 months counts; the other latest-state rows,
-- replaced and quarantined credit_event rows are left out with the reason.
CREATE OR REPLACE FUNCTION wh.explain_negative_credit_events(m date, window_start date, month_end date, event_domain text)
RETURNS TABLE (in_numerator integer, in_denominator integer, weight numeric, reason text, feed text, unit text,
               month date, file_sha256 text, row_no integer, key text, domain text, nature text,
               handled_proactively text, event_date date)
LANGUAGE sql STABLE AS $$
    WITH j AS (
        SELECT c.*, CASE WHEN c.domain IS DISTINCT FROM event_domain THEN '领域 ' || coalesce(c.domain, '') || ', not ' || event_domain
                         WHEN c.nature IS NULL OR c.nature = '正面' THEN '性质 ' || coalesce(c.nature, '')
                         WHEN c.handled_proactively IS DISTINCT FROM '否' THEN '是否主动处理 ' || coalesce(c.handled_proactively, '')
                         WHEN c.event_date IS NULL OR c.event_date NOT BETWEEN window_start AND month_end
                             THEN 'outside the window (事件日期)' END AS excluded
        FROM wh.credit_event c WHERE c.as_of_month = m
    )
    SELECT (j.excluded IS NULL)::int, 0, 1::numeric, coalesce(j.excluded, ''), 'credit_event'::text, j.unit, j.month,
           j.file_sha256, j.row_no, j.event_no, j.domain, j.nature, j.handled_proactively, j.event_date
    FROM j
    UNION ALL
    SELECT 0, 0, 0, x.reason, x.feed, x.unit, x.month, x.file_sha256, x.row_no, x.key, NULL, NULL, NULL, NULL
    FROM (SELECT * FROM wh.explain_superseded('credit_event', m, ARRAY['event_no'])
          UNION ALL SELECT * FROM wh.explain_quarantined('credit_event', '0001-01-01', m, ARRAY['event_no'])) x
$$;

-- The lines of I13 / I14 (a share of 信易贷 loans in GDP): each correct xyd_loan row delivered in M or
-- before (in the numerator when its 放款渠道 is one of `channels`, 是否信用贷款 是 where `credit_only`,
-- and 放款日期 in the window), the city_stats rows GDP(M) is made of (× 10 000: 亿元 → 万元), and the
-- quarantined xyd_loan rows.
CREATE OR REPLACE FUNCTION wh.explain_xyd_loan_share(m date, window_start date, month_end date, channels text[],
                                                     credit_only boolean)
RETURNS TABLE (in_numerator integer, in_denominator integer, weight numeric, reason text, feed text, unit text,
               month date, file_sha256 text, row_no integer, key text, amount numeric, channel text,
               is_credit_loan text, lent_on text, uscc text, gdp_period text)
LANGUAGE sql STABLE AS $$
    WITH l AS (
        SELECT *, channel = ANY(channels) AS channel_ok, (NOT credit_only OR is_credit_loan = '是') AS credit_ok,
               lent_on BETWEEN window_start AND month_end AS in_window
        FROM raw.xyd_loan WHERE month <= m
    ), s AS (
        SELECT *, left(period, 4)::int AS y FROM wh.city_stats
        WHERE as_of_month = m AND indicator = '地区生产总值（亿元）' AND period ~ '^\d{4}(-Q[1-4])?$'
    ), years AS (  -- as wh.gdp: the latest year <= year(M) with an annual figure or all four quarters
        SELECT y, bool_or(period !~ '-Q') AS annual FROM s WHERE y <= extract(year FROM m)::int GROUP BY y
        HAVING bool_or(period !~ '-Q') OR count(DISTINCT period) FILTER (WHERE period ~ '-Q') = 4
        ORDER BY y DESC LIMIT 1
    )
    SELECT coalesce(channel_ok AND credit_ok AND in_window, false)::int AS in_numerator, 0 AS in_denominator, loan_amount AS weight,
           CASE WHEN NOT coalesce(channel_ok, false) THEN '放款渠道 ' || coalesce(channel, '') || ' not counted'
                WHEN NOT coalesce(credit_ok, false) THEN '是否信用贷款 ' || coalesce(is_credit_loan, '') || ', not 是'
                WHEN NOT coalesce(in_window, false) THEN 'outside the window (放款日期)' ELSE '' END AS reason,
           'xyd_loan'::text AS feed, unit, month, file_sha256, row_no, concat_ws('|', loan_no, institution) AS key,
           loan_amount AS amount, channel, is_credit_loan, lent_on::text AS lent_on, uscc, NULL::text AS gdp_period
    FROM l
    UNION ALL
    SELECT 0, (x.y IS NOT NULL AND (s.period !~ '-Q') = x.annual)::int,
           s.value * 10000,
           CASE WHEN x.y IS NULL THEN 'not the year of GDP(M)' WHEN (s.period !~ '-Q') <> x.annual THEN 'the annual figure is used'
                ELSE '' END,
           'city_stats', s.unit, s.month, s.file_sha256, s.row_no, concat_ws('|', s.indicator, s.period), s.value, NULL, NULL, NULL, NULL,
           s.period
    FROM s LEFT JOIN years x ON x.y = s.y
    UNION ALL
    SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL, NULL, NULL, NULL, NULL
    FROM wh.explain_quarantined('xyd_loan', '0001-01-01', m, ARRAY['loan_no', 'institution'])
$$;

RESET check_function_bodies;

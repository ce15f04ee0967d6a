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
-- delivery (wh.snapshot_delivery): a later delivery of the month replaced them.
CREATE OR REPLACE FUNCTION wh.explain_other_deliveries(feed_id text, m date, key_columns text[])
RETURNS TABLE (feed text, unit text, month date, file_sha256 text, row_no integer, key text, reason text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    k text := coalesce((SELECT 'concat_ws(''|'', ' || string_agg(format('x.%I', c), ', ') || ')' FROM unnest(key_columns) c), 'NULL');
BEGIN
    RETURN QUERY EXECUTE format(
        'WITH s AS (SELECT * FROM wh.snapshot_delivery(%L, $1)), x AS ('
        'SELECT unit, month, file_sha256, row_no, %s::text AS key FROM raw.%I x WHERE month = $1 '
        'UNION ALL SELECT unit, month, file_sha256, row_no, %s::text FROM quarantine.%I x WHERE month = $1) '
        'SELECT %L::text, x.unit, x.month, x.file_sha256, x.row_no, x.key, '
        '''superseded: a later delivery of the month is the snapshot'' FROM x '
        'WHERE NOT EXISTS (SELECT 1 FROM s WHERE s.month = x.month AND s.unit = x.unit AND s.sha256 = x.file_sha256)',
        feed_id, k, feed_id, k, feed_id, feed_id)
    USING m;
END $$;

RESET check_function_bodies;

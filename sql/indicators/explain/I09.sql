-- I09 重错码率, explained: every row (correct and quarantined) of the latest registry delivery in M's folder
-- is in the denominator; an invalid USCC, or a valid one on rows with different 主体名称, puts it in the
-- numerator. Rows of the month's other registry deliveries are left out. Scopes: city, district (the
-- row's own 所属区县, as ../I09.sql).
WITH f AS (
    SELECT l.month, l.unit, l.sha256 FROM ingest.ledger l
    WHERE l.feed = 'registry' AND l.status = 'loaded' AND l.month = %(month)s
    ORDER BY l.delivery_date DESC, l.seq DESC, l.unit DESC, l.sha256 DESC LIMIT 1
), rows AS (
    SELECT r.unit, r.month, r.file_sha256, r.row_no, r.uscc, r.subject_name, r.district, true AS valid, NULL::text[] AS reasons
    FROM raw.registry r JOIN f ON r.month = f.month AND r.unit = f.unit AND r.file_sha256 = f.sha256
    UNION ALL
    SELECT q.unit, q.month, q.file_sha256, q.row_no, upper(trim(q.uscc)), q.subject_name, nullif(trim(q.district), ''),
           coalesce(jn.uscc_valid(upper(trim(q.uscc))), false), q.reasons
    FROM quarantine.registry q JOIN f ON q.month = f.month AND q.unit = f.unit AND q.file_sha256 = f.sha256
), named_twice AS (
    -- as ../I09.sql: the valid USCCs whose rows carry two or more names (NULL included), in one hashed
    -- pass rather than a window that sorts the delivery by USCC
    SELECT c.uscc FROM rows c WHERE c.valid GROUP BY c.uscc
    HAVING min(c.subject_name) IS DISTINCT FROM max(c.subject_name)
        OR (bool_or(c.subject_name IS NULL) AND bool_or(c.subject_name IS NOT NULL))
), judged AS (
    SELECT c.*, c.valid AND n.uscc IS NOT NULL AS duplicate
    FROM rows c LEFT JOIN named_twice n ON c.valid AND n.uscc = c.uscc
), other AS (
    SELECT o.*, d.district FROM wh.explain_other_deliveries('registry', %(month)s, ARRAY['uscc']) o
    LEFT JOIN LATERAL (
        SELECT r.district FROM raw.registry r WHERE r.month = o.month AND r.unit = o.unit AND r.file_sha256 = o.file_sha256
          AND r.row_no = o.row_no
        UNION ALL
        SELECT nullif(trim(q.district), '') FROM quarantine.registry q WHERE q.month = o.month AND q.unit = o.unit
          AND q.file_sha256 = o.file_sha256 AND q.row_no = o.row_no) d ON true
)
SELECT (NOT valid OR duplicate)::int AS in_numerator, 1 AS in_denominator, 1::numeric AS weight, ''::text AS reason,
       'registry'::text AS feed, unit, month, file_sha256, row_no, uscc AS key,
       CASE WHEN NOT valid THEN 'invalid USCC' WHEN duplicate THEN 'USCC on rows with another 主体名称' END AS problem,
       subject_name, district, array_to_string(reasons, ', ') AS quarantine_reasons
FROM judged
WHERE %(scope)s = 'city' OR (%(scope)s = 'district' AND district = %(scope_key)s)
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL, district, NULL
FROM other
WHERE %(scope)s = 'city' OR (%(scope)s = 'district' AND district = %(scope_key)s)

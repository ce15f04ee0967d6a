-- I09 重错码率: over all delivered rows (correct + quarantined) of the latest registry delivery in M's
-- folder (no earlier month): (rows with an invalid USCC + rows whose valid USCC appears on another row
-- with a different 主体名称) / those rows; a row counts once; NULL when M has no delivery. Per
-- district: by the row's own 所属区县.
WITH f AS (
    SELECT l.month, l.unit, l.sha256 FROM ingest.ledger l
    WHERE l.feed = 'registry' AND l.status = 'loaded' AND l.month = %(month)s
    ORDER BY l.delivery_date DESC, l.seq DESC, l.unit DESC, l.sha256 DESC LIMIT 1
), rows AS (
    -- a correct row's USCC is valid (ingest quarantines an invalid one): only quarantined rows are checked
    SELECT r.row_no, r.uscc, r.subject_name, r.district, true AS valid FROM raw.registry r JOIN f ON r.month = f.month AND r.unit = f.unit AND r.file_sha256 = f.sha256
    UNION ALL
    SELECT q.row_no, upper(trim(q.uscc)), q.subject_name, nullif(trim(q.district), ''),
           coalesce(jn.uscc_valid(upper(trim(q.uscc))), false)
    FROM quarantine.registry q JOIN f ON q.month = f.month AND q.unit = f.unit AND q.file_sha256 = f.sha256
), judged AS (
    -- another row of the same valid USCC has a different name (NULL included) exactly when the USCC's
    -- rows carry two or more names: then every one of its rows counts
    SELECT c.*, c.valid AND (
               min(c.subject_name) OVER w IS DISTINCT FROM max(c.subject_name) OVER w
               OR (bool_or(c.subject_name IS NULL) OVER w AND bool_or(c.subject_name IS NOT NULL) OVER w)) AS duplicate
    FROM rows c
    WINDOW w AS (PARTITION BY c.valid, CASE WHEN c.valid THEN c.uscc END)
), groups AS (
    SELECT 'city' AS scope, '370800' AS scope_key, j.* FROM judged j
    UNION ALL SELECT 'district', j.district, j.* FROM judged j WHERE j.district IS NOT NULL
), agg AS (
    SELECT scope, scope_key, count(*) FILTER (WHERE NOT valid OR duplicate)::numeric AS numerator,
           count(*)::numeric AS denominator,
           jsonb_path_query_array(coalesce(jsonb_agg(jsonb_build_object('row_no', row_no, 'uscc', uscc,
               'subject_name', subject_name, 'problem', CASE WHEN NOT valid THEN 'invalid' ELSE 'duplicate' END)
               ORDER BY row_no) FILTER (WHERE NOT valid OR duplicate), '[]'), '$[0 to 19]') AS rows
    FROM groups GROUP BY scope, scope_key
)
SELECT c.scope::text, c.scope_key::text, coalesce(a.numerator, 0) AS numerator, coalesce(a.denominator, 0) AS denominator,
       a.numerator / nullif(a.denominator, 0) AS value,
       jsonb_build_object('file', (SELECT sha256 FROM f), 'rows', coalesce(a.rows, '[]'::jsonb)) AS evidence
FROM (VALUES ('city', '370800')) AS c(scope, scope_key)
LEFT JOIN agg a ON a.scope = c.scope AND a.scope_key = c.scope_key
UNION ALL
SELECT scope, scope_key, numerator, denominator, numerator / nullif(denominator, 0),
       jsonb_build_object('file', (SELECT sha256 FROM f), 'rows', rows) FROM agg WHERE scope <> 'city'

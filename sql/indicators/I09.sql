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
), named_twice AS (
    -- another row of the same valid USCC has a different name (NULL included) exactly when the USCC's
    -- rows carry two or more names: then every one of its rows counts (one hashed pass, no sort)
    SELECT c.uscc FROM rows c WHERE c.valid GROUP BY c.uscc
    HAVING min(c.subject_name) IS DISTINCT FROM max(c.subject_name)
        OR (bool_or(c.subject_name IS NULL) AND bool_or(c.subject_name IS NOT NULL))
), judged AS (
    SELECT c.*, NOT c.valid OR n.uscc IS NOT NULL AS bad
    FROM rows c LEFT JOIN named_twice n ON c.valid AND n.uscc = c.uscc
), counts AS (  -- the city (the empty grouping set: a row even when M has no delivery) and each district
    SELECT CASE WHEN grouping(j.district) = 1 THEN 'city' ELSE 'district' END AS scope,
           CASE WHEN grouping(j.district) = 1 THEN '370800' ELSE j.district END AS scope_key,
           count(*) FILTER (WHERE j.bad)::numeric AS numerator, count(*)::numeric AS denominator
    FROM judged j GROUP BY GROUPING SETS ((), (j.district))
), listed AS (  -- the evidence: the first 20 counted rows by row number, of the few rows counted
    SELECT g.scope, g.scope_key,
           jsonb_path_query_array(jsonb_agg(jsonb_build_object('row_no', b.row_no, 'uscc', b.uscc,
               'subject_name', b.subject_name, 'problem', CASE WHEN NOT b.valid THEN 'invalid' ELSE 'duplicate' END)
               ORDER BY b.row_no), '$[0 to 19]') AS rows
    FROM judged b
    CROSS JOIN LATERAL (VALUES ('city', '370800'), ('district', b.district)) AS g(scope, scope_key)
    WHERE b.bad AND g.scope_key IS NOT NULL
    GROUP BY g.scope, g.scope_key
), agg AS (
    SELECT c.scope, c.scope_key, c.numerator, c.denominator, coalesce(l.rows, '[]'::jsonb) AS rows
    FROM counts c LEFT JOIN listed l ON l.scope = c.scope AND l.scope_key = c.scope_key
    WHERE c.scope_key IS NOT NULL AND c.denominator > 0
)
SELECT c.scope::text, c.scope_key::text, coalesce(a.numerator, 0) AS numerator, coalesce(a.denominator, 0) AS denominator,
       a.numerator / nullif(a.denominator, 0) AS value,
       jsonb_build_object('file', (SELECT sha256 FROM f), 'rows', coalesce(a.rows, '[]'::jsonb)) AS evidence
FROM (VALUES ('city', '370800')) AS c(scope, scope_key)
LEFT JOIN agg a ON a.scope = c.scope AND a.scope_key = c.scope_key
UNION ALL
SELECT scope, scope_key, numerator, denominator, numerator / nullif(denominator, 0),
       jsonb_build_object('file', (SELECT sha256 FROM f), 'rows', rows) FROM agg WHERE scope <> 'city'

-- I39 违规纳入信用记录: rows delivered in M quarantined with reason prohibited_category (FEEDS.md
-- "Prohibited content"), any feed; a count, also per delivering unit.
WITH q AS (  -- quarantine.every_feed: every feed's quarantine table, generated from the feed specs
    SELECT feed, unit, file_sha256, row_no FROM quarantine.every_feed
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
), groups AS (
    SELECT 'city' AS scope, '370800' AS scope_key, q.* FROM q
    UNION ALL SELECT 'unit', q.unit, q.* FROM q
), agg AS (
    SELECT scope, scope_key, count(*)::numeric AS n,
           jsonb_path_query_array(jsonb_agg(jsonb_build_object('feed', feed, 'unit', unit, 'file', file_sha256,
               'row_no', row_no) ORDER BY feed, unit, file_sha256, row_no), '$[0 to 19]') AS rows
    FROM groups GROUP BY scope, scope_key
)
SELECT c.scope::text, c.scope_key::text, coalesce(a.n, 0) AS numerator, NULL::numeric AS denominator,
       coalesce(a.n, 0) AS value, jsonb_build_object('rows', coalesce(a.rows, '[]'::jsonb)) AS evidence
FROM (VALUES ('city', '370800')) AS c(scope, scope_key)
LEFT JOIN agg a ON a.scope = c.scope AND a.scope_key = c.scope_key
UNION ALL
SELECT scope, scope_key, n, NULL, n, jsonb_build_object('rows', rows) FROM agg WHERE scope <> 'city'

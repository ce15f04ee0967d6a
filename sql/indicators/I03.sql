-- I03 双公示信息质量: correct rows / delivered rows (correct + quarantined) of license + penalty
-- delivered in M; per unit (delivering unit) and per district (the county unit's own district, else
-- the subject's 所属区县 in M's registry snapshot).
WITH delivered AS (
    SELECT 'license' AS feed, unit, file_sha256, row_no, uscc, true AS correct, NULL::text[] AS reasons
    FROM raw.license WHERE month = %(month)s
    UNION ALL
    SELECT 'license', unit, file_sha256, row_no, upper(trim(uscc)), false, reasons
    FROM quarantine.license WHERE month = %(month)s
    UNION ALL
    SELECT 'penalty', unit, file_sha256, row_no, uscc, true, NULL FROM raw.penalty WHERE month = %(month)s
    UNION ALL
    SELECT 'penalty', unit, file_sha256, row_no, upper(trim(uscc)), false, reasons
    FROM quarantine.penalty WHERE month = %(month)s
), d AS (
    SELECT x.*, coalesce(u.district, s.district) AS district
    FROM delivered x
    LEFT JOIN wh.units u ON u.unit = x.unit
    LEFT JOIN wh.subjects s ON s.month = %(month)s AND s.in_registry AND s.uscc = x.uscc
), groups AS (
    SELECT 'city' AS scope, '370800' AS scope_key, d.* FROM d
    UNION ALL SELECT 'unit', d.unit, d.* FROM d
    UNION ALL SELECT 'district', d.district, d.* FROM d WHERE d.district IS NOT NULL
), agg AS (
    SELECT scope, scope_key,
           count(*) FILTER (WHERE correct)::numeric AS numerator,
           count(*)::numeric AS denominator,
           jsonb_build_object(
               'quarantined', count(*) FILTER (WHERE NOT correct),
               'rows', jsonb_path_query_array(coalesce(jsonb_agg(jsonb_build_object(
                   'feed', feed, 'unit', unit, 'file', file_sha256, 'row_no', row_no, 'reasons', reasons)
                   ORDER BY feed, unit, file_sha256, row_no) FILTER (WHERE NOT correct), '[]'), '$[0 to 19]')
           ) AS evidence
    FROM groups GROUP BY scope, scope_key
)
SELECT c.scope::text, c.scope_key::text, coalesce(a.numerator, 0) AS numerator, coalesce(a.denominator, 0) AS denominator,
       a.numerator / nullif(a.denominator, 0) AS value,
       coalesce(a.evidence, '{"quarantined": 0, "rows": []}'::jsonb) AS evidence
FROM (VALUES ('city', '370800')) AS c(scope, scope_key)
LEFT JOIN agg a ON a.scope = c.scope AND a.scope_key = c.scope_key
UNION ALL
SELECT scope, scope_key, numerator, denominator, numerator / nullif(denominator, 0), evidence
FROM agg WHERE scope <> 'city'

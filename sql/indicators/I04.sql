-- I04 双公示及时报送: among correct license + penalty rows delivered in M, the share with
-- wd(决定日期, delivery date) <= 7 (license 许可决定日期, penalty 处罚决定日期). A row whose dates lie
-- outside the calendar (wd NULL) is not on time. Per unit and per district as I03.
WITH delivered AS (
    SELECT 'license' AS feed, unit, file_sha256, row_no, uscc, decided_on, delivery_date
    FROM raw.license WHERE month = %(month)s
    UNION ALL
    SELECT 'penalty', unit, file_sha256, row_no, uscc, decided_on, delivery_date
    FROM raw.penalty WHERE month = %(month)s
), d AS (
    SELECT x.*, wh.wd(x.decided_on, x.delivery_date) AS wd, coalesce(u.district, s.district) AS district
    FROM delivered x
    LEFT JOIN wh.units u ON u.unit = x.unit
    LEFT JOIN wh.subjects s ON s.month = %(month)s AND s.in_registry AND s.uscc = x.uscc
), groups AS (
    SELECT 'city' AS scope, '370800' AS scope_key, d.* FROM d
    UNION ALL SELECT 'unit', d.unit, d.* FROM d
    UNION ALL SELECT 'district', d.district, d.* FROM d WHERE d.district IS NOT NULL
), agg AS (
    SELECT scope, scope_key,
           count(*) FILTER (WHERE wd <= 7)::numeric AS numerator,
           count(*)::numeric AS denominator,
           jsonb_build_object(
               'late', count(*) FILTER (WHERE wd > 7 OR wd IS NULL),
               'rows', jsonb_path_query_array(coalesce(jsonb_agg(jsonb_build_object(
                   'feed', feed, 'unit', unit, 'file', file_sha256, 'row_no', row_no,
                   'decided_on', decided_on, 'delivery_date', delivery_date, 'wd', wd)
                   ORDER BY unit, feed, file_sha256, row_no) FILTER (WHERE wd > 7 OR wd IS NULL), '[]'), '$[0 to 19]')
           ) AS evidence
    FROM groups GROUP BY scope, scope_key
)
SELECT c.scope::text, c.scope_key::text, coalesce(a.numerator, 0) AS numerator, coalesce(a.denominator, 0) AS denominator,
       a.numerator / nullif(a.denominator, 0) AS value,
       coalesce(a.evidence, '{"late": 0, "rows": []}'::jsonb) AS evidence
FROM (VALUES ('city', '370800')) AS c(scope, scope_key)
LEFT JOIN agg a ON a.scope = c.scope AND a.scope_key = c.scope_key
UNION ALL
SELECT scope, scope_key, numerator, denominator, numerator / nullif(denominator, 0), evidence
FROM agg WHERE scope <> 'city'

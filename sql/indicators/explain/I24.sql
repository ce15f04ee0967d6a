-- I24 严重失信主体占法人企业比例, explained: each USCC of the latest-state blacklist rows of 法人及非法人组织
-- listed by end(M) and not removed by then is in the numerator once (its first such row in the scope);
-- E(M) line by line is the denominator (at district scope, the district's). Other latest-state rows,
-- replaced and quarantined blacklist rows, and registry rows not in E(M) are left out.
-- Scopes as ../I24.sql: a unit's listings over the city's E(M); a district's over the district's.
WITH b AS (
    SELECT b.*, s.district,
           CASE WHEN b.subject_category IS DISTINCT FROM '法人及非法人组织' THEN '主体类别 ' || coalesce(b.subject_category, '') || ', not 法人及非法人组织'
                WHEN b.uscc IS NULL THEN 'no USCC'
                WHEN b.listed_on IS NULL OR b.listed_on > %(month_end)s THEN 'listed after end(M)'
                WHEN b.removed_on <= %(month_end)s THEN 'removed by end(M)' END AS excluded
    FROM wh.blacklist b LEFT JOIN wh.subjects s ON s.month = %(month)s AND s.in_registry AND s.uscc = b.uscc
    WHERE b.as_of_month = %(month)s
), scoped AS (
    SELECT * FROM b WHERE %(scope)s = 'city' OR (%(scope)s = 'unit' AND unit = %(scope_key)s)
                       OR (%(scope)s = 'district' AND district = %(scope_key)s)
), n AS (
    SELECT *, row_number() OVER (PARTITION BY uscc, excluded IS NULL ORDER BY listed_on, list_type, unit, file_sha256, row_no) AS nth
    FROM scoped
)
SELECT (excluded IS NULL AND nth = 1)::int AS in_numerator, 0 AS in_denominator, 1::numeric AS weight,
       coalesce(excluded, CASE WHEN nth > 1 THEN 'USCC already counted on another listing' ELSE '' END) AS reason,
       'blacklist'::text AS feed, unit, month, file_sha256, row_no, concat_ws('|', list_type, uscc, listed_on) AS key,
       subject_category, listed_on, removed_on, district, NULL::text AS subject_type, NULL::text AS registration_status
FROM n
UNION ALL
SELECT 0, e.counted::int, 1, e.reason, 'registry', e.unit, e.month, e.file_sha256, e.row_no, e.uscc,
       NULL, NULL, NULL, e.district, e.subject_type, e.registration_status
FROM wh.explain_existing_enterprises(%(month)s) e
WHERE %(scope)s <> 'district' OR e.district = %(scope_key)s
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL, NULL, NULL, NULL, NULL
FROM (SELECT * FROM wh.explain_superseded('blacklist', %(month)s, ARRAY['list_type', 'uscc', 'listed_on'])
      UNION ALL SELECT * FROM wh.explain_quarantined('blacklist', '0001-01-01', %(month)s, ARRAY['list_type', 'uscc', 'listed_on'])) x
WHERE %(scope)s = 'city' OR (%(scope)s = 'unit' AND unit = %(scope_key)s)

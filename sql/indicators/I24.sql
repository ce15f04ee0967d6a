-- I24 严重失信主体占法人企业比例: distinct USCC of latest-state blacklist rows with 主体类别
-- 法人及非法人组织, 列入日期 <= end(M) and no 移出日期 <= end(M) / |E(M)|. Per unit (the unit that
-- delivered the listing's latest row; denominator |E(M)|) and per district (the subject's 所属区县
-- in M's registry snapshot; denominator E(M) of that district).
WITH l AS (
    SELECT b.*, s.district FROM wh.blacklist b
    LEFT JOIN wh.subjects s ON s.month = %(month)s AND s.in_registry AND s.uscc = b.uscc
    WHERE b.as_of_month = %(month)s AND b.subject_category = '法人及非法人组织' AND b.uscc IS NOT NULL AND b.listed_on <= %(month_end)s
      AND (b.removed_on IS NULL OR b.removed_on > %(month_end)s)
), e AS (SELECT uscc, district FROM wh.subjects WHERE month = %(month)s AND existing),
groups AS (
    SELECT 'city' AS scope, '370800' AS scope_key, l.* FROM l
    UNION ALL SELECT 'unit', l.unit, l.* FROM l
    UNION ALL SELECT 'district', l.district, l.* FROM l WHERE l.district IS NOT NULL
), num AS (
    SELECT scope, scope_key, count(DISTINCT uscc) AS n,
           jsonb_path_query_array(jsonb_agg(jsonb_build_object('uscc', uscc, 'list_type', list_type,
               'listed_on', listed_on, 'unit', unit, 'file', file_sha256, 'row_no', row_no)
               ORDER BY uscc, list_type, listed_on), '$[0 to 19]') AS rows
    FROM groups GROUP BY scope, scope_key
), keys AS (
    SELECT 'city' AS scope, '370800' AS scope_key, (SELECT count(*) FROM e) AS den
    UNION ALL SELECT DISTINCT 'unit', unit, (SELECT count(*) FROM e) FROM l
    UNION ALL SELECT 'district', d.district, count(e.uscc) FROM (
        SELECT district FROM e UNION SELECT district FROM l) d
        LEFT JOIN e ON e.district = d.district WHERE d.district IS NOT NULL GROUP BY d.district
)
SELECT k.scope::text, k.scope_key::text, coalesce(n.n, 0)::numeric AS numerator, k.den::numeric AS denominator,
       coalesce(n.n, 0)::numeric / nullif(k.den, 0) AS value,
       jsonb_build_object('listings', coalesce(n.rows, '[]'::jsonb)) AS evidence
FROM keys k LEFT JOIN num n ON n.scope = k.scope AND n.scope_key = k.scope_key

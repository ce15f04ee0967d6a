-- I17 A级纳税人和海关高级认证企业占比, explained: E(M) line by line is the denominator; an existing
-- enterprise graded A for the latest 评价年度 of tax_grade's latest state, or whose latest customs_aeo
-- row is 高级认证企业 有效, is in the numerator. The latest-state tax_grade and customs_aeo rows follow
-- with what became of them; replaced and quarantined rows of both feeds are left out.
WITH t AS (SELECT * FROM wh.tax_grade WHERE as_of_month = %(month)s),
y AS (SELECT max(eval_year) AS y FROM t),
a AS (SELECT DISTINCT t.uscc FROM t, y WHERE t.eval_year = y.y AND t.grade = 'A'),
c AS (SELECT * FROM wh.customs_aeo WHERE as_of_month = %(month)s),
aeo AS (SELECT DISTINCT uscc FROM c WHERE certification_type = '高级认证企业' AND status = '有效'),
e AS (SELECT * FROM wh.explain_existing_enterprises(%(month)s)),
counted AS (SELECT uscc FROM wh.subjects WHERE month = %(month)s AND existing)  -- E(M), as I17.sql reads it: `e` is then read once, not kept
SELECT (e.counted AND (a.uscc IS NOT NULL OR aeo.uscc IS NOT NULL))::int AS in_numerator, e.counted::int AS in_denominator,
       1::numeric AS weight, e.reason, 'registry'::text AS feed, e.unit, e.month, e.file_sha256, e.row_no, e.uscc AS key,
       e.subject_type, e.registration_status, (a.uscc IS NOT NULL) AS tax_a, (aeo.uscc IS NOT NULL) AS customs_advanced,
       (SELECT y FROM y) AS tax_year, NULL::text AS grade_or_status
FROM e LEFT JOIN a ON a.uscc = e.uscc AND e.counted LEFT JOIN aeo ON aeo.uscc = e.uscc AND e.counted
UNION ALL
SELECT 0, 0, 0,
       CASE WHEN t.eval_year IS DISTINCT FROM (SELECT y FROM y) THEN '评价年度 ' || t.eval_year || ', not the latest'
            WHEN t.grade IS DISTINCT FROM 'A' THEN '信用级别 ' || coalesce(t.grade, '') || ', not A'
            WHEN x.uscc IS NULL THEN 'USCC not an existing enterprise of M'
            ELSE 'counted on the registry line of its USCC' END,
       'tax_grade', t.unit, t.month, t.file_sha256, t.row_no, concat_ws('|', t.uscc, t.eval_year),
       NULL, NULL, NULL, NULL, t.eval_year, t.grade
FROM t LEFT JOIN counted x ON x.uscc = t.uscc  -- a join, not a lookup per row
UNION ALL
SELECT 0, 0, 0,
       CASE WHEN c.certification_type IS DISTINCT FROM '高级认证企业' THEN '认证类型 ' || coalesce(c.certification_type, '') || ', not 高级认证企业'
            WHEN c.status IS DISTINCT FROM '有效' THEN '状态 ' || coalesce(c.status, '') || ', not 有效'
            WHEN x.uscc IS NULL THEN 'USCC not an existing enterprise of M'
            ELSE 'counted on the registry line of its USCC' END,
       'customs_aeo', c.unit, c.month, c.file_sha256, c.row_no, c.uscc, NULL, NULL, NULL, NULL, NULL,
       concat_ws(' ', c.certification_type, c.status)
FROM c LEFT JOIN counted x ON x.uscc = c.uscc
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL, NULL, NULL, NULL, NULL
FROM (SELECT * FROM wh.explain_superseded('tax_grade', %(month)s, ARRAY['uscc', 'eval_year'])
      UNION ALL SELECT * FROM wh.explain_quarantined('tax_grade', '0001-01-01', %(month)s, ARRAY['uscc', 'eval_year'])
      UNION ALL SELECT * FROM wh.explain_superseded('customs_aeo', %(month)s, ARRAY['uscc'])
      UNION ALL SELECT * FROM wh.explain_quarantined('customs_aeo', '0001-01-01', %(month)s, ARRAY['uscc'])) x

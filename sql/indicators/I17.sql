-- I17 A级纳税人和海关高级认证企业占比: USCC in E(M) that (a) have 信用级别 A for Y, the latest 评价年度
-- in the latest state of tax_grade, or (b) whose latest-state customs_aeo row is 高级认证企业 with
-- 状态 有效 / |E(M)|; a subject counts once.
WITH e AS (SELECT uscc FROM wh.subjects WHERE month = %(month)s AND existing),
t AS (SELECT * FROM wh.tax_grade WHERE as_of_month = %(month)s),
y AS (SELECT max(eval_year) AS y FROM t),
a AS (SELECT DISTINCT t.uscc FROM t, y WHERE t.eval_year = y.y AND t.grade = 'A'),
c AS (SELECT uscc FROM wh.customs_aeo WHERE as_of_month = %(month)s AND certification_type = '高级认证企业' AND status = '有效'),
j AS (SELECT e.uscc, a.uscc IS NOT NULL AS tax_a, c.uscc IS NOT NULL AS aeo
      FROM e LEFT JOIN a ON a.uscc = e.uscc LEFT JOIN c ON c.uscc = e.uscc)
SELECT 'city'::text AS scope, '370800'::text AS scope_key,
       count(*) FILTER (WHERE tax_a OR aeo)::numeric AS numerator,
       count(*)::numeric AS denominator,
       count(*) FILTER (WHERE tax_a OR aeo)::numeric / nullif(count(*), 0) AS value,
       jsonb_build_object('tax_year', (SELECT y FROM y), 'tax_a', count(*) FILTER (WHERE tax_a),
           'aeo', count(*) FILTER (WHERE aeo),
           'subjects', jsonb_path_query_array(coalesce(jsonb_agg(uscc ORDER BY uscc) FILTER (WHERE tax_a OR aeo), '[]'), '$[0 to 19]'))
           AS evidence
FROM j

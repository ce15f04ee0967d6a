-- I34 行政处罚信用修复超期, explained: each latest-state repair row of type 行政处罚 with 申请日期 in the last
-- 12 months and wd(申请日期, 办结日期 or end(M)) > 5 counts; other latest-state rows, replaced and
-- quarantined repair rows are left out.
WITH s AS (SELECT *, wh.wd(applied_on, coalesce(closed_on, %(month_end)s)) AS wd FROM wh.repair WHERE as_of_month = %(month)s),
j AS (
    SELECT *, CASE WHEN info_type IS DISTINCT FROM '行政处罚' THEN '修复信息类型 ' || coalesce(info_type, '') || ', not 行政处罚'
                   WHEN applied_on IS NULL OR applied_on NOT BETWEEN %(window_start)s AND %(month_end)s
                       THEN 'outside the window (申请日期)'
                   WHEN NOT coalesce(wd > 5, false) THEN 'done within 5 working days' END AS excluded
    FROM s
)
SELECT (excluded IS NULL)::int AS in_numerator, 0 AS in_denominator, 1::numeric AS weight, coalesce(excluded, '') AS reason,
       'repair'::text AS feed, unit, month, file_sha256, row_no, repair_no AS key, info_type, applied_on, closed_on, wd
FROM j
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL, NULL, NULL
FROM (SELECT * FROM wh.explain_superseded('repair', %(month)s, ARRAY['repair_no'])
      UNION ALL SELECT * FROM wh.explain_quarantined('repair', '0001-01-01', %(month)s, ARRAY['repair_no'])) x

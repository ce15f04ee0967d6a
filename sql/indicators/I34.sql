-- I34 行政处罚信用修复超期: latest-state repair rows of type 行政处罚 with 申请日期 in the last 12 months
-- and wd(申请日期, 办结日期, or end(M) if none) > 5 (a count).
WITH s AS (
    SELECT *, wh.wd(applied_on, coalesce(closed_on, %(month_end)s)) AS wd FROM wh.repair
    WHERE as_of_month = %(month)s AND info_type = '行政处罚' AND applied_on BETWEEN %(window_start)s AND %(month_end)s
)
SELECT 'city'::text AS scope, '370800'::text AS scope_key,
       count(*) FILTER (WHERE wd > 5)::numeric AS numerator, NULL::numeric AS denominator,
       count(*) FILTER (WHERE wd > 5)::numeric AS value,
       jsonb_build_object('overdue', jsonb_path_query_array(coalesce(jsonb_agg(jsonb_build_object(
           'repair_no', repair_no, 'applied_on', applied_on, 'closed_on', closed_on, 'wd', wd,
           'file', file_sha256, 'row_no', row_no) ORDER BY applied_on, repair_no) FILTER (WHERE wd > 5), '[]'), '$[0 to 19]'))
           AS evidence
FROM s

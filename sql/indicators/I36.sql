-- I36 异议平均处理天数: latest state of objection, rows with 是否有效异议 是 and 办结日期 in the last 12
-- months: mean of (办结日期 − 受理日期) in calendar days (numerator: total days; denominator: rows).
WITH o AS (
    SELECT *, closed_on - received_on AS days FROM wh.objection
    WHERE as_of_month = %(month)s AND is_valid = '是' AND closed_on BETWEEN %(window_start)s AND %(month_end)s
)
SELECT 'city'::text AS scope, '370800'::text AS scope_key,
       coalesce(sum(days), 0)::numeric AS numerator, count(*)::numeric AS denominator,
       sum(days)::numeric / nullif(count(*), 0) AS value,
       jsonb_build_object('longest', jsonb_path_query_array(coalesce(jsonb_agg(jsonb_build_object(
           'objection_no', objection_no, 'received_on', received_on, 'closed_on', closed_on, 'days', days)
           ORDER BY days DESC, objection_no), '[]'), '$[0 to 19]')) AS evidence
FROM o

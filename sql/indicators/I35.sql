-- I35 有效异议信息占比: latest-state objection rows with 是否有效异议 是 and 受理日期 in the last 12 months
-- / correct license + penalty rows delivered in M or before.
WITH o AS (
    SELECT * FROM wh.objection
    WHERE as_of_month = %(month)s AND is_valid = '是' AND received_on BETWEEN %(window_start)s AND %(month_end)s
), r AS (
    SELECT (SELECT count(*) FROM raw.license WHERE month <= %(month)s)
         + (SELECT count(*) FROM raw.penalty WHERE month <= %(month)s) AS n
)
SELECT 'city'::text AS scope, '370800'::text AS scope_key,
       count(o.*)::numeric AS numerator, (SELECT n FROM r)::numeric AS denominator,
       count(o.*)::numeric / nullif((SELECT n FROM r), 0) AS value,
       jsonb_build_object('objections', jsonb_path_query_array(coalesce(jsonb_agg(jsonb_build_object(
           'objection_no', o.objection_no, 'received_on', o.received_on, 'file', o.file_sha256, 'row_no', o.row_no)
           ORDER BY o.received_on, o.objection_no), '[]'), '$[0 to 19]')) AS evidence
FROM o

-- I26 联合奖惩案例机制化反馈: latest-state joint_case rows with 实施日期 in M: those with 反馈国家平台日期
-- <= the 30th of M (end(M) in February) / all of them.
WITH s AS (
    SELECT *, reported_on <= least(%(month)s::date + 29, %(month_end)s::date) AS fed_back
    FROM wh.joint_case
    WHERE as_of_month = %(month)s AND implemented_on BETWEEN %(month)s AND %(month_end)s
)
SELECT 'city'::text AS scope, '370800'::text AS scope_key,
       count(*) FILTER (WHERE fed_back)::numeric AS numerator,
       count(*)::numeric AS denominator,
       count(*) FILTER (WHERE fed_back)::numeric / nullif(count(*), 0) AS value,
       jsonb_build_object('not_fed_back', jsonb_path_query_array(coalesce(jsonb_agg(jsonb_build_object(
           'case_no', case_no, 'implemented_on', implemented_on, 'reported_on', reported_on, 'unit', unit,
           'file', file_sha256, 'row_no', row_no) ORDER BY case_no) FILTER (WHERE fed_back IS NOT TRUE), '[]'), '$[0 to 19]'))
           AS evidence
FROM s

-- I25 近12个月严重失信主体退出比例: over latest-state blacklist rows with 主体类别 法人及非法人组织:
-- distinct USCC with a row whose 移出日期 is in the last 12 months / distinct USCC with a row listed at
-- some time in the last 12 months (列入日期 <= end(M) and 移出日期 empty or >= the window's first day).
WITH l AS (
    SELECT * FROM wh.blacklist
    WHERE as_of_month = %(month)s AND subject_category = '法人及非法人组织' AND uscc IS NOT NULL
), x AS (
    SELECT uscc, bool_or(removed_on BETWEEN %(window_start)s AND %(month_end)s) AS exited,
           bool_or(listed_on <= %(month_end)s AND (removed_on IS NULL OR removed_on >= %(window_start)s)) AS listed
    FROM l GROUP BY uscc
)
SELECT 'city'::text AS scope, '370800'::text AS scope_key,
       count(*) FILTER (WHERE exited)::numeric AS numerator,
       count(*) FILTER (WHERE listed)::numeric AS denominator,
       count(*) FILTER (WHERE exited)::numeric / nullif(count(*) FILTER (WHERE listed), 0) AS value,
       jsonb_build_object('exited', jsonb_path_query_array(coalesce(jsonb_agg(uscc ORDER BY uscc) FILTER (WHERE exited), '[]'), '$[0 to 19]'),
                          'listed', jsonb_path_query_array(coalesce(jsonb_agg(uscc ORDER BY uscc) FILTER (WHERE listed), '[]'), '$[0 to 19]'))
           AS evidence
FROM x

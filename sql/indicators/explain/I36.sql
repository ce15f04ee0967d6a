-- I36 异议平均处理天数, explained: each latest-state objection row with 是否有效异议 是 and 办结日期 in the last
-- 12 months is in the numerator with its days (办结日期 − 受理日期) as weight, and in the denominator with
-- weight 1 — two lines, since the two sums weigh differently. Other latest-state rows, replaced and
-- quarantined objection rows are left out.
WITH o AS (
    SELECT *, closed_on - received_on AS days,
           CASE WHEN is_valid IS DISTINCT FROM '是' THEN '是否有效异议 ' || coalesce(is_valid, '') || ', not 是'
                WHEN closed_on IS NULL OR closed_on NOT BETWEEN %(window_start)s AND %(month_end)s
                    THEN 'not closed in the window (办结日期)' END AS excluded
    FROM wh.objection WHERE as_of_month = %(month)s
)
SELECT (excluded IS NULL)::int AS in_numerator, 0 AS in_denominator, coalesce(days, 0)::numeric AS weight,
       coalesce(excluded, '') AS reason, 'objection'::text AS feed, unit, month, file_sha256, row_no, objection_no AS key,
       'days' AS line, is_valid, received_on, closed_on, days
FROM o
UNION ALL
SELECT 0, 1, 1, '', 'objection', unit, month, file_sha256, row_no, objection_no, 'count', is_valid, received_on, closed_on, days
FROM o WHERE excluded IS NULL
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL, NULL, NULL, NULL
FROM (SELECT * FROM wh.explain_superseded('objection', %(month)s, ARRAY['objection_no'])
      UNION ALL SELECT * FROM wh.explain_quarantined('objection', '0001-01-01', %(month)s, ARRAY['objection_no'])) x

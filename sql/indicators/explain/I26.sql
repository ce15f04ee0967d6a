-- I26 联合奖惩案例机制化反馈, explained: the latest-state joint_case rows with 实施日期 in M are the
-- denominator, those fed back to the national platform by the 30th of M (end(M) in February) the
-- numerator; other latest-state rows, replaced and quarantined joint_case rows are left out.
WITH s AS (
    SELECT *, coalesce(implemented_on BETWEEN %(month)s AND %(month_end)s, false) AS in_month,
           coalesce(reported_on <= least(%(month)s::date + 29, %(month_end)s::date), false) AS fed_back
    FROM wh.joint_case WHERE as_of_month = %(month)s
)
SELECT (in_month AND fed_back)::int AS in_numerator, in_month::int AS in_denominator, 1::numeric AS weight,
       CASE WHEN in_month THEN '' ELSE '实施日期 not in M' END AS reason,
       'joint_case'::text AS feed, unit, month, file_sha256, row_no, case_no AS key, implemented_on, reported_on
FROM s
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL
FROM (SELECT * FROM wh.explain_superseded('joint_case', %(month)s, ARRAY['case_no'])
      UNION ALL SELECT * FROM wh.explain_quarantined('joint_case', '0001-01-01', %(month)s, ARRAY['case_no'])) x

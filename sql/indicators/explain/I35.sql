-- I35 有效异议信息占比, explained: each latest-state objection row with 是否有效异议 是 and 受理日期 in the last
-- 12 months is in the numerator; each correct license + penalty row delivered in M or before in the
-- denominator. Other latest-state objection rows, replaced and quarantined objection rows, and
-- quarantined license + penalty rows are left out.
WITH o AS (
    SELECT *, CASE WHEN is_valid IS DISTINCT FROM '是' THEN '是否有效异议 ' || coalesce(is_valid, '') || ', not 是'
                   WHEN received_on IS NULL OR received_on NOT BETWEEN %(window_start)s AND %(month_end)s
                       THEN 'outside the window (受理日期)' END AS excluded
    FROM wh.objection WHERE as_of_month = %(month)s
)
SELECT (excluded IS NULL)::int AS in_numerator, 0 AS in_denominator, 1::numeric AS weight, coalesce(excluded, '') AS reason,
       'objection'::text AS feed, unit, month, file_sha256, row_no, objection_no AS key, is_valid, received_on
FROM o
UNION ALL
SELECT 0, 1, 1, '', 'license', unit, month, file_sha256, row_no, concat_ws('|', decision_no, authority_uscc), NULL, NULL
FROM raw.license WHERE month <= %(month)s
UNION ALL
SELECT 0, 1, 1, '', 'penalty', unit, month, file_sha256, row_no, concat_ws('|', decision_no, authority_uscc), NULL, NULL
FROM raw.penalty WHERE month <= %(month)s
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL
FROM (SELECT * FROM wh.explain_superseded('objection', %(month)s, ARRAY['objection_no'])
      UNION ALL SELECT * FROM wh.explain_quarantined('objection', '0001-01-01', %(month)s, ARRAY['objection_no'])
      UNION ALL SELECT * FROM wh.explain_quarantined('license', '0001-01-01', %(month)s, ARRAY['decision_no', 'authority_uscc'])
      UNION ALL SELECT * FROM wh.explain_quarantined('penalty', '0001-01-01', %(month)s, ARRAY['decision_no', 'authority_uscc'])) x

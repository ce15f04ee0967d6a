-- I31 重大失信事件及治理反馈, explained: each latest-state credit_event row of 性质 重大失信 with 事件日期 in the
-- last 12 months and 处理日期 empty or more than 7 working days after counts; other latest-state rows,
-- replaced and quarantined credit_event rows are left out.
WITH s AS (SELECT *, wh.wd(event_date, handled_on) AS wd FROM wh.credit_event WHERE as_of_month = %(month)s),
j AS (
    SELECT *, CASE WHEN nature IS DISTINCT FROM '重大失信' THEN '性质 ' || coalesce(nature, '') || ', not 重大失信'
                   WHEN event_date IS NULL OR event_date NOT BETWEEN %(window_start)s AND %(month_end)s
                       THEN 'outside the window (事件日期)'
                   WHEN handled_on IS NOT NULL AND wd <= 7 THEN 'handled within 7 working days' END AS excluded
    FROM s
)
SELECT (excluded IS NULL)::int AS in_numerator, 0 AS in_denominator, 1::numeric AS weight, coalesce(excluded, '') AS reason,
       'credit_event'::text AS feed, unit, month, file_sha256, row_no, event_no AS key, nature, event_date, handled_on, wd
FROM j
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL, NULL, NULL
FROM (SELECT * FROM wh.explain_superseded('credit_event', %(month)s, ARRAY['event_no'])
      UNION ALL SELECT * FROM wh.explain_quarantined('credit_event', '0001-01-01', %(month)s, ARRAY['event_no'])) x

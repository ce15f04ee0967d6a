-- I31 重大失信事件及治理反馈: latest-state credit_event rows with 性质 重大失信, 事件日期 in the last 12
-- months, and 处理日期 empty or wd(事件日期, 处理日期) > 7 (a count).
WITH s AS (
    SELECT *, wh.wd(event_date, handled_on) AS wd FROM wh.credit_event
    WHERE as_of_month = %(month)s AND nature = '重大失信' AND event_date BETWEEN %(window_start)s AND %(month_end)s
      AND (handled_on IS NULL OR wh.wd(event_date, handled_on) > 7)
)
SELECT 'city'::text AS scope, '370800'::text AS scope_key,
       count(*)::numeric AS numerator, NULL::numeric AS denominator, count(*)::numeric AS value,
       jsonb_build_object('events', jsonb_path_query_array(coalesce(jsonb_agg(jsonb_build_object(
           'event_no', event_no, 'event_date', event_date, 'handled_on', handled_on, 'wd', wd,
           'file', file_sha256, 'row_no', row_no) ORDER BY event_date, event_no), '[]'), '$[0 to 19]')) AS evidence
FROM s

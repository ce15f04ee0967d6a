-- I29 负面信用事件：社会诚信: latest-state credit_event rows with 领域 社会诚信, 性质 not 正面, 是否主动处理 否 and
-- 事件日期 in the last 12 months (a count).
WITH s AS (
    SELECT * FROM wh.latest_credit_event(%(month)s)
    WHERE domain = '社会诚信' AND nature <> '正面' AND handled_proactively = '否'
      AND event_date BETWEEN %(window_start)s AND %(month_end)s
)
SELECT 'city'::text AS scope, '370800'::text AS scope_key,
       count(*)::numeric AS numerator, NULL::numeric AS denominator, count(*)::numeric AS value,
       jsonb_build_object('events', jsonb_path_query_array(coalesce(jsonb_agg(jsonb_build_object(
           'event_no', event_no, 'event_date', event_date, 'nature', nature, 'file', file_sha256, 'row_no', row_no)
           ORDER BY event_date, event_no), '[]'), '$[0 to 19]')) AS evidence
FROM s

-- I12 信易贷平台注册企业占比, explained: E(M) line by line (registry snapshot rows) is the denominator; an
-- existing enterprise with a latest-state xyd_registration row 状态 正常 is in the numerator. The
-- latest-state xyd_registration rows follow with what became of them; replaced and quarantined
-- xyd_registration rows, and registry rows not in E(M), are left out.
WITH reg AS (SELECT * FROM wh.xyd_registration WHERE as_of_month = %(month)s),
ok AS (SELECT uscc, string_agg(platform, ';' ORDER BY platform) AS platforms FROM reg WHERE status = '正常' GROUP BY uscc),
e AS (SELECT * FROM wh.explain_existing_enterprises(%(month)s)),
existing AS (SELECT uscc FROM wh.subjects WHERE month = %(month)s AND existing)  -- E(M), as I12.sql reads it: `e` is then read once, not kept
SELECT (e.counted AND ok.uscc IS NOT NULL)::int AS in_numerator, e.counted::int AS in_denominator, 1::numeric AS weight,
       e.reason, 'registry'::text AS feed, e.unit, e.month, e.file_sha256, e.row_no, e.uscc AS key,
       e.subject_type, e.registration_status, ok.platforms AS registered_on, NULL::text AS status
FROM e LEFT JOIN ok ON ok.uscc = e.uscc AND e.counted
UNION ALL
SELECT 0, 0, 0,
       CASE WHEN r.status IS DISTINCT FROM '正常' THEN '状态 ' || coalesce(r.status, '') || ', not 正常'
            WHEN x.uscc IS NULL THEN 'USCC not an existing enterprise of M'
            ELSE 'counted on the registry line of its USCC' END,
       'xyd_registration', r.unit, r.month, r.file_sha256, r.row_no, concat_ws('|', r.uscc, r.platform),
       NULL, NULL, r.platform, r.status
FROM reg r LEFT JOIN existing x ON x.uscc = r.uscc  -- a join, not a lookup per row: E(M) is a city's 200 000
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL, NULL, NULL
FROM wh.explain_superseded('xyd_registration', %(month)s, ARRAY['uscc', 'platform'])
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL, NULL, NULL
FROM wh.explain_quarantined('xyd_registration', '0001-01-01', %(month)s, ARRAY['uscc', 'platform'])

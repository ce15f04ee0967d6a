-- I19 政务服务信用承诺事项占比, explained: M's service_item snapshot, each row in the numerator when 是否实行信用
-- 承诺 是 and in the denominator when 是否法定可承诺 是; the snapshot delivery's quarantined rows and the
-- month's other service_item deliveries are left out.
WITH d AS (SELECT * FROM wh.snapshot_delivery('service_item', %(month)s))
SELECT (s.commitment_applied = '是')::int AS in_numerator, (s.legally_committable = '是')::int AS in_denominator,
       1::numeric AS weight,
       CASE WHEN s.commitment_applied IS DISTINCT FROM '是' AND s.legally_committable IS DISTINCT FROM '是'
            THEN '是否法定可承诺 and 是否实行信用承诺 not 是' ELSE '' END AS reason,
       'service_item'::text AS feed, s.unit, s.month, s.file_sha256, s.row_no, s.item_code AS key,
       s.legally_committable, s.commitment_applied
FROM d JOIN raw.service_item s ON s.month = d.month AND s.unit = d.unit AND s.file_sha256 = d.sha256
UNION ALL
SELECT 0, 0, 0, 'quarantined: ' || array_to_string(q.reasons, ', '), 'service_item', q.unit, q.month, q.file_sha256,
       q.row_no, q.item_code, q.legally_committable, q.commitment_applied
FROM d JOIN quarantine.service_item q ON q.month = d.month AND q.unit = d.unit AND q.file_sha256 = d.sha256
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL
FROM wh.explain_other_deliveries('service_item', %(month)s, ARRAY['item_code'])

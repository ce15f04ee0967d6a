-- I07 水、电、气、仓储物流信息归集, explained: a correct row of water_bill, power_bill, gas_bill or logistics
-- delivered in M with a USCC is in the numerator when that USCC is on M's registry snapshot, weighing
-- 1 / (its feed's rows with a USCC in the scope), so the weights add up to Σ link rates; rows without a
-- USCC and quarantined rows are left out. No denominator. Scopes: city, unit (as ../I07.sql).
WITH reg AS (SELECT DISTINCT uscc FROM wh.registry_snapshot(%(month)s)),
rows AS (
    SELECT 'water_bill' AS feed, unit, month, file_sha256, row_no, concat_ws('|', account_no, billing_month) AS key, uscc
    FROM raw.water_bill WHERE month = %(month)s
    UNION ALL SELECT 'power_bill', unit, month, file_sha256, row_no, concat_ws('|', account_no, billing_month), uscc
    FROM raw.power_bill WHERE month = %(month)s
    UNION ALL SELECT 'gas_bill', unit, month, file_sha256, row_no, concat_ws('|', account_no, billing_month), uscc
    FROM raw.gas_bill WHERE month = %(month)s
    UNION ALL SELECT 'logistics', unit, month, file_sha256, row_no, uscc, uscc
    FROM raw.logistics WHERE month = %(month)s
), scoped AS (
    SELECT * FROM rows WHERE %(scope)s = 'city' OR (%(scope)s = 'unit' AND unit = %(scope_key)s)
), r AS (
    SELECT s.*, reg.uscc IS NOT NULL AS linked,
           count(*) FILTER (WHERE s.uscc IS NOT NULL) OVER (PARTITION BY s.feed) AS with_uscc
    FROM scoped s LEFT JOIN reg ON reg.uscc = s.uscc
), q AS (
    SELECT * FROM wh.explain_quarantined('water_bill', %(month)s, %(month)s, ARRAY['account_no', 'billing_month'])
    UNION ALL SELECT * FROM wh.explain_quarantined('power_bill', %(month)s, %(month)s, ARRAY['account_no', 'billing_month'])
    UNION ALL SELECT * FROM wh.explain_quarantined('gas_bill', %(month)s, %(month)s, ARRAY['account_no', 'billing_month'])
    UNION ALL SELECT * FROM wh.explain_quarantined('logistics', %(month)s, %(month)s, ARRAY['uscc'])
)
SELECT (uscc IS NOT NULL AND linked)::int AS in_numerator, 0 AS in_denominator,
       CASE WHEN uscc IS NOT NULL THEN 1::numeric / with_uscc ELSE 0 END AS weight,
       CASE WHEN uscc IS NULL THEN 'no USCC' WHEN NOT linked THEN 'USCC not on the registry snapshot of M' ELSE '' END AS reason,
       feed, unit, month, file_sha256, row_no, key, uscc,
       CASE WHEN uscc IS NOT NULL THEN linked END AS on_registry_snapshot, with_uscc AS feed_rows_with_uscc
FROM r
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL, NULL
FROM q WHERE %(scope)s = 'city' OR (%(scope)s = 'unit' AND unit = %(scope_key)s)

-- I16 政府部门和国有企业清欠比例, explained: each row of arrears' latest state is in the numerator with
-- weight 已清偿金额 and in the denominator with weight 欠款金额 — two lines per ledger, since the sums
-- weigh differently; replaced and quarantined arrears rows are left out.
WITH s AS (SELECT * FROM wh.arrears WHERE as_of_month = %(month)s)
SELECT 1 AS in_numerator, 0 AS in_denominator, repaid_amount AS weight, ''::text AS reason,
       'arrears'::text AS feed, unit, month, file_sha256, row_no, ledger_no AS key, 'repaid' AS amount, debt_amount, repaid_amount
FROM s
UNION ALL
SELECT 0, 1, debt_amount, '', 'arrears', unit, month, file_sha256, row_no, ledger_no, 'debt', debt_amount, repaid_amount
FROM s
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL, NULL
FROM (SELECT * FROM wh.explain_superseded('arrears', %(month)s, ARRAY['ledger_no'])
      UNION ALL SELECT * FROM wh.explain_quarantined('arrears', '0001-01-01', %(month)s, ARRAY['ledger_no'])) x

-- I06 主体平均信用记录数, explained: every record (a correct row of the 12 record feeds delivered in M or
-- before) is in the numerator, weighing 1/|E(M)| for an enterprise record and 1/P(M) for a
-- natural-person one, so the weights add up to the value; quarantined rows of those feeds are left out.
-- No denominator (the value is stored as the numerator).
-- |E(M)| as ../I06.sql counts it (the lines of E(M) are I12's, I17's, I20's, I24's). k is MATERIALIZED:
-- inlined, its scalar subquery would be run once per use of k.e.
WITH k AS MATERIALIZED (
    SELECT (SELECT count(*) FROM wh.subjects WHERE month = %(month)s AND existing) AS e, wh.population(%(month)s) AS p
), r AS (
    SELECT 'license' AS feed, unit, month, file_sha256, row_no, concat_ws('|', decision_no, authority_uscc) AS key,
           subject_category = '自然人' AS np FROM raw.license WHERE month <= %(month)s
    UNION ALL SELECT 'penalty', unit, month, file_sha256, row_no, concat_ws('|', decision_no, authority_uscc),
           subject_category = '自然人' FROM raw.penalty WHERE month <= %(month)s
    UNION ALL SELECT 'blacklist', unit, month, file_sha256, row_no, concat_ws('|', list_type, uscc, listed_on),
           subject_category = '自然人' FROM raw.blacklist WHERE month <= %(month)s
    UNION ALL SELECT 'commitment', unit, month, file_sha256, row_no, commitment_no, false FROM raw.commitment WHERE month <= %(month)s
    UNION ALL SELECT 'joint_case', unit, month, file_sha256, row_no, case_no, false FROM raw.joint_case WHERE month <= %(month)s
    UNION ALL SELECT 'logistics', unit, month, file_sha256, row_no, uscc, false FROM raw.logistics WHERE month <= %(month)s
    UNION ALL SELECT 'xyd_loan', unit, month, file_sha256, row_no, concat_ws('|', loan_no, institution), false
           FROM raw.xyd_loan WHERE month <= %(month)s
    UNION ALL SELECT 'tax_grade', unit, month, file_sha256, row_no, concat_ws('|', uscc, eval_year), false
           FROM raw.tax_grade WHERE month <= %(month)s
    UNION ALL SELECT 'customs_aeo', unit, month, file_sha256, row_no, uscc, false FROM raw.customs_aeo WHERE month <= %(month)s
    UNION ALL SELECT 'water_bill', unit, month, file_sha256, row_no, concat_ws('|', account_no, billing_month), uscc IS NULL
           FROM raw.water_bill WHERE month <= %(month)s
    UNION ALL SELECT 'power_bill', unit, month, file_sha256, row_no, concat_ws('|', account_no, billing_month), uscc IS NULL
           FROM raw.power_bill WHERE month <= %(month)s
    UNION ALL SELECT 'gas_bill', unit, month, file_sha256, row_no, concat_ws('|', account_no, billing_month), uscc IS NULL
           FROM raw.gas_bill WHERE month <= %(month)s
), q AS (
    SELECT * FROM wh.explain_quarantined('license', '0001-01-01', %(month)s, ARRAY['decision_no', 'authority_uscc'])
    UNION ALL SELECT * FROM wh.explain_quarantined('penalty', '0001-01-01', %(month)s, ARRAY['decision_no', 'authority_uscc'])
    UNION ALL SELECT * FROM wh.explain_quarantined('blacklist', '0001-01-01', %(month)s, ARRAY['list_type', 'uscc', 'listed_on'])
    UNION ALL SELECT * FROM wh.explain_quarantined('commitment', '0001-01-01', %(month)s, ARRAY['commitment_no'])
    UNION ALL SELECT * FROM wh.explain_quarantined('joint_case', '0001-01-01', %(month)s, ARRAY['case_no'])
    UNION ALL SELECT * FROM wh.explain_quarantined('logistics', '0001-01-01', %(month)s, ARRAY['uscc'])
    UNION ALL SELECT * FROM wh.explain_quarantined('xyd_loan', '0001-01-01', %(month)s, ARRAY['loan_no', 'institution'])
    UNION ALL SELECT * FROM wh.explain_quarantined('tax_grade', '0001-01-01', %(month)s, ARRAY['uscc', 'eval_year'])
    UNION ALL SELECT * FROM wh.explain_quarantined('customs_aeo', '0001-01-01', %(month)s, ARRAY['uscc'])
    UNION ALL SELECT * FROM wh.explain_quarantined('water_bill', '0001-01-01', %(month)s, ARRAY['account_no', 'billing_month'])
    UNION ALL SELECT * FROM wh.explain_quarantined('power_bill', '0001-01-01', %(month)s, ARRAY['account_no', 'billing_month'])
    UNION ALL SELECT * FROM wh.explain_quarantined('gas_bill', '0001-01-01', %(month)s, ARRAY['account_no', 'billing_month'])
)
SELECT 1 AS in_numerator, 0 AS in_denominator,
       CASE WHEN k.e > 0 AND k.p > 0 THEN CASE WHEN r.np THEN 1 / k.p ELSE 1::numeric / k.e END END AS weight,
       ''::text AS reason, r.feed, r.unit, r.month, r.file_sha256, r.row_no, r.key,
       CASE WHEN r.np THEN 'natural_person' ELSE 'enterprise' END AS record_of,
       CASE WHEN r.np THEN k.p ELSE k.e END AS divided_by
FROM r, k
UNION ALL
SELECT 0, 0, 0, q.reason, q.feed, q.unit, q.month, q.file_sha256, q.row_no, q.key, NULL, NULL FROM q

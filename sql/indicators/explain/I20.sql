-- I20 信用承诺信息占企业比例, explained: each distinct 承诺编号 of the correct commitment rows delivered in M
-- or before is in the numerator (its first row; a repeat is left out), E(M) line by line the
-- denominator; quarantined commitment rows and registry rows not in E(M) are left out.
WITH c AS (
    SELECT *, row_number() OVER (PARTITION BY commitment_no ORDER BY month, delivery_date, seq, unit, file_sha256, row_no) AS nth
    FROM raw.commitment WHERE month <= %(month)s
)
SELECT (nth = 1 AND commitment_no IS NOT NULL)::int AS in_numerator, 0 AS in_denominator, 1::numeric AS weight,
       CASE WHEN commitment_no IS NULL THEN 'no 承诺编号' WHEN nth > 1 THEN '承诺编号 already counted on an earlier row' ELSE '' END AS reason,
       'commitment'::text AS feed, unit, month, file_sha256, row_no, commitment_no AS key,
       uscc, committed_on, NULL::text AS subject_type, NULL::text AS registration_status
FROM c
UNION ALL
SELECT 0, e.counted::int, 1, e.reason, 'registry', e.unit, e.month, e.file_sha256, e.row_no, e.uscc, e.uscc, NULL,
       e.subject_type, e.registration_status
FROM wh.explain_existing_enterprises(%(month)s) e
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL, NULL, NULL
FROM wh.explain_quarantined('commitment', '0001-01-01', %(month)s, ARRAY['commitment_no'])

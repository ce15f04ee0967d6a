-- I10 重错码纠正率, explained: the latest state of uscc_issue (M's wh.uscc_issue) is the denominator, its
-- rows 已纠正 the numerator; earlier rows of a key replaced by a later one, and quarantined rows
-- delivered in M or before, are left out.
SELECT (correction_status = '已纠正')::int AS in_numerator, 1 AS in_denominator, 1::numeric AS weight, ''::text AS reason,
       'uscc_issue'::text AS feed, unit, month, file_sha256, row_no, issue_no AS key,
       correction_status, corrected_on, uscc, delivery_date
FROM wh.uscc_issue WHERE as_of_month = %(month)s
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL, NULL, NULL
FROM wh.explain_superseded('uscc_issue', %(month)s, ARRAY['issue_no'])
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL, NULL, NULL
FROM wh.explain_quarantined('uscc_issue', '0001-01-01', %(month)s, ARRAY['issue_no'])

-- I18 诚信宣传活动次数, explained: each correct activity row delivered in M counts; quarantined activity rows
-- of M are left out. No denominator.
SELECT 1 AS in_numerator, 0 AS in_denominator, 1::numeric AS weight, ''::text AS reason,
       'activity'::text AS feed, unit, month, file_sha256, row_no, activity_name AS key, activity_date, organiser
FROM raw.activity WHERE month = %(month)s
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL
FROM wh.explain_quarantined('activity', %(month)s, %(month)s, ARRAY['activity_name'])

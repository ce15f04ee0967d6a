-- I04 双公示及时报送, explained: the correct license + penalty rows delivered in M are the denominator,
-- those with wd(决定日期, delivery date) <= 7 the numerator; quarantined rows of M are left out.
-- Scopes as ../I04.sql.
WITH delivered AS (
    SELECT 'license' AS feed, unit, month, file_sha256, row_no, concat_ws('|', decision_no, authority_uscc) AS key,
           uscc, decided_on, delivery_date, NULL::text AS reason
    FROM raw.license WHERE month = %(month)s
    UNION ALL
    SELECT 'penalty', unit, month, file_sha256, row_no, concat_ws('|', decision_no, authority_uscc),
           uscc, decided_on, delivery_date, NULL
    FROM raw.penalty WHERE month = %(month)s
    UNION ALL
    SELECT 'license', unit, month, file_sha256, row_no, concat_ws('|', decision_no, authority_uscc), upper(trim(uscc)),
           NULL, NULL, 'quarantined: ' || array_to_string(reasons, ', ')
    FROM quarantine.license WHERE month = %(month)s
    UNION ALL
    SELECT 'penalty', unit, month, file_sha256, row_no, concat_ws('|', decision_no, authority_uscc), upper(trim(uscc)),
           NULL, NULL, 'quarantined: ' || array_to_string(reasons, ', ')
    FROM quarantine.penalty WHERE month = %(month)s
), d AS (
    SELECT x.*, wh.wd(x.decided_on, x.delivery_date) AS wd, coalesce(u.district, s.district) AS district
    FROM delivered x
    LEFT JOIN wh.units u ON u.unit = x.unit
    LEFT JOIN wh.subjects s ON s.month = %(month)s AND s.in_registry AND s.uscc = x.uscc
)
SELECT (reason IS NULL AND wd <= 7)::int AS in_numerator, (reason IS NULL)::int AS in_denominator,
       1::numeric AS weight, coalesce(reason, '') AS reason, feed, unit, month, file_sha256, row_no, key,
       decided_on, delivery_date, wd, district
FROM d
WHERE %(scope)s = 'city' OR (%(scope)s = 'unit' AND unit = %(scope_key)s)
   OR (%(scope)s = 'district' AND district = %(scope_key)s)

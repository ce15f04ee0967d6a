-- I03 双公示信息质量, explained: every license + penalty row delivered in M is in the denominator, the
-- correct ones in the numerator too; a quarantined row says why. Scopes as ../I03.sql.
WITH delivered AS (
    SELECT 'license' AS feed, unit, month, file_sha256, row_no, concat_ws('|', decision_no, authority_uscc) AS key,
           uscc, NULL::text[] AS reasons
    FROM raw.license WHERE month = %(month)s
    UNION ALL
    SELECT 'license', unit, month, file_sha256, row_no, concat_ws('|', decision_no, authority_uscc), upper(trim(uscc)), reasons
    FROM quarantine.license WHERE month = %(month)s
    UNION ALL
    SELECT 'penalty', unit, month, file_sha256, row_no, concat_ws('|', decision_no, authority_uscc), uscc, NULL
    FROM raw.penalty WHERE month = %(month)s
    UNION ALL
    SELECT 'penalty', unit, month, file_sha256, row_no, concat_ws('|', decision_no, authority_uscc), upper(trim(uscc)), reasons
    FROM quarantine.penalty WHERE month = %(month)s
), d AS (
    SELECT x.*, coalesce(u.district, s.district) AS district
    FROM delivered x
    LEFT JOIN wh.units u ON u.unit = x.unit
    LEFT JOIN wh.subjects s ON s.month = %(month)s AND s.in_registry AND s.uscc = x.uscc
)
SELECT (reasons IS NULL)::int AS in_numerator, 1 AS in_denominator, 1::numeric AS weight, ''::text AS reason,
       feed, unit, month, file_sha256, row_no, key,
       CASE WHEN reasons IS NULL THEN 'correct' ELSE 'quarantined' END AS quality,
       array_to_string(reasons, ', ') AS quarantine_reasons, uscc, district
FROM d
WHERE %(scope)s = 'city' OR (%(scope)s = 'unit' AND unit = %(scope_key)s)
   OR (%(scope)s = 'district' AND district = %(scope_key)s)

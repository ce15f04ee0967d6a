-- I39 违规纳入信用记录, explained: each row delivered in M and quarantined with reason prohibited_category
-- (any feed) counts; the month's rows quarantined for other reasons only are left out with theirs.
-- No denominator. Scopes: city, unit (the delivering unit, as ../I39.sql).
WITH q AS (  -- quarantine.every_feed: every feed's quarantine table, generated from the feed specs
    SELECT feed, unit, month, file_sha256, row_no, key, 'quarantined: ' || array_to_string(reasons, ', ') AS reason, reasons
    FROM quarantine.every_feed WHERE month = %(month)s
)
SELECT ('prohibited_category' = ANY (reasons))::int AS in_numerator, 0 AS in_denominator, 1::numeric AS weight,
       CASE WHEN 'prohibited_category' = ANY (reasons) THEN '' ELSE reason END AS reason,
       feed, unit, month, file_sha256, row_no, key, array_to_string(reasons, ', ') AS quarantine_reasons
FROM q
WHERE %(scope)s = 'city' OR (%(scope)s = 'unit' AND unit = %(scope_key)s)

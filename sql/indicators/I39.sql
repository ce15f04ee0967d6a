-- I39 违规纳入信用记录: rows delivered in M quarantined with reason prohibited_category (FEEDS.md
-- "Prohibited content"), any feed; a count, also per delivering unit.
WITH q AS (
    SELECT 'activity' AS feed, unit, file_sha256, row_no FROM quarantine.activity
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'arrears', unit, file_sha256, row_no FROM quarantine.arrears
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'blacklist', unit, file_sha256, row_no FROM quarantine.blacklist
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'city_stats', unit, file_sha256, row_no FROM quarantine.city_stats
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'commitment', unit, file_sha256, row_no FROM quarantine.commitment
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'credit_event', unit, file_sha256, row_no FROM quarantine.credit_event
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'customs_aeo', unit, file_sha256, row_no FROM quarantine.customs_aeo
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'gas_bill', unit, file_sha256, row_no FROM quarantine.gas_bill
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'joint_case', unit, file_sha256, row_no FROM quarantine.joint_case
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'license', unit, file_sha256, row_no FROM quarantine.license
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'logistics', unit, file_sha256, row_no FROM quarantine.logistics
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'objection', unit, file_sha256, row_no FROM quarantine.objection
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'penalty', unit, file_sha256, row_no FROM quarantine.penalty
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'power_bill', unit, file_sha256, row_no FROM quarantine.power_bill
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'registry', unit, file_sha256, row_no FROM quarantine.registry
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'repair', unit, file_sha256, row_no FROM quarantine.repair
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'self_report', unit, file_sha256, row_no FROM quarantine.self_report
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'service_item', unit, file_sha256, row_no FROM quarantine.service_item
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'tax_grade', unit, file_sha256, row_no FROM quarantine.tax_grade
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'uscc_issue', unit, file_sha256, row_no FROM quarantine.uscc_issue
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'water_bill', unit, file_sha256, row_no FROM quarantine.water_bill
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'xyd_loan', unit, file_sha256, row_no FROM quarantine.xyd_loan
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
    UNION ALL
    SELECT 'xyd_registration', unit, file_sha256, row_no FROM quarantine.xyd_registration
    WHERE month = %(month)s AND 'prohibited_category' = ANY (reasons)
), groups AS (
    SELECT 'city' AS scope, '370800' AS scope_key, q.* FROM q
    UNION ALL SELECT 'unit', q.unit, q.* FROM q
), agg AS (
    SELECT scope, scope_key, count(*)::numeric AS n,
           jsonb_path_query_array(jsonb_agg(jsonb_build_object('feed', feed, 'unit', unit, 'file', file_sha256,
               'row_no', row_no) ORDER BY feed, unit, file_sha256, row_no), '$[0 to 19]') AS rows
    FROM groups GROUP BY scope, scope_key
)
SELECT c.scope::text, c.scope_key::text, coalesce(a.n, 0) AS numerator, NULL::numeric AS denominator,
       coalesce(a.n, 0) AS value, jsonb_build_object('rows', coalesce(a.rows, '[]'::jsonb)) AS evidence
FROM (VALUES ('city', '370800')) AS c(scope, scope_key)
LEFT JOIN agg a ON a.scope = c.scope AND a.scope_key = c.scope_key
UNION ALL
SELECT scope, scope_key, n, NULL, n, jsonb_build_object('rows', rows) FROM agg WHERE scope <> 'city'

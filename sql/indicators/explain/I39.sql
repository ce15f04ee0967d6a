-- I39 违规纳入信用记录, explained: each row delivered in M and quarantined with reason prohibited_category
-- (any feed) counts; the month's rows quarantined for other reasons only are left out with theirs.
-- No denominator. Scopes: city, unit (the delivering unit, as ../I39.sql).
WITH q AS (
    SELECT q.*, t.reasons FROM wh.explain_quarantined('activity', %(month)s, %(month)s, ARRAY['activity_name']) q
    JOIN quarantine.activity t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('arrears', %(month)s, %(month)s, ARRAY['ledger_no']) q
    JOIN quarantine.arrears t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('blacklist', %(month)s, %(month)s, ARRAY['list_type', 'uscc', 'listed_on']) q
    JOIN quarantine.blacklist t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('city_stats', %(month)s, %(month)s, ARRAY['indicator', 'period']) q
    JOIN quarantine.city_stats t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('commitment', %(month)s, %(month)s, ARRAY['commitment_no']) q
    JOIN quarantine.commitment t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('credit_event', %(month)s, %(month)s, ARRAY['event_no']) q
    JOIN quarantine.credit_event t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('customs_aeo', %(month)s, %(month)s, ARRAY['uscc']) q
    JOIN quarantine.customs_aeo t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('gas_bill', %(month)s, %(month)s, ARRAY['account_no', 'billing_month']) q
    JOIN quarantine.gas_bill t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('joint_case', %(month)s, %(month)s, ARRAY['case_no']) q
    JOIN quarantine.joint_case t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('license', %(month)s, %(month)s, ARRAY['decision_no', 'authority_uscc']) q
    JOIN quarantine.license t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('logistics', %(month)s, %(month)s, ARRAY['uscc']) q
    JOIN quarantine.logistics t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('objection', %(month)s, %(month)s, ARRAY['objection_no']) q
    JOIN quarantine.objection t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('penalty', %(month)s, %(month)s, ARRAY['decision_no', 'authority_uscc']) q
    JOIN quarantine.penalty t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('power_bill', %(month)s, %(month)s, ARRAY['account_no', 'billing_month']) q
    JOIN quarantine.power_bill t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('registry', %(month)s, %(month)s, ARRAY['uscc']) q
    JOIN quarantine.registry t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('repair', %(month)s, %(month)s, ARRAY['repair_no']) q
    JOIN quarantine.repair t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('self_report', %(month)s, %(month)s, ARRAY['unit', 'indicator_id']) q
    JOIN quarantine.self_report t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('service_item', %(month)s, %(month)s, ARRAY['item_code']) q
    JOIN quarantine.service_item t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('tax_grade', %(month)s, %(month)s, ARRAY['uscc', 'eval_year']) q
    JOIN quarantine.tax_grade t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('uscc_issue', %(month)s, %(month)s, ARRAY['issue_no']) q
    JOIN quarantine.uscc_issue t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('water_bill', %(month)s, %(month)s, ARRAY['account_no', 'billing_month']) q
    JOIN quarantine.water_bill t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('xyd_loan', %(month)s, %(month)s, ARRAY['loan_no', 'institution']) q
    JOIN quarantine.xyd_loan t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
    UNION ALL
    SELECT q.*, t.reasons FROM wh.explain_quarantined('xyd_registration', %(month)s, %(month)s, ARRAY['uscc', 'platform']) q
    JOIN quarantine.xyd_registration t ON t.month = q.month AND t.unit = q.unit AND t.file_sha256 = q.file_sha256 AND t.row_no = q.row_no
)
SELECT ('prohibited_category' = ANY (reasons))::int AS in_numerator, 0 AS in_denominator, 1::numeric AS weight,
       CASE WHEN 'prohibited_category' = ANY (reasons) THEN '' ELSE reason END AS reason,
       feed, unit, month, file_sha256, row_no, key, array_to_string(reasons, ', ') AS quarantine_reasons
FROM q
WHERE %(scope)s = 'city' OR (%(scope)s = 'unit' AND unit = %(scope_key)s)

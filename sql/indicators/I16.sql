-- I16 政府部门和国有企业清欠比例: latest state of arrears: Σ 已清偿金额 / Σ 欠款金额.
WITH s AS (SELECT * FROM wh.arrears WHERE as_of_month = %(month)s)
SELECT 'city'::text AS scope, '370800'::text AS scope_key,
       coalesce(sum(repaid_amount), 0)::numeric AS numerator,
       coalesce(sum(debt_amount), 0)::numeric AS denominator,
       sum(repaid_amount)::numeric / nullif(sum(debt_amount), 0) AS value,
       jsonb_build_object('ledgers', count(*), 'open', jsonb_path_query_array(coalesce(jsonb_agg(jsonb_build_object(
           'ledger_no', ledger_no, 'debt', debt_amount, 'repaid', repaid_amount) ORDER BY debt_amount - repaid_amount DESC, ledger_no)
           FILTER (WHERE repaid_amount < debt_amount), '[]'), '$[0 to 19]')) AS evidence
FROM s

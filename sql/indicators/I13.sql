-- I13 平台信易贷规模占 GDP: Σ 放款金额（万元） of correct xyd_loan rows delivered in M or before with 放款渠道 全国/地方信易贷平台 and
-- 放款日期 in the last 12 months / GDP(M) (万元; wh.gdp). NULL when there is no GDP figure.
WITH l AS (
    SELECT * FROM raw.xyd_loan
    WHERE month <= %(month)s AND channel IN ('全国信易贷平台', '地方信易贷平台')
      AND lent_on BETWEEN %(window_start)s AND %(month_end)s
), g AS (SELECT wh.gdp(%(month)s) AS gdp)
SELECT 'city'::text AS scope, '370800'::text AS scope_key,
       coalesce(sum(l.loan_amount), 0)::numeric AS numerator,
       (SELECT gdp FROM g)::numeric AS denominator,
       coalesce(sum(l.loan_amount), 0)::numeric / nullif((SELECT gdp FROM g), 0) AS value,
       jsonb_build_object('loans', count(l.*), 'gdp_wan_yuan', (SELECT gdp FROM g),
           'largest', jsonb_path_query_array(coalesce(jsonb_agg(jsonb_build_object(
               'loan_no', l.loan_no, 'institution', l.institution, 'amount', l.loan_amount, 'lent_on', l.lent_on,
               'unit', l.unit, 'file', l.file_sha256, 'row_no', l.row_no) ORDER BY l.loan_amount DESC, l.loan_no), '[]'),
               '$[0 to 19]')) AS evidence
FROM l

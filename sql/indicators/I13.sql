-- I13 平台信易贷规模占 GDP: Σ 放款金额（万元） of correct xyd_loan rows delivered in M or before with 放款渠道 全国/地方信易贷平台 and
-- 放款日期 in the last 12 months / GDP(M) (万元; wh.gdp). NULL when there is no GDP figure.
SELECT * FROM wh.xyd_loan_share(%(month)s, %(window_start)s, %(month_end)s, ARRAY['全国信易贷平台', '地方信易贷平台'], false)

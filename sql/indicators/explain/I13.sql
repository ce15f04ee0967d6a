-- I13 平台信易贷规模占 GDP, explained: the numerator is Σ 放款金额（万元） (each loan's weight) of the correct xyd_loan rows
-- delivered in M or before with 放款渠道 in ['全国信易贷平台', '地方信易贷平台'] and 放款日期 in the last 12
-- months; the denominator GDP(M) (万元) is the latest-state city_stats rows it is made of (× 10 000). Other loans, and
-- quarantined xyd_loan rows, are left out with the reason. amount: 放款金额 in 万元, or the city_stats figure in 亿元.
SELECT * FROM wh.explain_xyd_loan_share(%(month)s, %(window_start)s, %(month_end)s, ARRAY['全国信易贷平台', '地方信易贷平台'], false)

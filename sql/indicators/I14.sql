-- I14 非平台信易贷规模占 GDP: as I13 for 放款渠道 线下 and 是否信用贷款 是 and
-- 放款日期 in the last 12 months / GDP(M) (万元; wh.gdp). NULL when there is no GDP figure.
SELECT * FROM wh.xyd_loan_share(%(month)s, %(window_start)s, %(month_end)s, ARRAY['线下'], true)

-- I13 平台信易贷规模占 GDP, explained: the numerator is Σ 放款金额（万元） (each loan's weight) of the correct xyd_loan rows
-- delivered in M or before with 放款渠道 in ['全国信易贷平台', '地方信易贷平台'] and 放款日期 in the last 12
-- months; the denominator GDP(M) (万元) is the latest-state city_stats rows it is made of (× 10 000). Other loans, and
-- quarantined xyd_loan rows, are left out with the reason. amount: 放款金额 in 万元, or the city_stats figure in 亿元.
WITH l AS (
    SELECT *, channel = ANY(ARRAY['全国信易贷平台', '地方信易贷平台']) AS channel_ok, (NOT false OR is_credit_loan = '是') AS credit_ok,
           lent_on BETWEEN %(window_start)s AND %(month_end)s AS in_window
    FROM raw.xyd_loan WHERE month <= %(month)s
), s AS (
    SELECT *, left(period, 4)::int AS y FROM wh.city_stats
    WHERE as_of_month = %(month)s AND indicator = '地区生产总值（亿元）' AND period ~ '^\d{4}(-Q[1-4])?$'
), years AS (  -- as wh.gdp: the latest year <= year(M) with an annual figure or all four quarters
    SELECT y, bool_or(period !~ '-Q') AS annual FROM s WHERE y <= extract(year FROM %(month)s::date)::int GROUP BY y
    HAVING bool_or(period !~ '-Q') OR count(DISTINCT period) FILTER (WHERE period ~ '-Q') = 4
    ORDER BY y DESC LIMIT 1
)
SELECT coalesce(channel_ok AND credit_ok AND in_window, false)::int AS in_numerator, 0 AS in_denominator, loan_amount AS weight,
       CASE WHEN NOT coalesce(channel_ok, false) THEN '放款渠道 ' || coalesce(channel, '') || ' not counted'
            WHEN NOT coalesce(credit_ok, false) THEN '是否信用贷款 ' || coalesce(is_credit_loan, '') || ', not 是'
            WHEN NOT coalesce(in_window, false) THEN 'outside the window (放款日期)' ELSE '' END AS reason,
       'xyd_loan'::text AS feed, unit, month, file_sha256, row_no, concat_ws('|', loan_no, institution) AS key,
       loan_amount AS amount, channel, is_credit_loan, lent_on::text AS lent_on, uscc, NULL::text AS gdp_period
FROM l
UNION ALL
SELECT 0, (x.y IS NOT NULL AND (s.period !~ '-Q') = x.annual)::int,
       s.value * 10000,
       CASE WHEN x.y IS NULL THEN 'not the year of GDP(M)' WHEN (s.period !~ '-Q') <> x.annual THEN 'the annual figure is used'
            ELSE '' END,
       'city_stats', s.unit, s.month, s.file_sha256, s.row_no, concat_ws('|', s.indicator, s.period), s.value, NULL, NULL, NULL, NULL,
       s.period
FROM s LEFT JOIN years x ON x.y = s.y
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL, NULL, NULL, NULL, NULL
FROM wh.explain_quarantined('xyd_loan', '0001-01-01', %(month)s, ARRAY['loan_no', 'institution'])

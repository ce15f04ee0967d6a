-- I12 信易贷平台注册企业占比: USCC in E(M) with a latest-state xyd_registration row 状态 正常 on some
-- platform / |E(M)|.
WITH e AS (SELECT uscc FROM wh.subjects WHERE month = %(month)s AND existing),
reg AS (SELECT DISTINCT uscc FROM wh.xyd_registration WHERE as_of_month = %(month)s AND status = '正常'),
j AS (SELECT e.uscc, r.uscc IS NOT NULL AS registered FROM e LEFT JOIN reg r ON r.uscc = e.uscc)
SELECT 'city'::text AS scope, '370800'::text AS scope_key,
       count(*) FILTER (WHERE registered)::numeric AS numerator,
       count(*)::numeric AS denominator,
       count(*) FILTER (WHERE registered)::numeric / nullif(count(*), 0) AS value,
       jsonb_build_object('registry_file', wh.snapshot_file('registry', %(month)s),
           'registered', jsonb_path_query_array(coalesce(jsonb_agg(uscc ORDER BY uscc) FILTER (WHERE registered), '[]'), '$[0 to 19]'))
           AS evidence
FROM j

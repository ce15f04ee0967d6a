-- I06 主体平均信用记录数: enterprise records / |E(M)| + natural-person records / P(M); records = correct
-- rows delivered in M or before of the 12 record feeds; natural-person = 类别 自然人 (license, penalty,
-- blacklist), or a bill row with no USCC; all others enterprise. NULL when |E(M)| = 0 or P(M) is
-- unknown. numerator = value (records per subject), denominator NULL; the parts are in evidence.
WITH r AS (
    SELECT 'license' AS feed, subject_category = '自然人' AS np FROM raw.license WHERE month <= %(month)s
    UNION ALL SELECT 'penalty', subject_category = '自然人' FROM raw.penalty WHERE month <= %(month)s
    UNION ALL SELECT 'blacklist', subject_category = '自然人' FROM raw.blacklist WHERE month <= %(month)s
    UNION ALL SELECT 'commitment', false FROM raw.commitment WHERE month <= %(month)s
    UNION ALL SELECT 'joint_case', false FROM raw.joint_case WHERE month <= %(month)s
    UNION ALL SELECT 'logistics', false FROM raw.logistics WHERE month <= %(month)s
    UNION ALL SELECT 'xyd_loan', false FROM raw.xyd_loan WHERE month <= %(month)s
    UNION ALL SELECT 'tax_grade', false FROM raw.tax_grade WHERE month <= %(month)s
    UNION ALL SELECT 'customs_aeo', false FROM raw.customs_aeo WHERE month <= %(month)s
    UNION ALL SELECT 'water_bill', uscc IS NULL FROM raw.water_bill WHERE month <= %(month)s
    UNION ALL SELECT 'power_bill', uscc IS NULL FROM raw.power_bill WHERE month <= %(month)s
    UNION ALL SELECT 'gas_bill', uscc IS NULL FROM raw.gas_bill WHERE month <= %(month)s
), t AS (
    SELECT count(*) FILTER (WHERE np IS NOT TRUE) AS ent, count(*) FILTER (WHERE np) AS np FROM r
), k AS (
    SELECT (SELECT count(*) FROM wh.subjects WHERE month = %(month)s AND existing) AS e, wh.population(%(month)s) AS p
), v AS (
    SELECT t.ent::numeric / nullif(k.e, 0) + t.np::numeric / nullif(k.p, 0) AS value FROM t, k
)
SELECT 'city'::text AS scope, '370800'::text AS scope_key, v.value AS numerator, NULL::numeric AS denominator,
       v.value, jsonb_build_object('enterprise_records', t.ent, 'existing_enterprises', k.e,
           'natural_person_records', t.np, 'population', k.p,
           'by_feed', coalesce((SELECT jsonb_object_agg(feed, n) FROM (SELECT feed, count(*) AS n FROM r GROUP BY feed) f), '{}'::jsonb))
           AS evidence
FROM t, k, v

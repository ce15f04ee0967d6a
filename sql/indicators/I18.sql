-- I18 诚信宣传活动次数: correct activity rows delivered in M (a count).
SELECT 'city'::text AS scope, '370800'::text AS scope_key,
       count(*)::numeric AS numerator, NULL::numeric AS denominator, count(*)::numeric AS value,
       jsonb_build_object('by_unit', coalesce((SELECT jsonb_object_agg(unit, n) FROM (
           SELECT unit, count(*) AS n FROM raw.activity WHERE month = %(month)s GROUP BY unit) u), '{}'::jsonb)) AS evidence
FROM raw.activity WHERE month = %(month)s

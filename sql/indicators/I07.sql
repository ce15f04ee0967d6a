-- I07 水、电、气、仓储物流信息归集: Σ over water_bill, power_bill, gas_bill, logistics of the link rate in
-- M: correct rows delivered in M whose USCC is on some row of M's registry snapshot / correct rows
-- delivered in M that have a USCC (0 for a feed with none). A count (0–4): numerator = value,
-- denominator NULL; per feed in evidence. Per unit: Σ of the unit's own link rates over its feeds.
WITH reg AS (SELECT uscc FROM wh.subjects WHERE month = %(month)s AND in_registry),
rows AS (
    SELECT 'water_bill' AS feed, unit, uscc FROM raw.water_bill WHERE month = %(month)s AND uscc IS NOT NULL
    UNION ALL SELECT 'power_bill', unit, uscc FROM raw.power_bill WHERE month = %(month)s AND uscc IS NOT NULL
    UNION ALL SELECT 'gas_bill', unit, uscc FROM raw.gas_bill WHERE month = %(month)s AND uscc IS NOT NULL
    UNION ALL SELECT 'logistics', unit, uscc FROM raw.logistics WHERE month = %(month)s AND uscc IS NOT NULL
), r AS (
    SELECT rows.feed, rows.unit, reg.uscc IS NOT NULL AS linked FROM rows LEFT JOIN reg ON reg.uscc = rows.uscc
), per_feed AS (
    SELECT 'city' AS scope, '370800' AS scope_key, feed, count(*) FILTER (WHERE linked) AS linked, count(*) AS n
    FROM r GROUP BY feed
    UNION ALL
    SELECT 'unit', unit, feed, count(*) FILTER (WHERE linked), count(*) FROM r GROUP BY unit, feed
), agg AS (
    SELECT scope, scope_key, sum(linked::numeric / nullif(n, 0)) AS value,
           jsonb_object_agg(feed, jsonb_build_object('linked', linked, 'with_uscc', n,
                                                     'rate', linked::numeric / nullif(n, 0))) AS feeds
    FROM per_feed GROUP BY scope, scope_key
)
SELECT c.scope::text, c.scope_key::text, coalesce(a.value, 0) AS numerator, NULL::numeric AS denominator,
       coalesce(a.value, 0) AS value,
       jsonb_build_object('registry_file', wh.snapshot_file('registry', %(month)s), 'feeds', coalesce(a.feeds, '{}'::jsonb)) AS evidence
FROM (VALUES ('city', '370800')) AS c(scope, scope_key)
LEFT JOIN agg a ON a.scope = c.scope AND a.scope_key = c.scope_key
UNION ALL
SELECT scope, scope_key, value, NULL, value, jsonb_build_object('feeds', feeds) FROM agg WHERE scope <> 'city'

-- I20 信用承诺信息占企业比例: distinct 承诺编号 of correct commitment rows delivered in M or before / |E(M)|.
WITH c AS (SELECT count(DISTINCT commitment_no) AS n FROM raw.commitment WHERE month <= %(month)s),
e AS (SELECT count(*) AS n FROM wh.subjects WHERE month = %(month)s AND existing)
SELECT 'city'::text AS scope, '370800'::text AS scope_key, c.n::numeric AS numerator, e.n::numeric AS denominator,
       c.n::numeric / nullif(e.n, 0) AS value,
       jsonb_build_object('commitments', c.n, 'existing_enterprises', e.n,
                          'registry_file', wh.snapshot_file('registry', %(month)s)) AS evidence
FROM c, e

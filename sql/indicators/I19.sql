-- I19 政务服务信用承诺事项占比: M's service_item snapshot: rows 是否实行信用承诺 是 / rows 是否法定可承诺 是.
WITH s AS (SELECT * FROM wh.service_item_snapshot(%(month)s))
SELECT 'city'::text AS scope, '370800'::text AS scope_key,
       count(*) FILTER (WHERE commitment_applied = '是')::numeric AS numerator,
       count(*) FILTER (WHERE legally_committable = '是')::numeric AS denominator,
       count(*) FILTER (WHERE commitment_applied = '是')::numeric / nullif(count(*) FILTER (WHERE legally_committable = '是'), 0) AS value,
       jsonb_build_object('file', wh.snapshot_file('service_item', %(month)s),
           'committable_not_applied', jsonb_path_query_array(coalesce(jsonb_agg(item_code ORDER BY item_code)
               FILTER (WHERE legally_committable = '是' AND commitment_applied <> '是'), '[]'), '$[0 to 19]')) AS evidence
FROM s

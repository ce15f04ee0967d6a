-- I10 重错码纠正率: latest state of uscc_issue as of end(M): rows 已纠正 / all rows.
WITH s AS (SELECT * FROM wh.uscc_issue WHERE as_of_month = %(month)s)
SELECT 'city'::text AS scope, '370800'::text AS scope_key,
       count(*) FILTER (WHERE correction_status = '已纠正')::numeric AS numerator,
       count(*)::numeric AS denominator,
       count(*) FILTER (WHERE correction_status = '已纠正')::numeric / nullif(count(*), 0) AS value,
       jsonb_build_object('uncorrected', jsonb_path_query_array(coalesce(jsonb_agg(jsonb_build_object(
           'issue_no', issue_no, 'uscc', uscc, 'file', file_sha256, 'row_no', row_no) ORDER BY issue_no)
           FILTER (WHERE correction_status <> '已纠正'), '[]'), '$[0 to 19]')) AS evidence
FROM s

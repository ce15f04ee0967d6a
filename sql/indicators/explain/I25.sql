-- I25 近12个月严重失信主体退出比例, explained: over the latest-state blacklist rows of 法人及非法人组织 with a
-- USCC, each USCC with a row removed in the last 12 months is in the numerator once, each USCC with a
-- row listed at some time in the window in the denominator once (on its first such row). Other rows,
-- replaced and quarantined blacklist rows are left out.
WITH b AS (
    SELECT *, subject_category = '法人及非法人组织' AND uscc IS NOT NULL AS legal,
           coalesce(removed_on BETWEEN %(window_start)s AND %(month_end)s, false) AS exited,
           coalesce(listed_on <= %(month_end)s AND (removed_on IS NULL OR removed_on >= %(window_start)s), false) AS listed
    FROM wh.blacklist WHERE as_of_month = %(month)s
), n AS (
    SELECT *, row_number() OVER (PARTITION BY uscc, legal AND exited ORDER BY listed_on, list_type, unit, file_sha256, row_no) AS nth_exit,
              row_number() OVER (PARTITION BY uscc, legal AND listed ORDER BY listed_on, list_type, unit, file_sha256, row_no) AS nth_list
    FROM b
)
SELECT (legal AND exited AND nth_exit = 1)::int AS in_numerator, (legal AND listed AND nth_list = 1)::int AS in_denominator,
       1::numeric AS weight,
       CASE WHEN (legal AND exited AND nth_exit = 1) OR (legal AND listed AND nth_list = 1) THEN ''
            WHEN subject_category IS DISTINCT FROM '法人及非法人组织' THEN '主体类别 ' || coalesce(subject_category, '') || ', not 法人及非法人组织'
            WHEN uscc IS NULL THEN 'no USCC'
            WHEN exited OR listed THEN 'USCC already counted on another listing'
            WHEN listed_on > %(month_end)s THEN 'listed after end(M)'
            ELSE 'removed before the window' END AS reason,
       'blacklist'::text AS feed, unit, month, file_sha256, row_no, concat_ws('|', list_type, uscc, listed_on) AS key,
       subject_category, listed_on, removed_on
FROM n
UNION ALL
SELECT 0, 0, 0, reason, feed, unit, month, file_sha256, row_no, key, NULL, NULL, NULL
FROM (SELECT * FROM wh.explain_superseded('blacklist', %(month)s, ARRAY['list_type', 'uscc', 'listed_on'])
      UNION ALL SELECT * FROM wh.explain_quarantined('blacklist', '0001-01-01', %(month)s, ARRAY['list_type', 'uscc', 'listed_on'])) x

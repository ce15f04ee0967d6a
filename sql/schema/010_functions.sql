-- Parsing and validation used by the compiled rule SQL and by the GX suites.
-- All are IMMUTABLE SQL functions so the planner can inline them into set-based statements.

-- A real date from its parts, else NULL (make_date itself raises on 2020-02-30).
CREATE OR REPLACE FUNCTION jn.ymd(y integer, m integer, d integer) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN y < 1 OR m NOT BETWEEN 1 AND 12 OR d NOT BETWEEN 1 AND 31 THEN NULL
        WHEN d <= 28 THEN make_date(y, m, d)
        WHEN d <= extract(day FROM make_date(y, m, 1) + interval '1 month - 1 day') THEN make_date(y, m, d)
    END
$$;

-- Dates: YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD (FEEDS.md); NULL when absent or not a real date.
-- Single expressions without FROM, so that PostgreSQL inlines them into the judging statement.
CREATE OR REPLACE FUNCTION jn.to_date(v text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN v ~ '^\d{4}-\d{1,2}-\d{1,2}$'
            THEN jn.ymd(split_part(v, '-', 1)::int, split_part(v, '-', 2)::int, split_part(v, '-', 3)::int)
        WHEN v ~ '^\d{4}/\d{1,2}/\d{1,2}$'
            THEN jn.ymd(split_part(v, '/', 1)::int, split_part(v, '/', 2)::int, split_part(v, '/', 3)::int)
        WHEN v ~ '^\d{8}$'
            THEN jn.ymd(substr(v, 1, 4)::int, substr(v, 5, 2)::int, substr(v, 7, 2)::int)
    END
$$;

-- Months (账期): YYYY-MM or YYYY/MM, or a full date (an Excel date cell) taken as its month.
CREATE OR REPLACE FUNCTION jn.to_month(v text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN v ~ '^\d{4}[-/]\d{1,2}$'
            THEN jn.ymd(substr(v, 1, 4)::int, substr(v, 6)::int, 1)
        ELSE date_trunc('month', jn.to_date(v))::date
    END
$$;

-- Decimals: plain, with optional thousands separators.
CREATE OR REPLACE FUNCTION jn.to_decimal(v text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v ~ '^[+-]?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?$' THEN replace(v, ',', '')::numeric END
$$;

CREATE OR REPLACE FUNCTION jn.to_int(v text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v ~ '^[+-]?\d{1,18}$' THEN v::bigint END
$$;

CREATE OR REPLACE FUNCTION jn.to_year(v text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v ~ '^\d{4}$' THEN v::int END
$$;

-- 期间 of city_stats: YYYY, YYYY-Qn or YYYY-MM.
CREATE OR REPLACE FUNCTION jn.to_period(v text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v ~ '^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$' THEN v END
$$;

-- A code with synonyms stored in the newer form: {"1": "有效", "2": "无效"}.
CREATE OR REPLACE FUNCTION jn.to_code(v text, synonyms jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(synonyms ->> v, v)
$$;

-- A code list separated by ; or ；: items trimmed, empties dropped; NULL when none.
CREATE OR REPLACE FUNCTION jn.to_code_list(v text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT NULLIF(array_remove(string_to_array(
        regexp_replace(replace(v, '；', ';'), '[\s\u3000]*;[\s\u3000]*', ';', 'g'), ';'), ''), '{}')
$$;

-- 统一社会信用代码, GB 32100-2015: 18 characters of 0-9A-HJ-NPQRTUWXY, a 6-digit division
-- code in positions 3-8, and the check character. Expects the normalised (upper-cased) value.
CREATE OR REPLACE FUNCTION jn.uscc_valid(v text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT v ~ '^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$'
       AND substr('0123456789ABCDEFGHJKLMNPQRTUWXY',
                  (31 - (
                      (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(v, 1, 1)) - 1) * 1
                    + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(v, 2, 1)) - 1) * 3
                    + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(v, 3, 1)) - 1) * 9
                    + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(v, 4, 1)) - 1) * 27
                    + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(v, 5, 1)) - 1) * 19
                    + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(v, 6, 1)) - 1) * 26
                    + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(v, 7, 1)) - 1) * 16
                    + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(v, 8, 1)) - 1) * 17
                    + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(v, 9, 1)) - 1) * 20
                    + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(v, 10, 1)) - 1) * 29
                    + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(v, 11, 1)) - 1) * 25
                    + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(v, 12, 1)) - 1) * 13
                    + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(v, 13, 1)) - 1) * 8
                    + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(v, 14, 1)) - 1) * 24
                    + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(v, 15, 1)) - 1) * 10
                    + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(v, 16, 1)) - 1) * 30
                    + (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(v, 17, 1)) - 1) * 28
                  ) % 31) % 31 + 1, 1) = substr(v, 18, 1)
$$;

-- GB 11643's check character of the first 17 digits (identifiers.id_check_char).
CREATE OR REPLACE FUNCTION jn.id_check_char(first17 text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT substr('10X98765432', (
              substr(first17, 1, 1)::int * 7 + substr(first17, 2, 1)::int * 9 + substr(first17, 3, 1)::int * 10
            + substr(first17, 4, 1)::int * 5 + substr(first17, 5, 1)::int * 8 + substr(first17, 6, 1)::int * 4
            + substr(first17, 7, 1)::int * 2 + substr(first17, 8, 1)::int * 1 + substr(first17, 9, 1)::int * 6
            + substr(first17, 10, 1)::int * 3 + substr(first17, 11, 1)::int * 7 + substr(first17, 12, 1)::int * 9
            + substr(first17, 13, 1)::int * 10 + substr(first17, 14, 1)::int * 5 + substr(first17, 15, 1)::int * 8
            + substr(first17, 16, 1)::int * 4 + substr(first17, 17, 1)::int * 2) % 11 + 1, 1)
$$;

-- 身份证号, GB 11643: area code, a real birth date not after `as_of`, 3 digits, check character.
CREATE OR REPLACE FUNCTION jn.id_card_valid(v text, as_of date) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN upper(v) ~ '^\d{17}[0-9X]$' THEN
       COALESCE(jn.to_date(substr(v, 7, 8)) <= as_of, false)
       AND jn.id_check_char(left(v, 17)) = upper(substr(v, 18, 1))
    ELSE false END
$$;

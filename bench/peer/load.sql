-- Fill the tables of schema.sql from the CSV staging tables in peer_stage
-- (start.sh creates them from each file's header, every column text, adds
-- the optional columns a file lacks, and COPYs the files in), then add keys,
-- foreign keys (PostGraphile's relations) and indexes.
--
-- Run by start.sh in the same transaction as schema.sql (psql -1), so with
-- wal_level = minimal the bulk inserts into the new tables skip the WAL.
-- VACUUM ANALYZE runs afterwards, outside the transaction.

SET LOCAL work_mem = '1GB';
SET LOCAL maintenance_work_mem = '2GB';
SET LOCAL max_parallel_maintenance_workers = 2;

INSERT INTO sources (id, title, issuer, number, date, kind)
SELECT trim(id), title, NULLIF(trim(issuer), ''), NULLIF(trim(number), ''), NULLIF(trim(date), ''), NULLIF(trim(kind), '')
FROM peer_stage.stage_sources;

INSERT INTO units (code, name_vi, name_en, level, parent, valid_from, valid_to)
SELECT trim(code), name_vi, NULLIF(name_en, ''), trim(level), NULLIF(trim(parent), ''),
       NULLIF(trim(valid_from), '')::date, NULLIF(trim(valid_to), '')::date
FROM peer_stage.stage_units;

INSERT INTO indicators (code, name_vi, name_en, measure_unit, scale, theme, direction, "group",
                        rollup, rollup_rule, rollup_weight, rollup_numerator, rollup_denominator,
                        total, breakdown, definition)
SELECT trim(code), name_vi, NULLIF(name_en, ''), measure_unit,
       coalesce(NULLIF(trim(scale), '')::double precision, 1),
       NULLIF(trim(theme), ''), coalesce(NULLIF(trim(direction), ''), 'neutral'), coalesce(NULLIF(trim("group"), ''), 'all'),
       r, upper(split_part(r, '(', 1)),
       CASE WHEN upper(r) LIKE 'WEIGHTED_MEAN(%' THEN trim(substring(r FROM '\(([^)]*)\)')) END,
       CASE WHEN upper(r) LIKE 'RATIO(%' THEN trim(split_part(substring(r FROM '\(([^)]*)\)'), ',', 1)) END,
       CASE WHEN upper(r) LIKE 'RATIO(%' THEN trim(split_part(substring(r FROM '\(([^)]*)\)'), ',', 2)) END,
       NULLIF(trim(total), ''), NULLIF(trim(breakdown), ''), NULLIF(definition, '')
FROM (SELECT s.*, replace(trim(s.rollup), ' ', '') AS r FROM peer_stage.stage_indicators s) s;

-- Periods: every distinct label of the observations, parsed in SQL; a
-- label of no known form rejects the dataset.
CREATE TEMP TABLE peer_labels ON COMMIT DROP AS
SELECT l.label, p.kind, p.start, p."end"
FROM (SELECT DISTINCT trim(period) AS label FROM peer_stage.stage_observations) l,
     LATERAL peer_private.parse_period(l.label) p;

DO $$
DECLARE bad text;
BEGIN
    SELECT string_agg(quote_literal(coalesce(label, '')), ', ') INTO bad
    FROM (SELECT label FROM peer_labels WHERE kind IS NULL ORDER BY label LIMIT 10) b;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'dataset rejected: malformed period labels in observations.csv (expected 2020, 2016-2020, SY2023-2024, 2024-05-27, 2024-06, 2024H1 or 2024Q3): %', bad;
    END IF;
END $$;

INSERT INTO periods (label, kind, start, "end") SELECT label, kind, start, "end" FROM peer_labels;

-- Observations: typed, numbered in chiso's order (indicator, the unit's
-- level in store order, unit, period …), canonical flag computed
-- (store/schema.go finishSQL: the most recent source, then not flagged
-- inconsistent/typo_suspected, then not a range bound, then source and line).
INSERT INTO observations
SELECT row_number() OVER w_id AS id,
       unit, indicator, period, pkind, pstart, pend, kind, value, denominator, qualifier, flags,
       methodology, source, line, raw, note, basis, canonical
FROM (
    SELECT s.*,
           row_number() OVER (PARTITION BY unit, indicator, period, kind, basis
                              ORDER BY src_date DESC NULLS LAST,
                                       ('inconsistent' = ANY (flags) OR 'typo_suspected' = ANY (flags)),
                                       coalesce(qualifier, '') IN ('range_min', 'range_max'),
                                       source, line, rid) = 1 AS canonical
    FROM (
        SELECT st.ctid AS rid,
               trim(st.unit) AS unit, trim(st.indicator) AS indicator, trim(st.period) AS period,
               p.kind AS pkind, p.start AS pstart, p."end" AS pend,
               trim(st.kind) AS kind, st.value::double precision AS value,
               NULLIF(trim(st.denominator), '')::double precision AS denominator,
               NULLIF(trim(st.qualifier), '') AS qualifier,
               coalesce(string_to_array(NULLIF(trim(st.flags), ''), ';'), '{}') AS flags,
               NULLIF(trim(st.methodology), '') AS methodology, trim(st.source) AS source,
               NULLIF(trim(st.line), '')::integer AS line, NULLIF(st.raw, '') AS raw, NULLIF(st.note, '') AS note,
               CASE WHEN ';' || coalesce(st.flags, '') || ';' LIKE '%;per_year;%' THEN 'per_year'
                    WHEN ';' || coalesce(st.flags, '') || ';' LIKE '%;cumulative;%' THEN 'cumulative' ELSE '' END AS basis,
               src.date AS src_date,
               array_position(ARRAY['country', 'province', 'district', 'commune', 'village', 'region'], u.level) AS lrank
        FROM peer_stage.stage_observations st
        JOIN periods p ON p.label = trim(st.period)
        JOIN units u ON u.code = trim(st.unit)
        LEFT JOIN sources src ON src.id = trim(st.source)
    ) s
) c
WINDOW w_id AS (ORDER BY indicator, lrank, unit, pstart, pend, kind, coalesce(qualifier, ''), source, line, rid)
ORDER BY indicator, lrank, unit, pstart, pend, kind, coalesce(qualifier, ''), source, line, rid;

DROP SCHEMA peer_stage CASCADE;

-- Closure of the unit tree (depth 0 = the unit itself).
INSERT INTO unit_closure (ancestor, descendant, depth)
WITH RECURSIVE c(ancestor, descendant, depth) AS (
    SELECT code, code, 0 FROM units
    UNION ALL
    SELECT u.parent, c.descendant, c.depth + 1
    FROM c JOIN units u ON u.code = c.ancestor
    WHERE u.parent IS NOT NULL AND c.depth < 32)
SELECT ancestor, descendant, depth FROM c;

-- Keys, foreign keys (PostGraphile builds its relations from these) and indexes.
ALTER TABLE observations ADD PRIMARY KEY (id);
ALTER TABLE units ADD FOREIGN KEY (parent) REFERENCES units (code);
ALTER TABLE indicators ADD FOREIGN KEY (total) REFERENCES indicators (code);
ALTER TABLE unit_closure ADD FOREIGN KEY (ancestor) REFERENCES units (code);
ALTER TABLE unit_closure ADD FOREIGN KEY (descendant) REFERENCES units (code);
ALTER TABLE observations ADD FOREIGN KEY (unit) REFERENCES units (code);
ALTER TABLE observations ADD FOREIGN KEY (indicator) REFERENCES indicators (code);
ALTER TABLE observations ADD FOREIGN KEY (period) REFERENCES periods (label);
ALTER TABLE observations ADD FOREIGN KEY (source) REFERENCES sources (id);

CREATE INDEX observations_indicator_unit_period_idx ON observations (indicator, unit, period);
CREATE INDEX observations_unit_idx ON observations (unit);
-- Extra: keyset pages of one indicator in id order (Q6) and its totalCount.
CREATE INDEX observations_indicator_id_idx ON observations (indicator, id);
CREATE INDEX units_parent_idx ON units (parent);
CREATE INDEX unit_closure_descendant_idx ON unit_closure (descendant);

-- Peer schema for benchmarking chiso: PostgreSQL 15 + PostGraphile.
--
-- Applied by start.sh to an empty database, before load.sql fills the
-- tables (so the tables here carry no secondary indexes or foreign keys yet:
-- load.sql adds them after the bulk load).
--
-- Schemas:
--   public       what PostGraphile exposes: the plain tables, the views and
--                the SQL functions below;
--   peer_private helpers PostGraphile must not expose (period parsing, the
--                arithmetic the analytics share);
--   peer_stage   the CSV staging tables (created by start.sh, dropped by
--                load.sql).
--
-- Every object PostGraphile exposes is labelled below as PLAIN TABLE,
-- VIEW (for pg-aggregates) or CUSTOM FUNCTION.

CREATE SCHEMA IF NOT EXISTS peer_private;

------------------------------------------------------------------------------
-- PLAIN TABLES (chiso's four dataset tables, typed, plus two derived ones)
------------------------------------------------------------------------------

CREATE TABLE sources (
    id     text PRIMARY KEY,
    title  text NOT NULL,
    issuer text,
    number text,
    date   text,               -- YYYY, YYYY-MM or YYYY-MM-DD, as in the CSV
    kind   text
);

CREATE TABLE units (
    code       text PRIMARY KEY,
    name_vi    text NOT NULL,
    name_en    text,
    level      text NOT NULL,  -- country, province, district, commune, village, region
    parent     text,           -- FK units(code), added by load.sql
    valid_from date,
    valid_to   date
);

CREATE TABLE indicators (
    code               text PRIMARY KEY,
    name_vi            text NOT NULL,
    name_en            text,
    measure_unit       text NOT NULL,
    scale              double precision NOT NULL DEFAULT 1,
    theme              text,
    direction          text NOT NULL DEFAULT 'neutral',
    "group"            text NOT NULL DEFAULT 'all',
    rollup             text NOT NULL,  -- as written: SUM, RATIO(a,b) ...
    rollup_rule        text NOT NULL,  -- SUM, MEAN, LAST, NONE, WEIGHTED_MEAN, RATIO
    rollup_weight      text,           -- WEIGHTED_MEAN(weight)
    rollup_numerator   text,           -- RATIO(numerator, denominator)
    rollup_denominator text,
    total              text,           -- FK indicators(code), added by load.sql
    breakdown          text,
    definition         text
);

-- Every period label that occurs in observations, parsed (see
-- peer_private.parse_period): kind YEAR, RANGE, SCHOOL_YEAR, DATE, MONTH,
-- HALF_YEAR or QUARTER, with inclusive start and end dates.
CREATE TABLE periods (
    label text PRIMARY KEY,
    kind  text NOT NULL,
    start date NOT NULL,
    "end" date NOT NULL
);

-- Every (ancestor, descendant, depth) of the unit tree, depth 0 included
-- (as chiso's store builds it). Filled with a recursive CTE by load.sql.
CREATE TABLE unit_closure (
    ancestor   text NOT NULL,
    descendant text NOT NULL,
    depth      integer NOT NULL,
    PRIMARY KEY (ancestor, descendant)
);

-- Observations, shaped like chiso's own observations table: numbered by
-- (indicator, unit, period start, period end, kind, qualifier, source, line)
-- so id order is chiso's table order, the period's kind and dates copied in,
-- flags as an array, the basis (per_year / cumulative / '') and the
-- canonical flag chiso's analytics use. Primary key, foreign keys and
-- indexes are added by load.sql after the bulk insert.
CREATE TABLE observations (
    id           bigint NOT NULL,
    unit         text NOT NULL,
    indicator    text NOT NULL,
    period       text NOT NULL,
    period_kind  text NOT NULL,
    period_start date NOT NULL,
    period_end   date NOT NULL,
    kind         text NOT NULL,    -- actual, target, change, share, achievement
    value        double precision NOT NULL,
    denominator  double precision,
    qualifier    text,
    flags        text[] NOT NULL DEFAULT '{}',
    methodology  text,
    source       text NOT NULL,
    line         integer,
    raw          text,
    note         text,
    basis        text NOT NULL DEFAULT '',
    canonical    boolean NOT NULL
);

COMMENT ON TABLE periods IS 'Period labels used by observations, parsed into kind and inclusive start/end dates.';
COMMENT ON TABLE unit_closure IS 'Every ancestor/descendant pair of the unit tree with its depth (0 = the unit itself).';
-- PostGraphile v5 offers `condition` (and orderBy) only on indexed columns
-- (PgIndexBehaviorsPlugin). These smart tags allow equality conditions on
-- a few unindexed ones: units.level (a small table) and observation columns
-- that only ever narrow a set already found through an index on indicator
-- or unit (Q2, Q4).
COMMENT ON COLUMN units.level IS E'@behavior +filterBy\nAdministrative level: country, province, district, commune, village or region.';
COMMENT ON COLUMN observations.kind IS E'@behavior +filterBy\nactual, target, change, share or achievement.';
COMMENT ON COLUMN observations.period_kind IS E'@behavior +filterBy\nThe period''s kind (YEAR, RANGE, SCHOOL_YEAR, DATE, MONTH, HALF_YEAR, QUARTER).';
COMMENT ON COLUMN observations.basis IS E'@behavior +filterBy\nper_year or cumulative (from the flags), else empty: a yearly average and a total over the same range are different facts.';
COMMENT ON COLUMN observations.canonical IS
  E'@behavior +filterBy\nTrue for the observation analytics use where several share unit, indicator, period, kind and basis (most recent source, then not flagged doubtful, then not a range bound, then source and line).';

------------------------------------------------------------------------------
-- Helpers (not exposed)
------------------------------------------------------------------------------

-- A period label -> (kind, start, end), as chiso's indicator.ParsePeriod:
-- 2020, 2016-2020, SY2023-2024, 2024-05-27, 2024-06, 2024H1, 2024Q3.
-- Unknown forms return kind NULL (load.sql then refuses the dataset).
CREATE FUNCTION peer_private.parse_period(label text, OUT kind text, OUT start date, OUT "end" date)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT k, s, e FROM (
        SELECT CASE
            WHEN label ~ '^\d{4}$' THEN 'YEAR'
            WHEN label ~ '^\d{4}-\d{4}$' AND substr(label, 6, 4)::int > substr(label, 1, 4)::int THEN 'RANGE'
            WHEN label ~ '^SY\d{4}-\d{4}$' AND substr(label, 8, 4)::int = substr(label, 3, 4)::int + 1 THEN 'SCHOOL_YEAR'
            WHEN label ~ '^\d{4}-\d{2}-\d{2}$' THEN 'DATE'
            WHEN label ~ '^\d{4}-\d{2}$' THEN 'MONTH'
            WHEN label ~ '^\d{4}H[12]$' THEN 'HALF_YEAR'
            WHEN label ~ '^\d{4}Q[1-4]$' THEN 'QUARTER'
        END AS k
    ) c, LATERAL (
        SELECT
            CASE c.k
                WHEN 'YEAR'        THEN make_date(label::int, 1, 1)
                WHEN 'RANGE'       THEN make_date(substr(label, 1, 4)::int, 1, 1)
                WHEN 'SCHOOL_YEAR' THEN make_date(substr(label, 3, 4)::int, 9, 1)
                WHEN 'DATE'        THEN label::date
                WHEN 'MONTH'       THEN (label || '-01')::date
                WHEN 'HALF_YEAR'   THEN make_date(substr(label, 1, 4)::int, 6 * (substr(label, 6, 1)::int - 1) + 1, 1)
                WHEN 'QUARTER'     THEN make_date(substr(label, 1, 4)::int, 3 * (substr(label, 6, 1)::int - 1) + 1, 1)
            END AS s
    ) st, LATERAL (
        SELECT
            CASE c.k
                WHEN 'YEAR'        THEN make_date(label::int, 12, 31)
                WHEN 'RANGE'       THEN make_date(substr(label, 6, 4)::int, 12, 31)
                WHEN 'SCHOOL_YEAR' THEN make_date(substr(label, 8, 4)::int, 8, 31)
                WHEN 'DATE'        THEN st.s
                WHEN 'MONTH'       THEN (st.s + interval '1 month' - interval '1 day')::date
                WHEN 'HALF_YEAR'   THEN (st.s + interval '6 months' - interval '1 day')::date
                WHEN 'QUARTER'     THEN (st.s + interval '3 months' - interval '1 day')::date
            END AS e
    ) en
$$;

-- The arithmetic chiso's analytics share (store/schema.go macroDDL).
-- A date as a fractional calendar year (2020-07-02 ~ 2020.5).
CREATE FUNCTION peer_private.frac_year(d date) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT extract(year FROM d)::double precision
         + (extract(doy FROM d) - 1)::double precision
           / extract(doy FROM make_date(extract(year FROM d)::int, 12, 31))::double precision
$$;
-- Years between two periods' midpoints (consecutive years are exactly 1 apart).
CREATE FUNCTION peer_private.years_between(s1 date, e1 date, s2 date, e2 date) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (peer_private.frac_year(s2) + peer_private.frac_year(e2 + 1)) / 2
         - (peer_private.frac_year(s1) + peer_private.frac_year(e1 + 1)) / 2
$$;
-- Relative change; null when the base is zero.
CREATE FUNCTION peer_private.rel_change(v1 double precision, v2 double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT CASE WHEN v1 <> 0 THEN (v2 - v1) / abs(v1) END $$;
-- Compound annual growth; null unless both values are positive and time passed.
CREATE FUNCTION peer_private.cagr(v1 double precision, v2 double precision, y double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v1 > 0 AND v2 > 0 AND y > 0 THEN power(v2 / v1, 1 / y) - 1 END
$$;
-- A change crosses a methodology break when both ends name different
-- methodologies, or the later end is flagged break.
CREATE FUNCTION peer_private.crosses_break(m1 text, m2 text, f2 text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(m1 <> m2, false) OR coalesce('break' = ANY (f2), false)
$$;
-- Rank key: smaller is better.
CREATE FUNCTION peer_private.rank_key(v double precision, direction text) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN direction = 'lower_better' THEN v ELSE -v END
$$;
-- chiso rounds computed values to 10 decimal places (floating-point noise only).
CREATE FUNCTION peer_private.clean(v double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v IS NULL OR v = 'NaN'::float8 OR v IN ('Infinity'::float8, '-Infinity'::float8) THEN NULL
                ELSE round(v::numeric, 10)::double precision END
$$;

------------------------------------------------------------------------------
-- Q2: CUSTOM FUNCTION (computed column) — a unit's latest value of an
-- indicator: its canonical observation of the kind with the latest period
-- (ranges left out), as chiso's LATEST mode picks it.
-- GraphQL: Unit.latestObservation(indicator:, kind:) -> Observation
------------------------------------------------------------------------------
CREATE FUNCTION units_latest_observation(u units, indicator text, kind text DEFAULT 'actual')
RETURNS observations LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT o.* FROM observations o
    WHERE o.unit = u.code
      AND o.indicator = units_latest_observation.indicator
      AND o.kind = units_latest_observation.kind
      AND o.canonical AND o.period_kind <> 'RANGE'
    ORDER BY o.period_end DESC, o.period_start DESC, o.basis
    LIMIT 1
$$;
COMMENT ON FUNCTION units_latest_observation(units, text, text) IS
  'The unit''s latest canonical observation of the indicator and kind (range periods left out).';

------------------------------------------------------------------------------
-- Q3: CUSTOM FUNCTION — compare the units at a level under a unit on one
-- indicator in one period: value, competition rank (1 = best in the
-- indicator's direction), ties, rank within parent, set mean, and the change
-- since each unit's earliest value (single periods only). Units without a
-- value come back with missing = 'NO_DATA' and null rank, as in chiso.
-- GraphQL: Query.compareUnits(indicator:, under:, level:, period:, kind:)
------------------------------------------------------------------------------
CREATE TYPE compare_row AS (
    unit                    text,
    name_vi                 text,
    parent                  text,
    indicator               text,
    period                  text,
    value                   double precision,
    missing                 text,
    rank                    integer,
    rank_ties               integer,
    rank_in_parent          integer,
    set_mean                double precision,
    units_in_set            integer,
    earliest_period         text,
    earliest_value          double precision,
    since_earliest_absolute double precision,
    since_earliest_relative double precision,
    since_earliest_years    double precision,
    since_earliest_cagr     double precision,
    crosses_break           boolean
);

CREATE FUNCTION compare_units(indicator text, under text, level text, period text, kind text DEFAULT 'actual')
RETURNS SETOF compare_row LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH u AS (
        SELECT un.code AS unit, un.name_vi, un.parent
        FROM unit_closure c JOIN units un ON un.code = c.descendant
        WHERE c.ancestor = compare_units.under AND c.depth > 0 AND un.level = compare_units.level),
    ind AS (SELECT i.code, i.direction FROM indicators i WHERE i.code = compare_units.indicator),
    cur AS (
        SELECT DISTINCT ON (o.unit) o.*
        FROM observations o
        WHERE o.indicator = compare_units.indicator AND o.kind = compare_units.kind AND o.canonical
          AND o.period = compare_units.period AND o.unit IN (SELECT unit FROM u)
        ORDER BY o.unit, o.basis),
    earliest AS (
        SELECT DISTINCT ON (o.unit) o.*
        FROM observations o
        WHERE o.indicator = compare_units.indicator AND o.kind = compare_units.kind AND o.canonical
          AND o.period_kind <> 'RANGE' AND o.unit IN (SELECT unit FROM u)
        ORDER BY o.unit, o.id),
    joined AS (
        SELECT u.*, ind.direction, k.id, k.period, k.value, k.methodology, k.flags, k.period_start, k.period_end,
               e.period AS eperiod, e.value AS ev, e.methodology AS em, e.period_start AS eps, e.period_end AS epe
        FROM u CROSS JOIN ind
        LEFT JOIN cur k ON k.unit = u.unit
        LEFT JOIN earliest e ON e.unit = u.unit AND e.id <> k.id),
    ranked AS (
        SELECT j.*,
            CASE WHEN value IS NOT NULL THEN rank() OVER (PARTITION BY value IS NULL ORDER BY peer_private.rank_key(value, direction)) END AS rnk,
            CASE WHEN value IS NOT NULL THEN count(*) OVER (PARTITION BY value) END AS ties,
            CASE WHEN value IS NOT NULL THEN rank() OVER (PARTITION BY parent, value IS NULL ORDER BY peer_private.rank_key(value, direction)) END AS prnk,
            avg(value) OVER () AS mean,
            count(*) OVER () AS n,
            peer_private.years_between(eps, epe, period_start, period_end) AS ey
        FROM joined j)
    SELECT r.unit, r.name_vi, r.parent, compare_units.indicator, r.period, r.value,
        CASE WHEN r.value IS NULL THEN 'NO_DATA' END,
        r.rnk::int, r.ties::int, r.prnk::int, peer_private.clean(r.mean), r.n::int,
        r.eperiod, r.ev,
        peer_private.clean(r.value - r.ev), peer_private.clean(peer_private.rel_change(r.ev, r.value)),
        peer_private.clean(r.ey), peer_private.clean(peer_private.cagr(r.ev, r.value, r.ey)),
        CASE WHEN r.ev IS NOT NULL THEN peer_private.crosses_break(r.em, r.methodology, r.flags) END
    FROM ranked r
    ORDER BY r.rnk NULLS LAST, r.unit
$$;
COMMENT ON FUNCTION compare_units(text, text, text, text, text) IS
  'Rank the units at a level under a unit on one indicator in one period, with the change since each unit''s earliest value.';

------------------------------------------------------------------------------
-- Q4a: VIEW for pg-aggregates — every canonical observation joined to every
-- ancestor of its unit through unit_closure. Filter with condition
-- {indicator, kind, ancestorLevel, depth (1 = direct children) or
-- descendantLevel, periodKind}, then groupedAggregates(groupBy: [ANCESTOR,
-- PERIOD]) { sum { value } distinctCount { descendant } }.
------------------------------------------------------------------------------
CREATE VIEW rollup_inputs AS
    SELECT c.ancestor, a.level AS ancestor_level, c.descendant, d.level AS descendant_level, c.depth,
           o.indicator, o.kind, o.period, o.period_kind, o.period_start, o.value, o.basis, o.id AS observation_id
    FROM unit_closure c
    JOIN units a ON a.code = c.ancestor
    JOIN units d ON d.code = c.descendant
    JOIN observations o ON o.unit = c.descendant AND o.canonical;
COMMENT ON VIEW rollup_inputs IS
  'Canonical observations with every ancestor of their unit (for pg-aggregates rollups).';

------------------------------------------------------------------------------
-- Q4b: CUSTOM FUNCTION — chiso's rollup: aggregate an indicator by its rule
-- (SUM, MEAN, WEIGHTED_MEAN, RATIO; LAST and NONE give no rows) from the
-- children of each unit at parent_level (or from the descendants at
-- child_level) up to it, per period, with coverage (children with the inputs
-- the rule needs / children expected), the unit's own reported value and the
-- gap. Periods: every period with child data (optionally limited to
-- [from_period .. to_period] by start date, and to one period kind).
-- GraphQL: Query.rollup(indicator:, parentLevel:, under:, childLevel:, ...)
------------------------------------------------------------------------------
CREATE TYPE rollup_row AS (
    unit               text,
    period             text,
    rule               text,
    value              double precision,
    expected           integer,
    with_data          integer,
    coverage           double precision,
    weight_share       double precision,
    reported           double precision,
    gap                double precision,
    gap_relative       double precision
);

CREATE FUNCTION rollup(indicator text, parent_level text, under text DEFAULT NULL, child_level text DEFAULT NULL,
                       from_period text DEFAULT NULL, to_period text DEFAULT NULL,
                       period_kind text DEFAULT 'YEAR', kind text DEFAULT 'actual')
RETURNS SETOF rollup_row LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH ind AS (
        SELECT i.code, i.rollup_rule AS rule, i.scale,
               CASE i.rollup_rule WHEN 'WEIGHTED_MEAN' THEN i.rollup_weight WHEN 'RATIO' THEN i.rollup_numerator END AS w,
               CASE i.rollup_rule WHEN 'RATIO' THEN i.rollup_denominator END AS d
        FROM indicators i
        WHERE i.code = rollup.indicator AND i.rollup_rule IN ('SUM', 'MEAN', 'WEIGHTED_MEAN', 'RATIO')),
    -- RATIO multiplier as chiso computes it (indicator.RatioMultiplier):
    -- by the ratio's measure unit (% and per_100: 100, ‰: 1000, per_10000:
    -- 10000) times numerator scale / denominator scale / the ratio's scale.
    mult AS (
        SELECT coalesce(nu.scale / de.scale / ind.scale
                        * CASE ri.measure_unit WHEN '%' THEN 100 WHEN 'per_100' THEN 100
                                               WHEN '‰' THEN 1000 WHEN 'per_10000' THEN 10000 ELSE 1 END, 1) AS m
        FROM ind JOIN indicators ri ON ri.code = ind.code
        LEFT JOIN indicators nu ON nu.code = ind.w LEFT JOIN indicators de ON de.code = ind.d),
    par AS (
        SELECT un.code AS parent FROM units un
        WHERE un.level = rollup.parent_level
          AND (rollup.under IS NULL OR un.code IN (SELECT descendant FROM unit_closure WHERE ancestor = rollup.under))),
    kids AS (
        SELECT c.ancestor AS parent, c.descendant AS child
        FROM unit_closure c JOIN units cu ON cu.code = c.descendant
        WHERE c.ancestor IN (SELECT parent FROM par)
          AND CASE WHEN rollup.child_level IS NULL THEN c.depth = 1 ELSE c.depth > 0 AND cu.level = rollup.child_level END),
    -- One row per child and period with the rule's inputs side by side
    -- (canonical values are unique per unit, indicator, period, kind, basis).
    pv AS (
        SELECT o.unit, o.period, min(o.period_start) AS ps,
               max(o.value) FILTER (WHERE o.indicator = (SELECT code FROM ind)) AS xv,
               max(o.value) FILTER (WHERE o.indicator = (SELECT w FROM ind)) AS wv,
               max(o.value) FILTER (WHERE o.indicator = (SELECT d FROM ind)) AS dv
        FROM observations o
        WHERE o.canonical AND o.kind = rollup.kind AND o.basis = ''
          AND o.indicator IN (SELECT code FROM ind UNION ALL SELECT w FROM ind UNION ALL SELECT d FROM ind)
          AND o.unit IN (SELECT child FROM kids)
          AND (rollup.period_kind IS NULL OR o.period_kind = rollup.period_kind)
          AND (rollup.from_period IS NULL OR o.period_start >= (SELECT p.start FROM periods p WHERE p.label = rollup.from_period))
          AND (rollup.to_period IS NULL OR o.period_end <= (SELECT p."end" FROM periods p WHERE p.label = rollup.to_period))
        GROUP BY o.unit, o.period),
    hd AS (
        SELECT pv.*, CASE (SELECT rule FROM ind) WHEN 'WEIGHTED_MEAN' THEN xv IS NOT NULL AND wv IS NOT NULL
                                                 WHEN 'RATIO' THEN wv IS NOT NULL AND dv IS NOT NULL
                                                 ELSE xv IS NOT NULL END AS has
        FROM pv),
    -- As chiso: every parent gets a row for every period any child has data
    -- for; children without the inputs count as expected, not with data.
    per AS (SELECT period, min(ps) AS ps FROM pv GROUP BY period),
    nkids AS (SELECT parent, count(*) AS expected FROM kids GROUP BY parent),
    sums AS (
        SELECT k.parent, hd.period, count(*) FILTER (WHERE has) AS with_data,
               sum(xv) FILTER (WHERE has) AS sx, avg(xv) FILTER (WHERE has) AS ax,
               sum(xv * wv) FILTER (WHERE has) AS sxw, sum(wv) FILTER (WHERE has) AS swh, sum(wv) AS sw,
               sum(dv) FILTER (WHERE has) AS sdh, sum(dv) AS sd
        FROM kids k JOIN hd ON hd.unit = k.child
        GROUP BY k.parent, hd.period),
    agg AS (
        SELECT n.parent, per.period, per.ps, n.expected, coalesce(s.with_data, 0) AS with_data,
            CASE (SELECT rule FROM ind)
                WHEN 'SUM'  THEN s.sx
                WHEN 'MEAN' THEN s.ax
                WHEN 'WEIGHTED_MEAN' THEN s.sxw / nullif(s.swh, 0)
                WHEN 'RATIO' THEN s.swh / nullif(s.sdh, 0) * (SELECT m FROM mult)
            END AS value,
            CASE (SELECT rule FROM ind)
                WHEN 'WEIGHTED_MEAN' THEN s.swh / nullif(s.sw, 0)
                WHEN 'RATIO' THEN s.sdh / nullif(s.sd, 0)
            END AS weight_share
        FROM nkids n CROSS JOIN per
        LEFT JOIN sums s ON s.parent = n.parent AND s.period = per.period)
    SELECT a.parent, a.period, (SELECT rule FROM ind), peer_private.clean(a.value), a.expected::int, a.with_data::int,
           peer_private.clean(a.with_data::float8 / a.expected), peer_private.clean(a.weight_share),
           r.value, peer_private.clean(a.value - r.value), peer_private.clean(peer_private.rel_change(r.value, a.value))
    FROM agg a
    LEFT JOIN LATERAL (
        SELECT o.value FROM observations o
        WHERE o.unit = a.parent AND o.period = a.period AND o.indicator = rollup.indicator
          AND o.kind = rollup.kind AND o.canonical
        ORDER BY o.basis LIMIT 1) r ON true
    ORDER BY a.parent, a.ps, a.period
$$;
COMMENT ON FUNCTION rollup(text, text, text, text, text, text, text, text) IS
  'Aggregate an indicator by its rollup rule from children (or descendants at childLevel) up to every unit at parentLevel, per period, with coverage and the gap to the reported value.';

------------------------------------------------------------------------------
-- Q5: CUSTOM FUNCTION — growth ranking: for each unit at a level under a
-- unit, the compound annual growth rate from its first to its last value of
-- the indicator (canonical, single periods, optionally within
-- [from_period .. to_period]), ranked like chiso's compare(rankBy: GROWTH):
-- competition rank, 1 = best in the indicator's direction (highest growth
-- for higher_better/neutral, lowest for lower_better).
-- GraphQL: Query.growthRanking(indicator:, under:, level:, ...)
------------------------------------------------------------------------------
CREATE TYPE growth_row AS (
    unit         text,
    name_vi      text,
    first_period text,
    first_value  double precision,
    last_period  text,
    last_value   double precision,
    years        double precision,
    absolute     double precision,
    relative     double precision,
    cagr         double precision,
    rank         integer,
    crosses_break boolean,
    missing      text
);

CREATE FUNCTION growth_ranking(indicator text, under text, level text DEFAULT 'commune',
                               from_period text DEFAULT NULL, to_period text DEFAULT NULL, kind text DEFAULT 'actual')
RETURNS SETOF growth_row LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH u AS (
        SELECT un.code AS unit, un.name_vi
        FROM unit_closure c JOIN units un ON un.code = c.descendant
        WHERE c.ancestor = growth_ranking.under AND c.depth > 0 AND un.level = growth_ranking.level),
    ind AS (SELECT i.direction FROM indicators i WHERE i.code = growth_ranking.indicator),
    s AS (
        SELECT o.*
        FROM observations o
        WHERE o.indicator = growth_ranking.indicator AND o.kind = growth_ranking.kind AND o.canonical
          AND o.period_kind <> 'RANGE' AND o.unit IN (SELECT unit FROM u)
          AND (growth_ranking.from_period IS NULL OR o.period_start >= (SELECT p.start FROM periods p WHERE p.label = growth_ranking.from_period))
          AND (growth_ranking.to_period IS NULL OR o.period_end <= (SELECT p."end" FROM periods p WHERE p.label = growth_ranking.to_period))),
    f AS (SELECT DISTINCT ON (unit) * FROM s ORDER BY unit, id),
    l AS (SELECT DISTINCT ON (unit) * FROM s ORDER BY unit, period_end DESC, period_start DESC, basis),
    j AS (
        SELECT u.unit, u.name_vi, f.period AS fp, f.value AS fv, l.period AS lp, l.value AS lv,
               CASE WHEN f.id <> l.id THEN peer_private.years_between(f.period_start, f.period_end, l.period_start, l.period_end) END AS y,
               f.id <> l.id AS two, f.methodology AS fm, l.methodology AS lm, l.flags AS lf
        FROM u LEFT JOIN f ON f.unit = u.unit LEFT JOIN l ON l.unit = u.unit),
    g AS (SELECT j.*, peer_private.cagr(fv, lv, y) AS cg FROM j),
    ranked AS (
        SELECT g.*, CASE WHEN cg IS NOT NULL THEN rank() OVER (PARTITION BY cg IS NULL ORDER BY peer_private.rank_key(cg, (SELECT direction FROM ind))) END AS rnk
        FROM g)
    SELECT unit, name_vi, fp, fv, lp, lv, peer_private.clean(y),
           CASE WHEN two THEN peer_private.clean(lv - fv) END,
           CASE WHEN two THEN peer_private.clean(peer_private.rel_change(fv, lv)) END,
           peer_private.clean(cg), rnk::int,
           CASE WHEN two THEN peer_private.crosses_break(fm, lm, lf) END,
           CASE WHEN fp IS NULL THEN 'NO_DATA' WHEN NOT two THEN 'ONE_VALUE' END
    FROM ranked
    ORDER BY rnk NULLS LAST, unit
$$;
COMMENT ON FUNCTION growth_ranking(text, text, text, text, text, text) IS
  'Rank the units at a level under a unit by the CAGR of an indicator between each one''s first and last value.';

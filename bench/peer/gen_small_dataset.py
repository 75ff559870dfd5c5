#!/usr/bin/env python3
"""Generate a small synthetic dataset in chiso's format (README "Dataset format")
for testing the peer system end to end.

    python3 gen_small_dataset.py OUT_DIR [--provinces 3] [--districts 4]
        [--communes 5] [--extra-indicators 0] [--from 2000] [--to 2019]

Units: country vn -> provinces vn.p1.. -> districts vn.p1.d1.. -> communes
vn.p1.d1.c1..  Indicators: population, households, households_poor (SUM),
poverty_rate (RATIO(households_poor,households), lower_better, methodology
break after 2010), schools (SUM), plus --extra-indicators SUM indicators
x06, x07, ...  Every commune has every indicator every year, except the last
commune of each province's last district, which has no data before from+5
(so rollup coverage is incomplete in the first five years).  Districts and
provinces report their own values of every indicator: the sum of their
communes' values (population: 1% above it, qualifier about, flag
estimated; poverty_rate: recomputed from the summed households).
Province vn.p1 has a second, older population figure for the last year from
source s2 (not canonical), and a population target for 2025.

Values are deterministic (no randomness), so results can be checked by hand.
"""
import argparse
import csv
import os


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--provinces", type=int, default=3)
    ap.add_argument("--districts", type=int, default=4)
    ap.add_argument("--communes", type=int, default=5)
    ap.add_argument("--extra-indicators", type=int, default=0)
    ap.add_argument("--from", dest="y0", type=int, default=2000)
    ap.add_argument("--to", dest="y1", type=int, default=2019)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    years = list(range(a.y0, a.y1 + 1))

    with open(os.path.join(a.out, "sources.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "title", "issuer", "number", "date", "kind"])
        w.writerow(["s1", "Synthetic statistical yearbook", "Generator", "1/2020", "2020-06-01", "yearbook"])
        w.writerow(["s2", "Synthetic older report", "Generator", "", "2015", "report"])

    units = [("vn", "Việt Nam", "Viet Nam", "country", "")]
    communes, districts, provinces = [], [], []
    for p in range(1, a.provinces + 1):
        pc = f"vn.p{p}"
        provinces.append(pc)
        units.append((pc, f"Tỉnh {p}", f"Province {p}", "province", "vn"))
        for d in range(1, a.districts + 1):
            dc = f"{pc}.d{d}"
            districts.append((dc, pc))
            units.append((dc, f"Huyện {p}.{d}", f"District {p}.{d}", "district", pc))
            for c in range(1, a.communes + 1):
                cc = f"{dc}.c{c}"
                gap = d == a.districts and c == a.communes
                communes.append((cc, dc, pc, p, d, c, gap))
                units.append((cc, f"Xã {p}.{d}.{c}", f"Commune {p}.{d}.{c}", "commune", dc))
    with open(os.path.join(a.out, "units.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["code", "name_vi", "name_en", "level", "parent", "valid_from", "valid_to"])
        for u in units:
            w.writerow(list(u) + ["", ""])

    inds = [
        ("population", "Dân số", "Population", "persons", "higher_better", "SUM"),
        ("households", "Số hộ", "Households", "households", "neutral", "SUM"),
        ("households_poor", "Số hộ nghèo", "Poor households", "households", "lower_better", "SUM"),
        ("poverty_rate", "Tỷ lệ hộ nghèo", "Poverty rate", "%", "lower_better",
         "RATIO(households_poor,households)"),
        ("schools", "Số trường học", "Schools", "schools", "higher_better", "SUM"),
    ]
    for i in range(a.extra_indicators):
        inds.append((f"x{i + 6:02d}", f"Chỉ số {i + 6}", f"Indicator {i + 6}", "units", "higher_better", "SUM"))
    with open(os.path.join(a.out, "indicators.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["code", "name_vi", "name_en", "measure_unit", "scale", "theme", "direction",
                    "group", "rollup", "total", "breakdown", "definition"])
        for code, vi, en, mu, direction, rollup in inds:
            w.writerow([code, vi, en, mu, 1, "synthetic", direction, "all", rollup, "", "", ""])

    def commune_values(p, d, c, y):
        t = y - a.y0
        base = 1000 * p + 100 * d + 10 * c            # distinct per commune
        pop = base * 10 + 13 * c * t                   # linear growth, faster for higher c
        hh = pop // 4
        poor = max(1, hh * (40 - t - c) // 100)        # falls over time
        return {"population": pop, "households": hh, "households_poor": poor,
                "poverty_rate": round(100.0 * poor / hh, 4), "schools": 2 + c + t // 5}

    header = ["unit", "indicator", "period", "kind", "value", "denominator", "factor", "qualifier",
              "flags", "methodology", "source", "line", "raw", "note"]
    n = 0
    with open(os.path.join(a.out, "observations.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        line = 0
        sums = {}
        for cc, dc, pc, p, d, c, gap in communes:
            for y in years:
                if gap and y < a.y0 + 5:
                    continue
                vals = commune_values(p, d, c, y)
                for k, (code, *_rest) in enumerate(inds):
                    if k < 5:
                        v = vals[code]
                    else:
                        v = (p * d * c + k) * (y - a.y0 + 1)
                    meth = ""
                    if code == "poverty_rate":
                        meth = "poverty_2000_2010" if y <= 2010 else "poverty_2011"
                    line += 1
                    w.writerow([cc, code, str(y), "actual", v, "", "", "", "", meth, "s1", line, str(v), ""])
                    n += 1
                    if code != "poverty_rate":
                        for parent in (dc, pc):
                            key = (parent, y)
                            sums.setdefault(key, {})
                            sums[key][code] = sums[key].get(code, 0) + v
        for (parent, y), vals in sorted(sums.items(), key=lambda kv: (len(kv[0][0]), kv[0])):
            for code, *_rest in inds:
                line += 1
                qual, flags, meth = "", "", ""
                if code == "population":
                    v, qual, flags = round(vals[code] * 1.01), "about", "estimated"
                elif code == "poverty_rate":
                    v = round(100.0 * vals["households_poor"] / vals["households"], 4)
                    meth = "poverty_2000_2010" if y <= 2010 else "poverty_2011"
                else:
                    v = vals[code]
                w.writerow([parent, code, str(y), "actual", v, "", "", qual, flags, meth, "s1", line, str(v), ""])
                n += 1
        p1 = provinces[0]
        w.writerow([p1, "population", str(a.y1), "actual", 1, "", "", "", "", "", "s2", 7, "1", "older report"])
        w.writerow([p1, "population", "2025", "target", 999999, "", "", "at_least", "", "", "s1", 9, "999999", ""])
        w.writerow([p1, "population", f"{a.y0}-{a.y1}", "actual", 42, "", "", "", "per_year", "", "s1", 10, "42", "range"])
        n += 3
    print(f"{a.out}: {len(units)} units, {len(inds)} indicators, {n} observations")


if __name__ == "__main__":
    main()

// PostGraphile v5 configuration for the chiso peer (read by start.sh's
// `postgraphile -C graphile.config.mjs`). Everything variable comes from the
// environment start.sh sets:
//   DATABASE_URL  postgres://postgres@127.0.0.1:PG_PORT/chiso
//   GQL_PORT      the HTTP port (bound to 127.0.0.1 only)
//   PEER_POOL     PostgreSQL connections PostGraphile may open (default 10)
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { PgAggregatesPreset } from "@graphile/pg-aggregates";

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset, PgAggregatesPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["public"],
      poolConfig: { max: Number(process.env.PEER_POOL || 10) },
    }),
  ],
  grafserv: {
    host: "127.0.0.1",
    port: Number(process.env.GQL_PORT || 55433),
    graphiql: false,
    watch: false,
  },
  grafast: {
    explain: false,
  },
};

export default preset;

// Builds chiso's pages into dist/ (committed, embedded in the binary by
// web.go): GraphiQL for / and the explorer for /explore. Run with
// `npm ci && npm run build` in web/. The output is byte-reproducible from
// the lockfile and the sources; dist/manifest.json records the SHA-256 of
// every input and output, which a Go test (web_test.go) checks.
import { build, version } from 'esbuild';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const dist = join(here, 'dist');

// files lists every file under dir, sorted, as paths relative to here.
function files(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else out.push(relative(here, p));
  }
  return out;
}

const sha256 = (p) => createHash('sha256').update(readFileSync(join(here, p))).digest('hex');

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);

const common = {
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  legalComments: 'external',
  charset: 'utf8',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
};
await build({ ...common, entryPoints: { graphiql: join(here, 'src/graphiql.jsx') }, outdir: dist, jsx: 'automatic' });
await build({ ...common, entryPoints: { explore: join(here, 'src/explore/main.js') }, outdir: dist });
cpSync(join(here, 'src/graphiql.html'), join(dist, 'graphiql.html'));
cpSync(join(here, 'src/explore.html'), join(dist, 'explore.html'));

const inputs = ['build.mjs', 'package.json', 'package-lock.json', ...files(join(here, 'src'))];
const manifest = {
  note: 'SHA-256 of the inputs dist/ was built from and of every file in it; see web/README.md',
  esbuild: version,
  inputs: Object.fromEntries(inputs.map((p) => [p, sha256(p)])),
  outputs: Object.fromEntries(files(dist).map((p) => [relative('dist', p), sha256(p)])),
};
writeFileSync(join(dist, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
for (const [p] of Object.entries(manifest.outputs)) {
  console.log(`${String(statSync(join(dist, p)).size).padStart(9)}  dist/${p}`);
}

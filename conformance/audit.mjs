// Runs graphql-http's GraphQL-over-HTTP server audits against a URL and
// exits non-zero on any failure or warning (notices are printed only).
// Usage: node audit.mjs http://127.0.0.1:8080/graphql
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}

let ok = 0, warn = 0, error = 0, notice = 0;
for (const audit of serverAudits({ url })) {
  const res = await audit.fn();
  switch (res.status) {
    case 'ok':
      ok++;
      continue;
    case 'notice':
      notice++;
      break;
    case 'warn':
      warn++;
      break;
    default:
      error++;
  }
  let detail = '';
  if (res.response) {
    let body = '';
    try { body = await res.response.text(); } catch { /* already read */ }
    detail = ` [${res.response.status} ${res.response.headers.get('content-type') ?? ''}] ${body.slice(0, 300)}`;
  }
  console.log(`${res.status.toUpperCase()} ${audit.id} ${audit.name}: ${res.reason}${detail}`);
}
console.log(`graphql-http serverAudits: ${ok} ok, ${notice} notices, ${warn} warnings, ${error} failures`);
process.exit(warn + error > 0 ? 1 : 0);

// The explorer's only ways out: GraphQL at /graphql and exports at
// /export, both on the origin that served the page.

export async function gql(query, variables = {}) {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
  return body.data;
}

// str writes s as a GraphQL string literal (JSON's escapes are GraphQL's).
export const str = (s) => JSON.stringify(s);

// exportURL is the download link of a query's first list (see README,
// "Exports"): GET /export?format=…&query=….
export function exportURL(format, query) {
  return `/export?format=${encodeURIComponent(format)}&query=${encodeURIComponent(query)}`;
}

// GraphiQL for chiso, bundled with its dependencies so that the page
// needs nothing but this server: the README's example questions are
// preloaded as tabs, and requests go only to /graphql on the same origin.
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import 'graphiql/graphiql.css';
import examples from './examples.json';

async function fetcher(params, opts) {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(opts?.headers || {}) },
    body: JSON.stringify(params),
  });
  return res.json();
}

// Each README question is a named operation, so its tab has a title.
const tabs = examples.map((e) => ({ query: `# ${e.title}\nquery ${e.name} ${e.query}\n` }));

createRoot(document.getElementById('graphiql')).render(
  <GraphiQL fetcher={fetcher} defaultTabs={tabs} defaultEditorToolsVisibility={false} isHeadersEditorEnabled={false} />,
);

import { type Exchange, type SandboxState, send } from './http.js';

/**
 * A cluster's data plane: `GET /_dataplane/{key}` with HTTP basic auth answers 200 for the user and
 * the password the data plane currently accepts, 401 otherwise.
 */
export function handleDataPlane(x: Exchange, state: SandboxState, key: string): void {
  x.entry.operation = 'dataplane';
  const cluster = state.clusters.byKey(key);
  if (!cluster || x.req.method !== 'GET')
    return send(x, { status: 404, body: JSON.stringify({ error: 'no such cluster' }) }, 'not-found');
  x.entry.provider = cluster.provider;
  x.entry.cluster = cluster.key;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(String(x.req.headers.authorization ?? ''));
  const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? '' : decoded.slice(0, colon);
  const pass = colon < 0 ? '' : decoded.slice(colon + 1);
  if (m && user === cluster.username && pass === cluster.loginPassword(state.clock.now())) {
    return send(
      x,
      { status: 200, body: JSON.stringify({ cluster: cluster.key, authenticated: true }) },
      'ok',
    );
  }
  return send(
    x,
    { status: 401, body: JSON.stringify({ error: 'unauthorized' }) },
    m ? 'wrong credentials' : 'no credentials',
    {
      'www-authenticate': 'Basic realm="sandbox"',
    },
  );
}

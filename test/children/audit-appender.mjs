// Appends N audit events to a trail, as one of several worker processes would.
// argv: <trail path> <writer name> <count>
import { openFileAuditTrail } from '../../dist/src/audit/file-trail.js';

const [path, name, countText] = process.argv.slice(2);
const count = Number(countText);
const trail = await openFileAuditTrail({ path, lockTimeoutMs: 30_000 });
for (let i = 0; i < count; i++) {
  await trail.append({
    type: 'step',
    rotationId: `${name}-${Math.floor(i / 5)}`,
    targetId: `target-${name}`,
    provider: 'otc-css',
    trigger: 'schedule',
    actor: 'scheduler',
    attempt: 1,
    step: 'apply',
    outcome: 'ok',
    detail: `${name}#${i}`,
  });
}
await trail.close();

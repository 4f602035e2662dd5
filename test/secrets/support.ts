/** Everything an error could show: message, stack, own fields and the whole cause chain. */
export function collectErrorText(err: unknown, depth = 0): string {
  if (depth > 10 || err === undefined || err === null) return '';
  if (typeof err !== 'object') return String(err);
  const e = err as Error & { cause?: unknown };
  const own: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(e)) {
    if (key !== 'cause') own[key] = (e as unknown as Record<string, unknown>)[key];
  }
  let text = `${e.name}: ${e.message}\n${e.stack ?? ''}\n`;
  try {
    text += JSON.stringify(own);
  } catch {
    text += String(own);
  }
  return text + '\n' + collectErrorText(e.cause, depth + 1);
}

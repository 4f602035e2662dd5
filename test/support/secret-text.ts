/**
 * Test helpers for secret texts. The stores keep a version's text opaque; tests that only need the
 * password read it here: the `password` of a JSON object, else the whole text (a `text` secret).
 */
export function passwordIn(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    const pw = (parsed as { password?: unknown } | null)?.password;
    if (typeof pw === 'string') return pw;
  } catch {
    // Not JSON: a bare password.
  }
  return text;
}

/** The password of a version, or undefined when there is no version. */
export function passwordOf(version: { text: string } | undefined): string | undefined {
  return version === undefined ? undefined : passwordIn(version.text);
}

/** A secret text in the rotator's own JSON shape (username, password, engine, then `extra`). */
export function jsonSecret(password: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ username: 'admin', password, engine: 'otc-css', ...extra });
}

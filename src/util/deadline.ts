/**
 * A signal that aborts after `ms` or when `parent` aborts, without AbortSignal.any: on Node 20 a
 * signal made by `any` from a long-lived parent (the worker's shutdown signal) stays reachable from
 * it, and each call made one. `dispose` clears the timer and the listener; call it when done.
 */
export function deadline(ms: number, parent?: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onParent = () => controller.abort(parent?.reason);
  const timer = setTimeout(() => {
    controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError'));
  }, ms);
  timer.unref?.();
  if (parent) {
    if (parent.aborted) controller.abort(parent.reason);
    else parent.addEventListener('abort', onParent, { once: true });
  }
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    },
  };
}

import type { ErrorKind } from '../errors.js';

/** A classified failure before the provider adds its id and the operation. */
export interface Classified {
  kind: ErrorKind;
  status: number;
  vendorCode?: string;
  vendorMessage?: string;
  requestId?: string;
  retryAfterMs?: number;
  /** How the kind was decided, when that is worth saying (e.g. a guess from the message text). */
  detail?: string;
}

/** What a classifier sees of an answer: status, lower-cased headers, raw text, and the time. */
export interface AnswerFacts {
  status: number;
  headers: Record<string, string>;
  text: string;
  nowMs: number;
}

import type { SpanKind, Status } from './types';

export const KIND_LABELS: Record<SpanKind, string> = {
  llm: 'LLM',
  chain: 'Chain',
  agent: 'Agent',
  tool: 'Tool',
  retriever: 'Retriever',
  embedding: 'Embedding',
  reranker: 'Reranker',
  guardrail: 'Guardrail',
  evaluator: 'Evaluator',
  other: 'Other',
};

function isKnownKind(kind: string): kind is SpanKind {
  return Object.hasOwn(KIND_LABELS, kind);
}

/** Kinds this UI does not know are shown by their raw name, styled as "other". */
export function kindLabel(kind: string): string {
  return isKnownKind(kind) ? KIND_LABELS[kind] : kind;
}

export function kindStyle(kind: string): SpanKind {
  return isKnownKind(kind) ? kind : 'other';
}

export const STATUS_LABELS: Record<Status, string> = {
  ok: 'OK',
  error: 'Error',
  unset: 'Unset',
};

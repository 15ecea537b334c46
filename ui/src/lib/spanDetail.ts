// What the span detail panel shows, derived from a SpanView. Pure functions, no DOM.

import type { Attribution, ErrorClass, Message, SpanView, Usage } from './types';

export type RoleStyle = 'system' | 'user' | 'assistant' | 'tool' | 'other';

const ROLE_STYLES: Record<string, RoleStyle> = {
  system: 'system',
  developer: 'system',
  user: 'user',
  human: 'user',
  assistant: 'assistant',
  ai: 'assistant',
  model: 'assistant',
  tool: 'tool',
  function: 'tool',
  ipython: 'tool',
};

/** The bubble style for a message role; providers name the same roles differently. */
export function roleStyle(role: string): RoleStyle {
  return ROLE_STYLES[role.toLowerCase()] ?? 'other';
}

export interface UsageRow {
  key: keyof Usage;
  label: string;
  value: number;
  /** Part of the row above it (cache reads are input tokens, reasoning is output). */
  part: boolean;
}

/** Token counts by key, the known ones only, each part after its whole. */
export function usageRows(usage: Usage): UsageRow[] {
  const rows: UsageRow[] = [];
  const add = (key: keyof Usage, label: string, part: boolean) => {
    const value = usage[key];
    if (value !== null && value !== undefined) rows.push({ key, label, value, part });
  };
  add('input', 'Input', false);
  add('cache_read', 'cache read', true);
  add('cache_write', 'cache write', true);
  add('output', 'Output', false);
  add('reasoning', 'reasoning', true);
  return rows;
}

export const ATTRIBUTION_KEYS: readonly (keyof Attribution)[] = [
  'tenant',
  'endpoint',
  'feature',
  'user',
  'session',
  'environment',
  'release',
];

/** Attribution keys that have a value, in a fixed order. */
export function attributionRows(attribution: Attribution): [keyof Attribution, string][] {
  const rows: [keyof Attribution, string][] = [];
  for (const key of ATTRIBUTION_KEYS) {
    const value = attribution[key];
    if (value !== null && value !== undefined && value !== '') rows.push([key, value]);
  }
  return rows;
}

export const ERROR_CLASS_TEXT: Record<ErrorClass, { label: string; title: string }> = {
  model: { label: 'model error', title: 'The model or its provider failed (5xx, refusal, content filter, rate limit)' },
  tool: { label: 'tool error', title: 'A tool or function the application called failed' },
  infrastructure: {
    label: 'infrastructure error',
    title: "The application's own infrastructure failed (network, timeout, a bug)",
  },
};

const FINISH_WARNINGS: Record<string, string> = {
  length: 'The output was cut off at the token limit',
  max_tokens: 'The output was cut off at the token limit',
  content_filter: "The provider's content filter stopped the output",
};

/** Why a finish reason deserves attention, or null when it is a normal stop. */
export function finishWarning(reason: string | null): string | null {
  return reason === null ? null : (FINISH_WARNINGS[reason.toLowerCase()] ?? null);
}

/** Arguments (JSON text) pretty-printed when they parse, verbatim otherwise. */
export function prettyArguments(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export interface ToolCallRef {
  name: string;
  /** Which list the call is in, and where. */
  list: 'input' | 'output';
  message: number;
  call: number;
}

export interface ToolResultRef {
  list: 'input' | 'output';
  message: number;
}

/** Tool calls by id, and the messages that answer them, across a span's input and output. */
export function toolCallLinks(
  input: readonly Message[],
  output: readonly Message[],
): { calls: Map<string, ToolCallRef>; results: Map<string, ToolResultRef> } {
  const calls = new Map<string, ToolCallRef>();
  const results = new Map<string, ToolResultRef>();
  const scan = (messages: readonly Message[], list: 'input' | 'output') => {
    messages.forEach((message, messageIndex) => {
      (message.tool_calls ?? []).forEach((call, callIndex) => {
        if (call.id && !calls.has(call.id)) {
          calls.set(call.id, { name: call.name, list, message: messageIndex, call: callIndex });
        }
      });
      if (message.tool_call_id && !results.has(message.tool_call_id)) {
        results.set(message.tool_call_id, { list, message: messageIndex });
      }
    });
  };
  scan(input, 'input');
  scan(output, 'output');
  return { calls, results };
}

/** Whether the span has anything for the Model section. */
export function hasModelFacts(span: SpanView): boolean {
  return (
    span.provider !== null ||
    span.model !== null ||
    span.response_model !== null ||
    span.finish_reason !== null
  );
}

/** Object entries sorted by key. */
export function sortedEntries(record: Record<string, unknown> | null | undefined): [string, unknown][] {
  return Object.entries(record ?? {}).sort(([a], [b]) => a.localeCompare(b));
}

/** Text long enough to be collapsed by default. */
export function isLongText(text: string, maxChars = 600, maxLines = 12): boolean {
  if (text.length > maxChars) return true;
  let lines = 1;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) === 10 && ++lines > maxLines) return true;
  }
  return false;
}

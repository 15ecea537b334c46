// Hash routes: #/traces, #/traces/<trace_id>, #/evals, #/evals/run/<run_id>, #/evals/diff,
// #/evals/trend, #/prompts, #/prompts/file, #/settings, ...
// A route may carry parameters after `?` (`#/traces?tenant=acme&status=error`);
// parseRoute ignores them and hashParams reads them.

export type SectionName = 'traces' | 'evals' | 'prompts' | 'cost' | 'alerts' | 'settings';

export type Route =
  | { name: SectionName }
  | { name: 'trace'; traceId: string }
  | { name: 'eval_run'; runId: string }
  | { name: 'eval_diff' }
  | { name: 'eval_trend' }
  | { name: 'prompt_file' }
  | { name: 'not_found'; path: string };

export const SECTIONS: readonly { name: SectionName; label: string }[] = [
  { name: 'traces', label: 'Traces' },
  { name: 'evals', label: 'Evals' },
  { name: 'prompts', label: 'Prompts' },
  { name: 'cost', label: 'Cost' },
  { name: 'alerts', label: 'Alerts' },
  { name: 'settings', label: 'Settings' },
];

const SECTION_NAMES = new Set<string>(SECTIONS.map((section) => section.name));

/** The part of a hash before its `?`. */
function hashPath(hash: string): string {
  const body = hash.replace(/^#/, '');
  const question = body.indexOf('?');
  return question === -1 ? body : body.slice(0, question);
}

/** The parameters after `?` in a route hash (empty when there are none). */
export function hashParams(hash: string): URLSearchParams {
  const question = hash.indexOf('?');
  return new URLSearchParams(question === -1 ? '' : hash.slice(question + 1));
}

export function parseRoute(hash: string): Route {
  const path = hashPath(hash).replace(/^\/+/, '').replace(/\/+$/, '');
  if (path === '') return { name: 'traces' };

  const [first = '', ...rest] = path.split('/');
  if (rest.length === 0 && SECTION_NAMES.has(first)) return { name: first as SectionName };
  if (first === 'traces' && rest.length > 0) {
    try {
      return { name: 'trace', traceId: decodeURIComponent(rest.join('/')) };
    } catch {
      return { name: 'not_found', path };
    }
  }
  if (first === 'evals' && rest.length === 1 && rest[0] === 'diff') return { name: 'eval_diff' };
  if (first === 'evals' && rest.length === 1 && rest[0] === 'trend') return { name: 'eval_trend' };
  if (first === 'prompts' && rest.length === 1 && rest[0] === 'file') return { name: 'prompt_file' };
  if (first === 'evals' && rest[0] === 'run' && rest.length > 1) {
    try {
      return { name: 'eval_run', runId: decodeURIComponent(rest.slice(1).join('/')) };
    } catch {
      return { name: 'not_found', path };
    }
  }
  return { name: 'not_found', path };
}

/** Which sidebar entry is highlighted for a route. */
export function sectionOf(route: Route): SectionName | null {
  if (route.name === 'trace') return 'traces';
  if (route.name === 'eval_run' || route.name === 'eval_diff' || route.name === 'eval_trend') return 'evals';
  if (route.name === 'prompt_file') return 'prompts';
  if (route.name === 'not_found') return null;
  return route.name;
}

export function sectionHref(name: SectionName): string {
  return `#/${name}`;
}

export function traceHref(traceId: string): string {
  return `#/traces/${encodeURIComponent(traceId)}`;
}

/** A run's page; `params` (grid filters, the open cell) go after `?`. */
export function evalRunHref(runId: string, params?: URLSearchParams): string {
  const base = `#/evals/run/${encodeURIComponent(runId)}`;
  const query = params?.toString() ?? '';
  return query === '' ? base : `${base}?${query}`;
}

function withParams(base: string, params: URLSearchParams): string {
  const query = params.toString();
  return query === '' ? base : `${base}?${query}`;
}

/** A prompt or eval-set file in the Prompts section; `params` may add `tab`. */
export function promptFileHref(path: string, params?: URLSearchParams): string {
  const all = new URLSearchParams({ path });
  for (const [key, value] of params ?? []) all.set(key, value);
  return withParams('#/prompts/file', all);
}

/** The eval diff view with its pickers (`evalset`, `base`, `head`, ...). */
export function evalDiffHref(params?: URLSearchParams): string {
  return withParams('#/evals/diff', params ?? new URLSearchParams());
}

/** An eval set's trend over commits. */
export function evalTrendHref(evalset: string): string {
  return withParams('#/evals/trend', new URLSearchParams({ evalset }));
}

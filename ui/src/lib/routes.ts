// Hash routes: #/traces, #/traces/<trace_id>, #/evals, ...

export type SectionName = 'traces' | 'evals' | 'prompts' | 'cost' | 'alerts' | 'settings';

export type Route =
  | { name: SectionName }
  | { name: 'trace'; traceId: string }
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

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/^\/+/, '').replace(/\/+$/, '');
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
  return { name: 'not_found', path };
}

/** Which sidebar entry is highlighted for a route. */
export function sectionOf(route: Route): SectionName | null {
  if (route.name === 'trace') return 'traces';
  if (route.name === 'not_found') return null;
  return route.name;
}

export function sectionHref(name: SectionName): string {
  return `#/${name}`;
}

export function traceHref(traceId: string): string {
  return `#/traces/${encodeURIComponent(traceId)}`;
}

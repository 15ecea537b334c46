// Where the trace list was last shown, filters included, so that the way back
// from a trace (and the sidebar link) returns to the same filtered page.
export const traceListState = $state({
  /** `#/traces` or `#/traces?…` */
  href: '#/traces',
});

// Trace list search and page, kept at module level so that returning from a
// trace to the list shows the same page and search.
export const traceListState = $state({
  /** What is in the search box right now. */
  searchInput: '',
  /** The search last sent to the backend (trimmed, after the debounce). */
  search: '',
  offset: 0,
});

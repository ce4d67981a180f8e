// The app's views and their shortcuts: Ctrl+1 Cockpit, Ctrl+2 Board, Ctrl+3 Timeline, Ctrl+4 Review,
// Ctrl+5 Context.
export type View = 'cockpit' | 'board' | 'timeline' | 'review' | 'context';

export const VIEWS: ReadonlyArray<{ id: View; label: string }> = [
  { id: 'cockpit', label: 'Cockpit' },
  { id: 'board', label: 'Board' },
  { id: 'timeline', label: 'Timeline' },
  { id: 'review', label: 'Review' },
  { id: 'context', label: 'Context' },
];

export function viewForKey(e: { key: string; code?: string; ctrlKey: boolean; altKey: boolean; shiftKey: boolean; metaKey: boolean }): View | null {
  if (!e.ctrlKey || e.altKey || e.shiftKey || e.metaKey) return null;
  const digit = e.code?.startsWith('Digit') ? e.code.slice(5) : e.key;
  const i = Number(digit) - 1;
  return i >= 0 && i < VIEWS.length && /^[1-9]$/.test(digit) ? VIEWS[i].id : null;
}

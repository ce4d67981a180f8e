// The cockpit's keyboard shortcuts, in one place so the pane, the help text and the tests agree.

export type PaneAction = 'copy' | 'paste' | 'search' | 'maximise' | null;

export interface KeyLike {
  type: string;
  key: string;
  ctrlKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
  metaKey: boolean;
}

/** Which cockpit action a key event asks for, or null to let the terminal have it. */
export function paneAction(e: KeyLike): PaneAction {
  if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey || e.altKey || e.metaKey) return null;
  switch (e.key.toLowerCase()) {
    case 'c':
      return 'copy';
    case 'v':
      return 'paste';
    case 'f':
      return 'search';
    case 'enter':
      return 'maximise';
    default:
      return null;
  }
}

/** Ctrl+Shift+N: another window on the same runs (anywhere in the app). */
export function isNewWindowKey(e: KeyLike): boolean {
  return e.type === 'keydown' && e.ctrlKey && e.shiftKey && !e.altKey && !e.metaKey && e.key.toLowerCase() === 'n';
}

export const SHORTCUTS: ReadonlyArray<[string, string]> = [
  ['Ctrl+Shift+C', 'Copy'],
  ['Ctrl+Shift+V', 'Paste'],
  ['Ctrl+Shift+F', 'Search'],
  ['Ctrl+Shift+Enter', 'Maximise / restore'],
];

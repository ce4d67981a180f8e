import { describe, expect, it } from 'vitest';
import { paneAction, type KeyLike } from './keys';

const key = (k: string, mods: Partial<KeyLike> = {}): KeyLike => ({
  type: 'keydown',
  key: k,
  ctrlKey: true,
  shiftKey: true,
  altKey: false,
  metaKey: false,
  ...mods,
});

describe('paneAction', () => {
  it.each([
    [key('C'), 'copy'],
    [key('c'), 'copy'],
    [key('V'), 'paste'],
    [key('F'), 'search'],
    [key('Enter'), 'maximise'],
    [key('c', { shiftKey: false }), null], // plain Ctrl+C goes to the shell
    [key('v', { shiftKey: false }), null],
    [key('C', { type: 'keyup' }), null],
    [key('C', { altKey: true }), null],
    [key('x'), null],
  ])('%j -> %s', (e, action) => {
    expect(paneAction(e)).toBe(action);
  });
});

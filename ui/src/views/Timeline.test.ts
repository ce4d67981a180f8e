import { render, screen, fireEvent } from '@testing-library/svelte';
import { beforeEach, describe, expect, it } from 'vitest';
import Timeline from './Timeline.svelte';
import { setBackend } from '../lib/backend';
import { MockBackend, twoAgents } from '../test/mockBackend';
import type { Schedule } from './types';
// `leap simulate --json` over the seed's workload (engine/tests/scheduler/snapshots/seed_leapfrog.json).
import seed from '../test/seedSchedule.json';

let mock: MockBackend;
const schedule = seed as unknown as Schedule;

beforeEach(() => {
  mock = new MockBackend(twoAgents());
  setBackend(mock);
});

describe('timeline', () => {
  it('draws one lane per agent plus verify, a bar per phase run labelled with its batch', async () => {
    mock.timelineValue = { schedule, now: null, source: 'forecast', finished: false, forecast_minutes: 92 };
    render(Timeline);
    await screen.findByTestId('lane-claude');
    const lanes = [...document.querySelectorAll('[data-testid^="lane-"]')].map((e) => e.getAttribute('data-testid'));
    expect(lanes).toEqual(['lane-claude', 'lane-codex', 'lane-verify']);
    const bars = (lane: string) =>
      [...screen.getByTestId(`lane-${lane}`).querySelectorAll('[data-testid="bar"]')].map((b) => b.textContent!.trim());
    expect(bars('codex')).toEqual(['B1', 'B2', 'B3']);
    expect(bars('verify')).toEqual(['B1']);
    expect(bars('claude')).toEqual(['discovery', 'plan', 'B1', 'B2', 'B3', 'B1', 'B2', 'B3']);
    // Bars are placed on the time axis: build B1 runs 25..45 of 92 minutes.
    const build1 = screen.getByTestId('lane-codex').querySelector('[data-testid="bar"]') as HTMLElement;
    expect(build1.className).toContain('phase-build');
    expect(parseFloat(build1.style.left)).toBeCloseTo((100 * 25) / 92, 3);
    expect(parseFloat(build1.style.width)).toBeCloseTo((100 * 20) / 92, 3);
    expect(screen.queryByTestId('now-line')).toBeNull();
  });

  it("draws plan(m) as the milestone's plan, overlapping the builds of the milestone before", async () => {
    const rows = [
      { agent: 'claude', phase: 'design', batch: 1, start: 0, end: 10 },
      { agent: 'codex', phase: 'build', batch: 1, start: 10, end: 40 },
      { agent: 'claude', phase: 'plan', batch: null, milestone: 2, start: 12, end: 30 },
      { agent: 'claude', phase: 'design', batch: 2, start: 30, end: 40 },
    ];
    const s = { ...schedule, schedule: rows } as unknown as Schedule;
    render(Timeline, { data: { schedule: s, now: null, source: 'live', finished: true, forecast_minutes: null } });
    const plan = [...screen.getByTestId('lane-claude').querySelectorAll('[data-testid="bar"]')].find(
      (b) => (b as HTMLElement).dataset.phase === 'plan',
    ) as HTMLElement;
    expect(plan.textContent!.trim()).toBe('M2');
    expect(plan.dataset.milestone).toBe('2');
    expect(plan.getAttribute('aria-label')).toContain('plan of milestone 2');
  });

  it('shows elapsed, sequential equivalent, savings, forecast finish and utilisation', async () => {
    render(Timeline, { data: { schedule, now: 30, source: 'live', finished: false, forecast_minutes: 92 } });
    const cases: [string, string][] = [
      ['stat-elapsed', '30 min'],
      ['stat-sequential', '2 h 2 min'],
      ['stat-savings', '25%'],
      ['stat-finish', '1 h 32 min'],
      ['util-codex', `${Math.round((100 * 60) / 92)}%`],
    ];
    for (const [id, want] of cases) expect((await screen.findByTestId(id)).textContent, id).toBe(want);
    const now = screen.getAllByTestId('now-line')[0] as HTMLElement;
    expect(parseFloat(now.style.left)).toBeCloseTo((100 * 30) / 92, 3);
  });

  it('says short runs in seconds and minutes, the way a demo run is measured', async () => {
    const short = { ...schedule, sequential_minutes: 3.5, parallel_minutes: 1.5 };
    render(Timeline, { data: { schedule: short, now: 0.7, source: 'live', finished: false, forecast_minutes: 2 } });
    const cases: [string, string][] = [
      ['stat-elapsed', '42 s'],
      ['stat-sequential', '3 min 30 s'],
      ['stat-finish', '2 min'],
    ];
    for (const [id, want] of cases) expect((await screen.findByTestId(id)).textContent, id).toBe(want);
  });

  it('says when a finished run finished, and a dash while something holds the pipeline', async () => {
    const { unmount } = render(Timeline, { data: { schedule, now: 92, source: 'live', finished: true, forecast_minutes: 92 } });
    const finish = await screen.findByTestId('stat-finish');
    expect([finish.previousElementSibling!.textContent, finish.textContent]).toEqual(['Finished in', '1 h 32 min']);
    unmount();
    render(Timeline, { data: { schedule, now: 40, source: 'live', finished: false, forecast_minutes: null } });
    const held = await screen.findByTestId('stat-finish');
    expect([held.previousElementSibling!.textContent, held.textContent]).toEqual(['Forecast finish', '—']);
    expect(held.title).toContain('holds the pipeline');
  });

  it('stretches the axis to hold the now-line past the last bar', async () => {
    render(Timeline, { data: { schedule, now: 184, source: 'live', finished: false, forecast_minutes: 200 } });
    const now = (await screen.findAllByTestId('now-line'))[0] as HTMLElement;
    expect(parseFloat(now.style.left)).toBeCloseTo((100 * 184) / 200, 3);
  });

  it('shows a bar’s details on hover', async () => {
    render(Timeline, { data: { schedule, now: null, source: 'forecast', finished: false, forecast_minutes: 92 } });
    const bar = (await screen.findByTestId('lane-codex')).querySelector('[data-testid="bar"]')!;
    await fireEvent.pointerEnter(bar, { clientX: 5, clientY: 5 });
    const tip = screen.getByTestId('bar-tip').textContent!;
    expect(tip).toContain('build B1');
    expect(tip).toContain('codex');
    expect(tip).toContain('25 min → 45 min');
  });

  it('says what to do when there is nothing to schedule', async () => {
    render(Timeline);
    expect((await screen.findByTestId('timeline-empty')).textContent).toContain('at least one batch');
  });
});

// An in-memory Backend for component tests: records every call and lets a test push pane output,
// pane exits and log lines as the shell would.
import type { Backend } from '../lib/backend';
import type { Cockpit } from '../lib/bindings/Cockpit';
import type { LogLine } from '../lib/bindings/LogLine';
import type { PaneExit } from '../lib/bindings/PaneExit';
import type { PaneSize } from '../lib/bindings/PaneSize';
import type { UiMark } from '../lib/bindings/UiMark';

export type Call =
  | { cmd: 'attach'; paneId: string; size: PaneSize }
  | { cmd: 'write'; paneId: string; data: string; binary: boolean }
  | { cmd: 'resize'; paneId: string; size: PaneSize }
  | { cmd: 'ack'; paneId: string; bytes: number }
  | { cmd: 'clipboardWrite'; text: string }
  | { cmd: 'openLink'; url: string }
  | { cmd: 'mark'; mark: UiMark };

export class MockBackend implements Backend {
  calls: Call[] = [];
  outputs = new Map<string, (bytes: Uint8Array) => void>();
  exitHandlers: Array<(e: PaneExit) => void> = [];
  logHandlers: Array<(l: LogLine) => void> = [];
  clipboard = '';

  constructor(public cockpitValue: Cockpit) {}

  async cockpit() {
    return this.cockpitValue;
  }
  async paneAttach(paneId: string, size: PaneSize, onOutput: (bytes: Uint8Array) => void) {
    if (!this.cockpitValue.panes.some((p) => p.id === paneId)) throw new Error(`no pane \`${paneId}\``);
    this.calls.push({ cmd: 'attach', paneId, size });
    this.outputs.set(paneId, onOutput);
  }
  async paneWrite(paneId: string, data: string, binary = false) {
    this.calls.push({ cmd: 'write', paneId, data, binary });
  }
  async paneResize(paneId: string, size: PaneSize) {
    this.calls.push({ cmd: 'resize', paneId, size });
  }
  async paneAck(paneId: string, bytes: number) {
    this.calls.push({ cmd: 'ack', paneId, bytes });
  }
  async onPaneExit(handler: (e: PaneExit) => void) {
    this.exitHandlers.push(handler);
    return () => {
      this.exitHandlers = this.exitHandlers.filter((h) => h !== handler);
    };
  }
  async logsSubscribe(onLine: (l: LogLine) => void) {
    this.logHandlers.push(onLine);
  }
  async openLink(url: string) {
    this.calls.push({ cmd: 'openLink', url });
  }
  async clipboardRead() {
    return this.clipboard;
  }
  async clipboardWrite(text: string) {
    this.clipboard = text;
    this.calls.push({ cmd: 'clipboardWrite', text });
  }
  async uiMark(mark: UiMark) {
    this.calls.push({ cmd: 'mark', mark });
  }

  // Driving the UI as the shell would:
  output(paneId: string, text: string) {
    const out = this.outputs.get(paneId);
    if (!out) throw new Error(`pane ${paneId} not attached`);
    out(new TextEncoder().encode(text));
  }
  exit(paneId: string, code: number | null) {
    for (const h of this.exitHandlers) h({ paneId, code });
  }
  log(seq: number, message: string, level: LogLine['level'] = 'info') {
    for (const h of this.logHandlers) h({ seq, timeMs: 0, level, target: 'leapfrog', message });
  }
  callsOf<K extends Call['cmd']>(cmd: K): Extract<Call, { cmd: K }>[] {
    return this.calls.filter((c) => c.cmd === cmd) as Extract<Call, { cmd: K }>[];
  }
}

export function twoAgents(): Cockpit {
  return {
    workdir: '/work/project',
    bench: false,
    gpu: false,
    panes: [
      { id: 'designer', title: 'Designer · claude', role: 'design', agentCommand: 'claude', program: 'bash' },
      { id: 'builder', title: 'Builder · codex', role: 'build', agentCommand: 'codex', program: 'bash' },
    ],
  };
}

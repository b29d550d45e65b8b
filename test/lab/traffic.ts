// Traffic tools for the lab scenarios: packet captures (tcpdump in a namespace the lab made) and ping parsing.
import { spawn } from 'node:child_process';
import { expect } from 'vitest';
import type { ExecResult } from '../../src/controller/cloud-service.js';
import type { LabCloud } from '../../src/lab/cloud.js';

export interface Capture {
  /** Stops tcpdump (after a short grace for packets in flight) and returns its lines. */
  stop(): Promise<string[]>;
}

/** Starts `tcpdump -l -nn -e` in a namespace; resolves once it is listening. Bounded: killed after `maxMs`. */
export async function capture(netns: string, iface: string, filter: string, extra: readonly string[] = [], maxMs = 60_000): Promise<Capture> {
  const child = spawn('ip', ['netns', 'exec', netns, 'tcpdump', '-l', '-nn', '-e', '-i', iface, ...extra, filter], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const parts = out.split('\n');
    out = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), maxMs);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump in ${netns} did not start`)), 10_000);
    child.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump in ${netns} exited ${code}`));
    });
  });
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 300));
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      child.kill('SIGKILL');
      clearTimeout(killer);
      if (out) lines.push(out);
      return lines;
    },
  };
}

export interface PingResult {
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
  readonly avgMs?: number;
  /** With `-D`: unix time (s) of each reply, in order. */
  readonly replyTimes: number[];
  readonly text: string;
}

export function parsePing(text: string): PingResult {
  const m = /(\d+) packets transmitted, (\d+) received/.exec(text);
  const sent = Number(m?.[1] ?? 0);
  const received = Number(m?.[2] ?? 0);
  const avg = /= [\d.]+\/([\d.]+)\//.exec(text);
  const replyTimes = [...text.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((x) => Number(x[1]));
  return { sent, received, lost: sent - received, ...(avg && { avgMs: Number(avg[1]) }), replyTimes, text };
}

/** Runs a command in a VM through the public API (POST /api/v1/vms/:name/exec); the request itself must succeed. */
export async function vmExec(cloud: LabCloud, vm: string, command: string[]): Promise<ExecResult> {
  const res = await cloud.api<ExecResult>('POST', `/api/v1/vms/${vm}/exec`, { command });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return res.json;
}

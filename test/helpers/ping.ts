// Pings in lab tests, one way: the command line (iputils' or busybox's ping) and the reading of what it printed.

export interface PingResult {
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
  readonly avgMs?: number;
  /** With `timestamps` (-D): unix time (s) of each reply, in order. */
  readonly replyTimes: number[];
  readonly text: string;
}

export interface PingOptions {
  /** Echo requests (default 10). */
  readonly count?: number;
  /** Seconds between them, as ping takes it (default '0.2'). */
  readonly interval?: string;
  /** Seconds to wait for a reply (default 3). */
  readonly waitS?: number;
  /** -n (iputils): addresses as numbers, no reverse lookups. */
  readonly numeric?: boolean;
  /** -D (iputils): each reply line starts with its unix time (PingResult.replyTimes). */
  readonly timestamps?: boolean;
}

/** The argv of a bounded ping to `to`: at most count * interval + waitS seconds. */
export function pingArgv(to: string, opts: PingOptions = {}): string[] {
  const { count = 10, interval = '0.2', waitS = 3 } = opts;
  return ['ping', ...(opts.numeric ? ['-n'] : []), ...(opts.timestamps ? ['-D'] : []), '-c', String(count), '-i', interval, '-W', String(waitS), to];
}

/** Reads iputils' summary ("N received") and busybox's ("N packets received"). */
export function parsePing(text: string): PingResult {
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(text);
  const sent = Number(m?.[1] ?? 0);
  const received = Number(m?.[2] ?? 0);
  const avg = /= [\d.]+\/([\d.]+)\//.exec(text);
  const replyTimes = [...text.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((x) => Number(x[1]));
  return { sent, received, lost: sent - received, ...(avg && { avgMs: Number(avg[1]) }), replyTimes, text };
}

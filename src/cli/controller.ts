import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { pino } from 'pino';
import { parseFlow } from '../openflow/index.js';
import { ConfigError, loadConfig } from '../daemon/config.js';
import { runServer } from '../daemon/server.js';
import { Controller, formatDpid } from '../runtime/index.js';
import type { DesiredFlow, TlsFiles } from '../runtime/index.js';

interface ControllerFlags {
  listen: string[];
  connect: string[];
  flows?: string;
  config?: string;
  logLevel?: string;
  tlsKey?: string;
  tlsCert?: string;
  tlsCa?: string;
  tlsAnyDpid?: boolean;
}

/**
 * `minicloud controller`: the OpenFlow controller process. With `--flows FILE` every datapath that connects is kept
 * equal to the flows in FILE (one ovs-ofctl flow per line), restored on every reconnect and never touched when
 * already right.
 */
export function registerControllerCommands(program: Command): void {
  program
    .command('controller')
    .description('run the OpenFlow controller (listens for switches, keeps their flow tables in sync)')
    .option('-l, --listen <endpoint>', 'tcp:[HOST:]PORT, unix:PATH or ssl:[HOST:]PORT (repeatable)', collect, [])
    .option('-c, --connect <endpoint>', 'actively connect to a switch: tcp:HOST:PORT, ssl:HOST:PORT or unix:PATH (repeatable)', collect, [])
    .option('--config <file>', 'run the whole controller (store, API, metrics, VMs) from this YAML or JSON file (docs/configuration.md)')
    .option('--flows <file>', 'static mode: desired flows for every datapath, one ovs-ofctl flow per line')
    .option('--tls-key <file>', 'static mode, ssl: endpoints: our private key (PEM)')
    .option('--tls-cert <file>', 'static mode, ssl: endpoints: our certificate (PEM)')
    .option('--tls-ca <file>', "static mode, ssl: endpoints: the CA switches' certificates must chain to (PEM)")
    .option('--tls-any-dpid', "static mode: accept any datapath id from a certificate of the CA (default: the certificate must name the datapath id, docs/operations.md)")
    .option('--log-level <level>', 'pino log level (default info)')
    .action(async (flags: ControllerFlags) => {
      if (flags.config !== undefined) {
        if (flags.flows !== undefined) throw new Error('--flows (static mode) and --config are exclusive');
        if (staticTls(flags) || flags.tlsAnyDpid) throw new Error('--tls-* are for static mode; with --config, set openflow.tls');
        let config;
        try {
          const env: NodeJS.ProcessEnv = { ...process.env };
          if (flags.logLevel !== undefined) env['MINICLOUD_LOG_LEVEL'] = flags.logLevel;
          if (flags.listen.length) env['MINICLOUD_OPENFLOW_LISTEN'] = flags.listen.join(',');
          if (flags.connect.length) env['MINICLOUD_OPENFLOW_CONNECT'] = flags.connect.join(',');
          config = loadConfig(flags.config, env);
        } catch (e) {
          if (e instanceof ConfigError) {
            process.stderr.write(`minicloud controller: ${e.message}\n`);
            process.exitCode = 2;
            return;
          }
          throw e;
        }
        await runServer(config);
        return;
      }
      const logger = pino({ level: flags.logLevel ?? 'info' });
      const flows = flags.flows ? readFlowFile(flags.flows) : [];
      const listen = flags.listen.length || flags.connect.length ? flags.listen : ['tcp:6653'];
      const tls = staticTls(flags);
      // No nodes here: a certificate must name the datapath id itself (peer-identity.ts), unless told otherwise.
      const identity = tls && !flags.tlsAnyDpid ? { identity: {} } : {};
      const controller = new Controller({ listen, connect: flags.connect, desiredState: () => ({ flows }), logger, ...(tls && { tls }), ...identity });
      controller.on('synced', (dp, stats) => logger.info({ dpid: formatDpid(dp.dpid), ...stats }, 'datapath in sync'));
      await controller.start();
      logger.info({ listen: controller.addresses, flows: flows.length }, 'controller running');
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await controller.stop();
    });
}

/** The three --tls-* files, all or none. */
export function staticTls(flags: Pick<ControllerFlags, 'tlsKey' | 'tlsCert' | 'tlsCa'>): TlsFiles | undefined {
  const { tlsKey: key, tlsCert: cert, tlsCa: ca } = flags;
  if (key === undefined && cert === undefined && ca === undefined) return undefined;
  if (key === undefined || cert === undefined || ca === undefined) throw new Error('--tls-key, --tls-cert and --tls-ca go together');
  return { key, cert, ca };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** One flow per line; blank lines and `#` comments are skipped; errors name the line. */
export function readFlowFile(path: string): DesiredFlow[] {
  const flows: DesiredFlow[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const text = line.trim();
      if (!text || text.startsWith('#')) return;
      try {
        flows.push(parseFlow(text));
      } catch (e) {
        throw new Error(`${path}:${i + 1}: ${(e as Error).message}`);
      }
    });
  return flows;
}

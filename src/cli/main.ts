#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { CodecError } from '../openflow/index.js';
import { describeCodecError, registerOfpCommands } from './ofp.js';
import { registerControllerCommands } from './controller.js';
import { registerApiCommands } from './api-commands.js';
import { registerDemoCommand } from './demo.js';
import { registerStoreCommands } from './store.js';

const program = new Command('minicloud')
  .description('miniCloud: VMs on VXLAN subnets, switched and routed by Open vSwitch, driven by OpenFlow 1.3')
  .option('--api <url>', 'API base URL', process.env.MINICLOUD_API ?? 'http://127.0.0.1:8080')
  .option('--token <token>', 'API bearer token', process.env.MINICLOUD_TOKEN)
  .option('--json', 'machine-readable output')
  .option('--project <name>', 'the project to act in (subnets, VMs, security groups); default: every project to read, default to create', process.env.MINICLOUD_PROJECT)
  .exitOverride();

registerOfpCommands(program);
registerControllerCommands(program);
registerApiCommands(program);
registerDemoCommand(program);
registerStoreCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  if (e instanceof CodecError) {
    console.error(`minicloud: ${describeCodecError(e)}`);
    process.exit(65); // EX_DATAERR
  }
  console.error(`minicloud: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}

// src/hosts: running commands on nodes (locally, in a namespace, over SSH), preparing nodes per role, and VM
// backends (LXD, netns). Imports nothing of ours but src/topology's model and name rules; see docs/hosts.md.
export type { Logger } from './types.js';
export { silentLogger } from './types.js';
export { quoteArg, quoteArgv } from './quote.js';
export * from './validate.js';
export type { Executor, ExecOptions, ExecResult } from './executor.js';
export { DEFAULT_MAX_OUTPUT_BYTES, ExecError, ExecOutputLimitError, ExecTimeoutError, withEnv } from './executor.js';
export { LocalExecutor, type LocalExecutorOptions } from './local.js';
export { NetnsExecutor, type NetnsExecutorOptions } from './netns.js';
export { SshExecutor, SshConnectError, type SshExecutorOptions } from './ssh/executor.js';
export { KnownHosts, HostKeyMismatchError, fingerprint, hostId } from './ssh/known-hosts.js';
export { readNodeFile, writeNodeFile, removeNodeFiles } from './files.js';
export { bootstrapNode, removeNode, syncDhcpReservations, syncFloatingIps, type BootstrapReport } from './bootstrap/index.js';
export type { NodeBootstrapSpec, GatewaySpec, FloatingIpsSpec, DhcpSpec, DhcpReservation, RouteSpec, SslSpec, UnderlayBridgeSpec } from './bootstrap/spec.js';
export { validateNodeSpec } from './bootstrap/spec.js';
export { tunnelPortsFor } from './bootstrap/ovs.js';
export { NAT_CHAIN } from './bootstrap/nat.js';
export { ROUTE_PROTO } from './bootstrap/ip.js';
export type { VmDriver, VmSpec, VmInfo, VmState, VmNetwork, Flavor } from './vm/driver.js';
export { MacMismatchError, VmExistsError, VmNotFoundError, portNameFor, validateStoredVmSpec, validateVmSpec } from './vm/driver.js';
export { NetnsVmDriver, type NetnsVmDriverOptions } from './vm/netns.js';
export { ImageNotFoundError, LxdVmDriver, type LxdVmDriverOptions } from './vm/lxd.js';
export { ensureBusyboxImage, imageExists, DEFAULT_IMAGE } from './lxd/image.js';
export { LabLxd, type LabLxdOptions } from './lxd/lab-daemon.js';

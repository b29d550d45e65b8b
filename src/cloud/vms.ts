// VMs: allocated in the store, their flows applied, then built by the backend; a backend failure cleans up the node
// before the addresses are freed. One backend operation per VM at a time (`busy`), each under a deadline.
import { parseCidr, type Cidr } from '../topology/model.js';
import type { VmRecord, VmState } from '../topology/records.js';
import { projectUsesTransit } from '../topology/north-south.js';
import { modelName, projectOf } from '../topology/projects.js';
import { instanceOf } from '../topology/records.js';
import { allocateVm, assertConsistent, nextFreeTransitIp } from './allocation.js';
import { DEFAULT_BACKEND_TIMEOUTS, type BackendTimeouts, type VmExecResult, type Log, type OpContext, type VmSpec } from './collaborators.js';
import type { ServiceContext } from './context.js';
import { DeadlineExceeded, withDeadline } from './deadline.js';
import { BackendFailed, Conflict, Invalid, Unsupported, errorText } from './errors.js';
import { mustGetNode, mustGetSubnet, mustGetVm, scopedName } from './lookup.js';
import type { ScopedName } from '../topology/store.js';
import { NOT_A_CHANGE, type CreateVmInput, type Mutation } from './views.js';

export class Vms {
  /** VMs with a backend operation in flight (by modelName); a second operation on one is a Conflict. */
  private readonly busy = new Map<string, string>();
  private readonly timeouts: BackendTimeouts;

  constructor(
    private readonly c: ServiceContext,
    private readonly transitRange: Cidr,
  ) {
    this.timeouts = { ...DEFAULT_BACKEND_TIMEOUTS, ...c.deps.backendTimeouts };
  }

  /** A subnet filter names a subnet of the request's project (the default project's when it names none). */
  list(filter: { readonly node?: string; readonly subnet?: string }, ctx: OpContext = {}): VmRecord[] {
    const { subnet, node } = filter;
    return this.c.store.read((r) =>
      r.listVms({ ...(node !== undefined && { node }), ...(subnet !== undefined && { subnet: scopedName(subnet, ctx) }), ...(ctx.project !== undefined && { project: ctx.project }) }),
    );
  }

  /** `name` in the request's project (lookup.ts scopedName). */
  get(name: string, ctx: OpContext = {}): VmRecord {
    return this.c.store.read((r) => mustGetVm(r, scopedName(name, ctx)));
  }

  /**
   * After a restart: a VM left 'creating' or 'deleting' by a crash is marked 'error' (the backend may or may not
   * have it); deleting it again cleans up. Returns the names it marked.
   */
  async recoverInterrupted(): Promise<string[]> {
    return await this.c.store.write((w) => {
      const stuck = w.listVms().filter((v) => v.state === 'creating' || v.state === 'deleting');
      for (const v of stuck) w.setVmState(v, 'error', `interrupted while ${v.state} (controller restarted)`);
      return stuck.map((v) => modelName(v));
    });
  }

  /**
   * After an upgrade: a VM of a project other than the default one that has no transit address yet (made before
   * routing domains) gets one, as a new VM would. Returns the names it gave one to.
   */
  async assignTransitAddresses(): Promise<string[]> {
    const missing = this.c.store.read((r) => r.listVms().some((v) => v.transitIp === undefined && projectUsesTransit(projectOf(v))));
    if (!missing) return [];
    return await this.c.store.write((w) => {
      const given: string[] = [];
      for (const v of w.listVms()) {
        if (v.transitIp !== undefined || !projectUsesTransit(projectOf(v))) continue;
        const ip = nextFreeTransitIp(this.transitRange, w.listVms());
        if (ip === undefined) break;
        w.setVmTransitIp(v, ip);
        given.push(modelName(v));
      }
      assertConsistent(w);
      return given;
    });
  }

  async create(input: CreateVmInput, ctx: OpContext): Promise<Mutation<VmRecord>> {
    const { store, applies, deps } = this.c;
    const log = this.c.log(ctx);
    const vm = await store.write((w) => {
      const record = allocateVm(w, input, () => `mcvm${w.nextSequence('vm-port')}`, this.c.now, ctx, this.transitRange);
      w.insertVm(record);
      assertConsistent(w);
      return record;
    });
    log.info({ vm: vm.name, project: projectOf(vm), instance: instanceOf(vm), node: vm.node, ip: vm.ip, mac: vm.mac }, 'VM allocated');
    this.busy.set(modelName(vm), 'create');
    const busy = new BusyRelease(this.busy, modelName(vm));
    try {
      const network = await applies.request(this.c.vmNodes());
      const spec = this.specOf(vm);
      try {
        await withDeadline(deps.backend.create(spec), this.timeouts.createMs, `creating VM '${vm.name}' on node '${vm.node}'`);
      } catch (e) {
        if (e instanceof DeadlineExceeded) {
          // The create goes on on the node: nothing may be undone under it. The VM stays busy until it ends.
          busy.after(e.running);
          log.error({ vm: vm.name, err: e }, 'VM backend create timed out; the VM is kept (error) with its addresses');
          await store.write((w) => w.setVmState(vm, 'error', `create failed: ${e.message}; cleanup pending: delete the VM (once the create has ended) to clean up the node`));
          throw new BackendFailed(`${e.message}: VM '${vm.name}' is kept in state error with its IP and MAC reserved; delete it once the create has ended to clean up the node`);
        }
        return await this.rollbackCreate(vm, spec, e, busy, log);
      }
      const running = await store.write((w) => {
        w.setVmState(vm, 'running');
        return mustGetVm(w, vm);
      });
      log.info({ vm: vm.name }, 'VM running');
      return { value: running, network };
    } finally {
      busy.release();
    }
  }

  /**
   * After a failed create: the node may hold half a VM (the backend's own rollback may have failed too), with our MAC
   * and IP. It is cleaned up here (delete is idempotent); only when that works are the record and its addresses freed.
   * Else the VM stays in 'error', saying the cleanup is pending, and `delete` retries it. Always throws.
   */
  private async rollbackCreate(vm: VmRecord, spec: VmSpec, cause: unknown, busy: BusyRelease, log: Log): Promise<never> {
    const { store, applies, deps } = this.c;
    const why = errorText(cause);
    // A Conflict: the node already has a VM of that name which is not this one; it is not ours to delete.
    const cleanNode = !(cause instanceof Conflict);
    log.error({ vm: vm.name, err: cause }, cleanNode ? 'VM backend create failed; cleaning up the node' : 'VM backend create refused; releasing the allocation');
    if (cleanNode) {
      this.busy.set(modelName(vm), 'cleanup after a failed create');
      await store.write((w) => w.setVmState(vm, 'deleting'));
      await applies.request(this.c.vmNodes());
      try {
        await withDeadline(deps.backend.delete(spec), this.timeouts.deleteMs, `cleaning up VM '${vm.name}' on node '${vm.node}'`);
      } catch (e) {
        if (e instanceof DeadlineExceeded) busy.after(e.running);
        log.error({ vm: vm.name, err: e }, 'cleaning up after a failed VM create failed; the VM is kept (error) with its addresses');
        await store.write((w) => w.setVmState(vm, 'error', `create failed: ${why}; cleanup failed: ${errorText(e)}; cleanup pending: delete the VM to retry it`));
        await applies.request(this.c.vmNodes());
        throw new BackendFailed(
          `creating VM '${vm.name}' on node '${vm.node}' failed: ${why}; cleaning up the node failed too (${errorText(e)}): ` +
            `the VM is kept in state error with its IP and MAC reserved; delete it to retry the cleanup`,
        );
      }
    }
    // Only now, with nothing of it left on the node, are its IP, MAC and port free for another.
    await store.write((w) => w.deleteVm(vm));
    if (!cleanNode) await applies.request(this.c.vmNodes()); // else its flows went with 'deleting'
    if (cause instanceof Invalid || cause instanceof Conflict) throw cause;
    throw new BackendFailed(`creating VM '${vm.name}' on node '${vm.node}' failed: ${why}`);
  }

  async delete(name: string, ctx: OpContext): Promise<Mutation<{ name: string }>> {
    const { store, applies, deps } = this.c;
    const log = this.c.log(ctx);
    const vm = this.claim(name, ctx, 'delete', ['running', 'stopped', 'error', 'deleting']);
    const busy = new BusyRelease(this.busy, modelName(vm));
    try {
      const detached = await store.write((w) => {
        w.setVmState(vm, 'deleting');
        // Its floating IP is detached (and stays the project's): the gateway's NAT for it goes with the flows.
        return w.listFloatingIps({ vm }).map((f) => (w.setFloatingIpVm(f.address, undefined), f.address));
      });
      if (detached.length > 0) log.info({ vm: name, floatingIps: detached }, 'floating IP detached from a VM being deleted');
      await applies.request(this.c.vmNodes()); // its flows go first: nothing reaches a half-deleted VM
      try {
        await withDeadline(deps.backend.delete(this.specOf(vm)), this.timeouts.deleteMs, `deleting VM '${name}' on node '${vm.node}'`);
      } catch (e) {
        if (e instanceof DeadlineExceeded) busy.after(e.running);
        log.error({ vm: name, err: e }, 'VM backend delete failed; the VM is kept (error) with its addresses');
        await store.write((w) => w.setVmState(vm, 'error', `delete failed: ${errorText(e)}; cleanup pending: delete the VM to retry it`));
        await applies.request(this.c.vmNodes());
        throw new BackendFailed(
          `deleting VM '${name}' on node '${vm.node}' failed: ${errorText(e)}: the VM is kept in state error with its IP and MAC reserved; delete it again to retry`,
        );
      }
      // Only now, with the VM gone, are its IP, MAC and port free for another.
      await store.write((w) => w.deleteVm(vm));
      log.info({ vm: name, project: projectOf(vm) }, 'VM deleted');
      return { value: { name }, network: await applies.request(this.c.vmNodes()) };
    } finally {
      busy.release();
    }
  }

  start(name: string, ctx: OpContext): Promise<Mutation<VmRecord>> {
    return this.transition(name, 'start', ['stopped', 'error'], 'running', ctx);
  }

  stop(name: string, ctx: OpContext): Promise<Mutation<VmRecord>> {
    return this.transition(name, 'stop', ['running', 'error'], 'stopped', ctx);
  }

  async exec(name: string, argv: readonly string[], ctx: OpContext = {}): Promise<VmExecResult> {
    const backend = this.c.deps.backend;
    if (!backend.exec) throw new Unsupported('this VM backend cannot run commands in a VM');
    const vm = this.get(name, ctx);
    if (vm.state !== 'running') throw new Conflict(undefined, `VM '${name}' is ${vm.state}, not running`);
    if (argv.length === 0) throw new Invalid('command', 'empty command');
    try {
      return await backend.exec(this.specOf(vm), argv);
    } catch (e) {
      if (e instanceof Invalid) throw e; // the command's fault (e.g. its output over the limit), not the backend's
      throw new BackendFailed(`running a command in VM '${name}' failed: ${errorText(e)}`);
    }
  }

  /** Marks a VM busy with `op`, or says why it can't be. */
  private claim(name: string, ctx: OpContext, op: string, from: readonly VmState[]): VmRecord {
    const vm = this.get(name, ctx);
    const inFlight = this.busy.get(modelName(vm));
    if (inFlight !== undefined) throw new Conflict(undefined, `VM '${name}' is busy (${inFlight} in progress)`);
    if (!from.includes(vm.state)) throw new Conflict(undefined, `VM '${name}' is ${vm.state}: cannot ${op} it`);
    this.busy.set(modelName(vm), op);
    return vm;
  }

  private async transition(name: string, op: 'start' | 'stop', from: readonly VmState[], to: VmState, ctx: OpContext): Promise<Mutation<VmRecord>> {
    const { store, deps } = this.c;
    const current = this.get(name, ctx);
    if (current.state === to && !this.busy.has(modelName(current))) return { value: current, network: NOT_A_CHANGE };
    const vm = this.claim(name, ctx, op, from);
    const ref: ScopedName = vm;
    try {
      try {
        await deps.backend[op](this.specOf(vm));
      } catch (e) {
        await store.write((w) => w.setVmState(ref, 'error', `${op} failed: ${errorText(e)}`));
        throw new BackendFailed(`${op === 'start' ? 'starting' : 'stopping'} VM '${name}' failed: ${errorText(e)}`);
      }
      const updated = await store.write((w) => {
        w.setVmState(ref, to);
        return mustGetVm(w, ref);
      });
      this.c.log(ctx).info({ vm: name, project: projectOf(vm), state: to }, `VM ${op === 'start' ? 'started' : 'stopped'}`);
      return { value: updated, network: NOT_A_CHANGE };
    } finally {
      this.busy.delete(modelName(vm));
    }
  }

  private specOf(vm: VmRecord): VmSpec {
    return this.c.store.read((r) => {
      const node = mustGetNode(r, vm.node);
      const subnet = mustGetSubnet(r, { project: projectOf(vm), name: vm.subnet });
      return {
        name: instanceOf(vm),
        hostname: vm.name,
        node,
        image: vm.image,
        cpus: vm.cpus,
        memoryMiB: vm.memoryMiB,
        mac: vm.mac,
        ip: vm.ip,
        prefixLength: parseCidr(subnet.cidr).prefix,
        gatewayIp: subnet.gatewayIp,
        port: vm.port,
      };
    });
  }
}

/**
 * Clears a VM's busy mark when its operation returns, or, when a backend step it stopped waiting for (a deadline)
 * still runs on the node, once that step ends: nothing else may touch the VM under it.
 */
class BusyRelease {
  private running: Promise<void> | undefined;

  constructor(
    private readonly busy: Map<string, string>,
    private readonly name: string,
  ) {}

  after(running: Promise<void>): void {
    this.running = running;
  }

  release(): void {
    const clear = (): void => void this.busy.delete(this.name);
    if (this.running) void this.running.then(clear);
    else clear();
  }
}

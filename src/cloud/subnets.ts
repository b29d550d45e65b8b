// Subnets: carved from the overlay range (or a given block inside it), each with its own VNI; deleted once empty.
import { parseCidr, type Cidr } from '../topology/model.js';
import { projectOf, quotaExceeded } from '../topology/projects.js';
import type { OpContext } from './collaborators.js';
import type { ServiceContext } from './context.js';
import { assertConsistent, newSubnet } from './allocation.js';
import { Conflict, QuotaExceeded } from './errors.js';
import { targetProject, usageOf } from './projects.js';
import { mustGetSubnet, scopedName } from './lookup.js';
import { subnetView, summarise, type CreateSubnetInput, type Mutation, type SubnetView } from './views.js';

export class Subnets {
  constructor(
    private readonly c: ServiceContext,
    private readonly overlay: Cidr,
  ) {}

  list(ctx: OpContext = {}): SubnetView[] {
    return this.c.store.read((r) => {
      const vms = r.listVms();
      return r
        .listSubnets()
        .filter((s) => ctx.project === undefined || projectOf(s) === ctx.project)
        .map((s) => subnetView(s, vms.filter((v) => v.subnet === s.name && projectOf(v) === projectOf(s)).length));
    });
  }

  get(name: string, ctx: OpContext = {}): SubnetView {
    const ref = scopedName(name, ctx);
    return this.c.store.read((r) => subnetView(mustGetSubnet(r, ref), r.listVms({ subnet: ref }).length));
  }

  async create(input: CreateSubnetInput, ctx: OpContext): Promise<Mutation<SubnetView>> {
    const subnet = await this.c.store.write((w) => {
      const project = targetProject(w, ctx);
      const over = quotaExceeded(project, usageOf(w, project.name), { subnets: 1 });
      if (over) throw new QuotaExceeded('name', over);
      const overlay = project.overlay !== undefined ? parseCidr(project.overlay) : this.overlay;
      const record = { ...newSubnet(w, input, overlay, this.c.now, project.name), project: project.name };
      w.insertSubnet(record);
      assertConsistent(w);
      return record;
    });
    this.c.log(ctx).info({ subnet: subnet.name, project: subnet.project, cidr: subnet.cidr, vni: subnet.vni }, 'subnet created');
    const network = await this.c.applies.request(this.c.allNodes());
    return { value: subnetView(subnet, 0), network };
  }

  async delete(name: string, ctx: OpContext): Promise<Mutation<{ name: string }>> {
    const ref = scopedName(name, ctx);
    await this.c.store.write((w) => {
      mustGetSubnet(w, ref);
      const vms = w.listVms({ subnet: ref });
      if (vms.length > 0) throw new Conflict(undefined, `subnet '${name}' still has VMs (${summarise(vms.map((v) => v.name))}): delete them first`);
      w.deleteSubnet(ref);
    });
    this.c.log(ctx).info({ subnet: name, project: ref.project }, 'subnet deleted');
    return { value: { name }, network: await this.c.applies.request(this.c.allNodes()) };
  }
}

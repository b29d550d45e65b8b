// Run by crash.test.ts as a child process that the test kills with SIGKILL at a random moment:
//   node --import tsx test/topology/crash-child.ts DB MODE
// MODE 'batches': each write inserts a subnet and 50 VMs (so a torn write would show as a subnet without 50 VMs).
// MODE 'service': CloudService creates VMs one after another through a slow fake backend (so the kill often lands
// between the allocation's commit and the backend's answer).
import { CloudService } from '../../src/cloud/index.js';
import { openSqliteStore } from '../../src/topology/sqlite-store.js';
import { FakeBackend, FakeDatapaths, FakeNetwork } from '../api/fakes.js';

const [db, mode] = process.argv.slice(2);
const store = openSqliteStore(db!);
const say = (line: string): void => void process.stdout.write(`${line}\n`);

if (mode === 'batches') {
  await store.write((w) => {
    w.insertNode({ name: 'host', roles: ['compute'], underlayIp: '10.0.0.11', cpus: 1_000_000, memoryMiB: 1 << 30, createdAt: 't' });
    w.insertNode({ name: 'gw', roles: ['gateway'], underlayIp: '10.0.0.1', cpus: 0, memoryMiB: 0, createdAt: 't' });
  });
  for (let i = 1; ; i++) {
    await store.write((w) => {
      w.insertSubnet({ name: `s${i}`, cidr: `10.${i >> 8}.${i & 255}.0/24`, gatewayIp: `10.${i >> 8}.${i & 255}.1`, vni: i, createdAt: 't' });
      for (let j = 0; j < 50; j++) {
        w.insertVm({
          name: `vm-${i}-${j}`,
          subnet: `s${i}`,
          node: 'host',
          gateway: 'gw',
          flavor: 'tiny',
          cpus: 1,
          memoryMiB: 512,
          image: 'img',
          ip: `10.${i >> 8}.${i & 255}.${j + 2}`,
          mac: `02:00:0a:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}:${(j + 2).toString(16).padStart(2, '0')}`,
          port: `mcvm${i * 100 + j}`,
          state: 'running',
          createdAt: 't',
        });
      }
    });
    say(`committed ${i}`);
  }
} else {
  const network = new FakeNetwork();
  const backend = new FakeBackend();
  backend.delayMs = 40;
  const dp = new FakeDatapaths();
  const service = new CloudService({ store, network, backend, flows: dp, datapaths: dp, resyncer: dp });
  if (service.listNodes().length === 0) {
    await service.addNode({ name: 'gw', roles: ['gateway'], underlayIp: '10.0.0.1' });
    await service.addNode({ name: 'host', roles: ['compute'], underlayIp: '10.0.0.11', cpus: 10_000, memoryMiB: 10_000 * 1024 });
    await service.createSubnet({ name: 'a', prefixLength: 22 });
  }
  for (let i = 1; ; i++) {
    await service.createVm({ name: `vm-${i}`, subnet: 'a', flavor: 'tiny', image: 'img' });
    say(`created vm-${i}`);
  }
}

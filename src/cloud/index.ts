// The domain's public surface: the service, the interfaces of what it needs (implemented by src/daemon), what it
// takes and returns, and its errors. Everything outside src/cloud imports from here.
export { CloudService } from './service.js';
export type { NetworkResult } from './apply-queue.js';
export {
  DEFAULT_BACKEND_TIMEOUTS,
  type BackendTimeouts,
  type CloudServiceDeps,
  type DatapathInfo,
  type DatapathPort,
  type DatapathView,
  type VmExecResult,
  type FlowReader,
  type FlowRow,
  type Log,
  type NetworkApplier,
  type OpContext,
  type ProvisioningView,
  type ResyncOutcome,
  type Resyncer,
  type VmBackend,
  type VmSpec,
} from './collaborators.js';
export { BackendFailed, CapacityExhausted, Conflict, DomainError, Forbidden, Invalid, NotFound, QuotaExceeded, Unsupported, type DomainErrorKind } from './errors.js';
export type { ProjectView, CreateProjectInput, UpdateProjectInput } from './projects.js';
export type { CreateFloatingIpInput, FloatingIpView } from './floating-ips.js';
export { nodeRemovalView, sshHost, type NodeRemovalView } from './node-removals.js';
export type { AddNodeInput, CreateSubnetInput, CreateVmInput, Inventory, Mutation, NodeDetails, SubnetView, VmView } from './views.js';
export { planFailover, type FailoverOutcome, type FailoverPlan, type FailoverReason, type GatewayFailover, type GatewayHealth, type GatewayMove, type StrandedVm } from './gateway-failover.js';
export { type SecurityGroupView } from './security-groups.js';
export { MAX_DESCRIPTION } from './validate.js';

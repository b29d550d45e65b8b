// The controller runtime: OpenFlow connections, the datapath registry, and sync (bundles).
export { admit, refusalText, REFUSAL_REASONS, type Admission, type AdmissionCandidate, type AdmissionRules, type RefusalReason } from './admission.js';
export { Controller, type ControllerEvents, type ControllerOptions } from './controller.js';
export { OfConnection, formatDpid, requestInfo, type ConnectionEvents, type ConnectionOptions, type HandshakeResult, type HandshakeTiming, type Outgoing } from './connection.js';
export { Connector, type ConnectorOptions } from './connector.js';
export { Datapath, DatapathRegistry, type ConnectionLimits, type DatapathEvents, type RegistryOptions } from './datapaths.js';
export { diffFlows, diffGroups, type DesiredFlow, type DesiredGroup, type FlowPlan, type GroupPlan, type Ownership } from './diff.js';
export { formatEndpoint, parseEndpoint, type Endpoint } from './endpoint.js';
export { BundleError, ConnectionClosedError, HandshakeError, ReplyLimitError, RequestTimeoutError, SendQueueFullError, SwitchError, SyncTimeoutError, type RequestInfo } from './errors.js';
export { Listener, type ListenerOptions } from './listener.js';
export { certificateNames, checkPeerIdentity, parseSubjectName, PeerIdentityError, type CertificateNames, type IdentityPolicy, type SubjectName } from './peer-identity.js';
export { runBundle, type BundleOptions } from './bundle.js';
export { sync, type DesiredState, type SyncOptions, type SyncStats } from './sync.js';
export { nextTurn, runInTurns, type Pause } from './turns.js';
export type { TlsFiles } from './tls.js';
export { DEFAULT_VERIFY_JITTER, FlowVerifier, type Verifiable, type VerifierEvents, type VerifierOptions } from './verifier.js';
export { isSlaveRefusal, NotMasterError, RoleKeeper, StaleGenerationError, type RoleClaim, type RoleKeeperEvents, type RoleName } from './roles.js';

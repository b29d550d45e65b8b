// A node's provisioning states and what the Provisioner (./provisioning.ts) reports of each node to /metrics.

/** Every state /metrics shows; the API's are all but 'removing' (a node that left the store, its removal running or retried). */
export const NODE_PROVISIONING_STATES = ['provisioning', 'ready', 'waiting', 'failed', 'removing'] as const;
export type NodeProvisioningState = (typeof NODE_PROVISIONING_STATES)[number];
export type ProvisioningState = Exclude<NodeProvisioningState, 'removing'>;

export interface NodeProvisioning {
  readonly state: ProvisioningState;
  /** ISO time of the last outcome. */
  readonly at: string;
  readonly error?: string;
  /** What the last run changed. */
  readonly changes: readonly string[];
  /** Failed or waiting runs in a row (the backoff's exponent); absent after a run that went through. */
  readonly attempts?: number;
  /** ISO time of the retry scheduled after a failed or waiting run. */
  readonly nextRetryAt?: string;
}

/** One node the Provisioner looks after, for /metrics. */
export interface NodeProvisioningSample {
  readonly node: string;
  readonly state: NodeProvisioningState;
  /** Failed runs (bootstrap, DHCP sync or removal) since the Provisioner took the node on. */
  readonly failures: number;
  /** Unix time, ms, of the retry scheduled after a failed or waiting run. */
  readonly nextRetryAt?: number;
}

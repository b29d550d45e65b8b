// The `gatewayFailover` keys of the configuration (docs/configuration.md): schema and defaults, kept apart from
// config.ts so the failover's settings live next to each other.
import { Type, type Static } from 'typebox';
import type { GatewayFailoverSettings } from './gateway-health.js';

export const GatewayFailoverSchema = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    /** A gateway whose datapath has been disconnected this long is failed (a vswitchd restart within it moves nothing). */
    disconnectGraceSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 600 })),
    /** After a controller start, a gateway never seen connected is failed this long after it was first known. */
    startupGraceSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 3600 })),
    bfd: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean()),
          /** OVS bfd:min_rx and bfd:min_tx, ms; OVS's detect multiplier is 3, so a path is down after 3 intervals. */
          intervalMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 10_000 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const GATEWAY_FAILOVER_DEFAULTS: GatewayFailoverSettings = {
  enabled: true,
  disconnectGraceMs: 3000,
  startupGraceMs: 30_000,
  bfd: { enabled: true, intervalMs: 300 },
};

export function gatewayFailoverSettings(f: Static<typeof GatewayFailoverSchema> | undefined): GatewayFailoverSettings {
  const d = GATEWAY_FAILOVER_DEFAULTS;
  return {
    enabled: f?.enabled ?? d.enabled,
    disconnectGraceMs: f?.disconnectGraceSeconds === undefined ? d.disconnectGraceMs : Math.round(f.disconnectGraceSeconds * 1000),
    startupGraceMs: f?.startupGraceSeconds === undefined ? d.startupGraceMs : Math.round(f.startupGraceSeconds * 1000),
    bfd: { enabled: f?.bfd?.enabled ?? d.bfd.enabled, intervalMs: f?.bfd?.intervalMs ?? d.bfd.intervalMs },
  };
}

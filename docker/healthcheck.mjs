// The image's HEALTHCHECK: exit 0 when the controller's /healthz answers 2xx within 2.5 s.
const port = process.env.MINICLOUD_API_PORT || '8080';
const url = process.env.MINICLOUD_HEALTH_URL || `http://127.0.0.1:${port}/healthz`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(2500) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}

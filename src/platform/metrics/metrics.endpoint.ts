/**
 * GET /metrics, Prometheus text format, registered on Fastify directly:
 * its bearer token is not an API credential, so the identity guard (which
 * would reject it as an invalid access token) must not see it. Registered
 * only when METRICS_ENABLED; with METRICS_TOKEN set it answers 401 unless
 * `Authorization: Bearer <token>` matches (compared in constant time).
 */
import type { FastifyInstance } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AppConfig } from '../config/app-config';
import type { MetricsService } from './metrics.service';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function registerMetricsEndpoint(fastify: FastifyInstance, config: AppConfig, metrics: MetricsService): void {
  if (!config.metricsEnabled) return;
  const expected = config.metricsToken ? digest(config.metricsToken) : null;
  fastify.get('/metrics', async (req, reply) => {
    if (expected) {
      const given = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
      if (!timingSafeEqual(digest(given), expected)) {
        return reply
          .status(401)
          .header('www-authenticate', 'Bearer realm="metrics"')
          .send({ error: { code: 'UNAUTHENTICATED', message: 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>' } });
      }
    }
    const { contentType, body } = await metrics.render();
    return reply.header('cache-control', 'no-store').type(contentType).send(body);
  });
}

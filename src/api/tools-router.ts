import { Router } from 'express';
import type { ToolRegistry } from '../activities/tools/registry';
import type { ToolStats } from '../activities/tools/tool-stats';

// GET /v1/tools: every tool a run may offer its model (built-in, custom, MCP), with the JSON
// Schema the model sees, its policies, and the analytics every worker shares (tool-stats.ts).
// Stats are across tenants (durations and outcomes of a tool, not who called it).

export function toolsRouter(options: { tools: ToolRegistry; stats?: ToolStats }): Router {
  const router = Router();
  router.get('/tools', async (_request, response) => {
    const { tools } = options;
    const stats = (await options.stats?.all()) ?? {};
    const specs = new Map(tools.specs(tools.names).map((spec) => [spec.function.name, spec.function.parameters]));
    const policies = new Map(tools.policies(tools.names).map((policy) => [policy.name, policy]));
    response.json({
      tools: tools.all.map((tool) => {
        const { name: _name, ...policy } = policies.get(tool.name)!;
        const stat = stats[tool.name];
        const ran = stat ? stat.calls - stat.cacheHits : 0;
        return {
          name: tool.name,
          description: tool.description,
          source: tool.source ?? 'custom',
          parameters: specs.get(tool.name),
          policy: {
            ...policy,
            idempotent: tool.idempotent,
            ...(tool.cache ? { cacheTtlMs: tool.cache.ttlMs } : {}),
          },
          stats: {
            calls: stat?.calls ?? 0,
            ...(stat?.p50Ms !== undefined ? { p50Ms: stat.p50Ms, p90Ms: stat.p90Ms, samples: stat.samples } : {}),
            errorRate: stat && stat.calls > 0 ? stat.errors / stat.calls : 0,
            cacheHitRate: stat && stat.calls > 0 ? stat.cacheHits / stat.calls : 0,
            ...(stat ? { ran } : {}),
          },
        };
      }),
    });
  });
  return router;
}

/**
 * Rows for the read-side and live tests, written with Prisma straight into the test database
 * (no dispatcher involved), and helpers for keys and for counting Prisma operations.
 */
import type { App } from "../../src/domain/app.js";
import { newId } from "../../src/domain/ids.js";
import type {
  ApiKeyScope,
  AttemptStatus,
  DeliveryStatus,
  Tenant,
} from "../../src/generated/prisma/client.js";
import { ok, type TestHookgate } from "../support/hookgate.js";

export async function createTenant(h: TestHookgate, name: string, parentId?: string): Promise<Tenant> {
  const data = ok(
    await h.gql(
      `mutation($input: CreateTenantInput!) {
        createTenant(input: $input) { ... on CreateTenantPayload { tenant { id } } ... on Error { message } }
      }`,
      { input: { name, parentId } },
    ),
  );
  const id = data.createTenant.tenant?.id;
  if (!id) throw new Error(`createTenant failed: ${JSON.stringify(data)}`);
  return h.hookgate.app.prisma.tenant.findUniqueOrThrow({ where: { id } });
}

export async function createKey(h: TestHookgate, tenantId: string, scopes: ApiKeyScope[]): Promise<string> {
  const data = ok(
    await h.gql(
      `mutation($input: CreateApiKeyInput!) {
        createApiKey(input: $input) { ... on CreateApiKeyPayload { key } ... on Error { message } }
      }`,
      { input: { name: `test ${scopes.join(",")}`, scopes, tenantId } },
    ),
  );
  const key = data.createApiKey.key;
  if (!key) throw new Error(`createApiKey failed: ${JSON.stringify(data)}`);
  return key;
}

export async function rootTenant(h: TestHookgate): Promise<Tenant> {
  return h.hookgate.app.prisma.tenant.findFirstOrThrow({ where: { parentId: null } });
}

export async function insertEndpoint(
  app: App,
  tenantId: string,
  opts: { includeChildTenants?: boolean } = {},
) {
  return app.prisma.endpoint.create({
    data: {
      id: newId("endpoint"),
      tenantId,
      url: "http://127.0.0.1:9/hook",
      events: ["*"],
      includeChildTenants: opts.includeChildTenants ?? false,
    },
  });
}

export async function insertEvent(
  app: App,
  tenantId: string,
  type: string,
  opts: { createdAt?: Date; test?: boolean; idempotencyKey?: string } = {},
) {
  return app.prisma.event.create({
    data: {
      id: newId("event"),
      tenantId,
      type,
      payload: { n: 1 },
      test: opts.test ?? false,
      idempotencyKey: opts.idempotencyKey ?? null,
      ...(opts.createdAt ? { createdAt: opts.createdAt } : {}),
    },
  });
}

export async function insertDelivery(
  app: App,
  event: { id: string; type: string },
  endpoint: { id: string; tenantId: string },
  opts: { status?: DeliveryStatus; createdAt?: Date } = {},
) {
  const status = opts.status ?? "PENDING";
  const final = status === "SUCCEEDED" || status === "FAILED" || status === "CANCELLED";
  return app.prisma.delivery.create({
    data: {
      id: newId("delivery"),
      eventId: event.id,
      endpointId: endpoint.id,
      tenantId: endpoint.tenantId,
      eventType: event.type,
      status,
      nextAttemptAt: final ? null : new Date(),
      ...(opts.createdAt ? { createdAt: opts.createdAt } : {}),
    },
  });
}

export async function insertAttempt(
  app: App,
  delivery: { id: string; endpointId: string },
  attemptNumber: number,
  status: AttemptStatus,
) {
  return app.prisma.attempt.create({
    data: {
      id: newId("attempt"),
      deliveryId: delivery.id,
      endpointId: delivery.endpointId,
      attemptNumber,
      url: "http://127.0.0.1:9/hook",
      status,
      trigger: "SCHEDULED",
      requestHeaders: {},
      requestBody: "{}",
      responseCode: status === "SUCCEEDED" ? 200 : 500,
      durationMs: 3,
    },
  });
}

/**
 * Counts Prisma operations (findMany, count, findUnique...) made through app.prisma from now
 * on, by swapping in an extended client. Pothos and the resolvers read ctx.app.prisma on each
 * request, so they use it at once. restore() puts the original back.
 */
export function countPrismaOperations(app: App) {
  const original = app.prisma;
  const ops: string[] = [];
  const extended = original.$extends({
    query: {
      $allOperations({ model, operation, args, query }) {
        ops.push(`${model ?? "$"}.${operation}`);
        return query(args);
      },
    },
  });
  (app as { prisma: unknown }).prisma = extended;
  return {
    ops,
    reset: () => {
      ops.length = 0;
    },
    restore: () => {
      (app as { prisma: unknown }).prisma = original;
    },
  };
}

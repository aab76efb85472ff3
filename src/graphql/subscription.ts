import { GraphQLError } from "graphql";
import { hasScope } from "../domain/app.js";
import { filterEndpointId, tenantScope } from "../domain/delivery-queries.js";
import { type LiveSubscription, type LiveUpdate, liveUpdates } from "../domain/live.js";
import { builder, type GraphQLContext } from "./builder.js";
import { requireActor } from "./context.js";
import { DeliveryFilterInput, deliveryFilterOf } from "./delivery-queries.js";

builder.subscriptionType({});

/** No tenant path starts with this: a subscription to an invisible tenant sees nothing. */
const MATCHES_NOTHING = "\u0000";

function hubOf(ctx: GraphQLContext) {
  const { app } = ctx;
  return liveUpdates(app.db, {
    onError: (err) => app.logger.warn({ err }, "live delivery updates"),
  });
}

/**
 * Loads rows for one update through the hub's per-signal cache. The key is the Prisma query
 * Pothos planned for this subscriber's selection (it also carries any actor-dependent nested
 * filter), so subscribers with the same selection share one query per update.
 */
function sharedLoad<T>(
  ctx: GraphQLContext,
  update: LiveUpdate,
  kind: string,
  query: object,
  load: () => Promise<T>,
) {
  return hubOf(ctx).rows.get(update.seq, `${kind}:${JSON.stringify(query)}`, load);
}

const DeliveryUpdateRef = builder.objectRef<LiveUpdate>("DeliveryUpdate").implement({
  description: "A delivery changed status or recorded an attempt.",
  fields: (t) => ({
    delivery: t.prismaField({
      type: "Delivery",
      description:
        "The delivery, read when the update was processed; `status` is the status this update reports.",
      resolve: async (query, update, _args, ctx) => {
        const row = await sharedLoad(ctx, update, "delivery", query, () =>
          ctx.app.prisma.delivery.findUnique({ ...query, where: { id: update.signal.d } }),
        );
        if (!row) throw new GraphQLError(`Delivery ${update.signal.d} no longer exists`);
        // A copy per subscriber: the shared row is never mutated. The signal's status wins
        // so that a fast SENDING → SUCCEEDED still shows both steps, and so that it agrees
        // with the status filter that let this update through.
        return { ...row, status: update.signal.s as typeof row.status };
      },
    }),
    attempt: t.prismaField({
      type: "Attempt",
      nullable: true,
      description: "The attempt this update records, if it records one.",
      resolve: (query, update, _args, ctx) => {
        const attemptId = update.signal.a;
        if (!attemptId) return null;
        return sharedLoad(ctx, update, "attempt", query, () =>
          ctx.app.prisma.attempt.findUnique({ ...query, where: { id: attemptId } }),
        );
      },
    }),
  }),
});

/**
 * Maps the hub's stream, dropping updates that fail an async check. Not an async generator:
 * a generator's return() waits for its pending await, so an idle subscriber would only be
 * cleaned up at the next update; here return() ends the underlying subscription at once.
 */
function filtered(
  sub: LiveSubscription,
  accept: ((update: LiveUpdate) => Promise<boolean>) | null,
): AsyncIterableIterator<LiveUpdate> {
  const it: AsyncIterableIterator<LiveUpdate> = {
    async next() {
      for (;;) {
        const r = await sub.next();
        if (r.done || !accept || (await accept(r.value))) return r;
      }
    },
    return: () => sub.return(),
    throw: (err?: unknown) => sub.throw(err),
    [Symbol.asyncIterator]: () => it,
  };
  return it;
}

builder.subscriptionFields((t) => ({
  deliveryUpdated: t.field({
    type: DeliveryUpdateRef,
    description:
      "Live delivery status changes and attempts in the caller's tenant subtree (best-effort: a slow " +
      "client loses its oldest unsent updates; re-query deliveries after reconnecting).",
    authScopes: { scope: "DELIVERIES_READ" },
    args: { filter: t.arg({ type: DeliveryFilterInput }) },
    subscribe: async (_root, args, ctx) => {
      const actor = requireActor(ctx);
      // authScopes alone is checked per event, not at subscribe time (the builder does not set
      // scopeAuth.authorizeOnSubscribe): refuse here, before anything is held open.
      if (!hasScope(actor, "DELIVERIES_READ")) {
        throw new GraphQLError("Your API key lacks the scope for this field (requires DELIVERIES_READ)", {
          extensions: { code: "FORBIDDEN", requiredScope: "DELIVERIES_READ" },
        });
      }
      const filter = deliveryFilterOf(args.filter);
      if (filter.since || filter.until) {
        throw new GraphQLError(
          "deliveryUpdated does not take since/until: it reports changes as they happen",
          {
            extensions: { code: "BAD_USER_INPUT", argument: "filter" },
          },
        );
      }
      const scope = await tenantScope(ctx.app, actor, filter.tenantId);
      // null: the uid names no endpoint (or another than endpointId): nothing matches.
      const endpointId = scope ? await filterEndpointId(ctx.app, scope, filter) : undefined;
      const hub = hubOf(ctx);
      const sub = hub.subscribe({
        tenantPath: scope?.path ?? MATCHES_NOTHING,
        exactTenantPath: scope?.exact ? scope.path : null,
        endpointIds: endpointId === null ? [] : endpointId !== undefined ? [endpointId] : null,
        eventTypes: filter.eventType ? [filter.eventType] : null,
        statuses: filter.status?.length ? filter.status : null,
      });
      try {
        // Start the stream only once this process listens: an error (database down) then
        // fails the subscribe itself, and nothing sent after it started is missed.
        await sub.ready;
      } catch (err) {
        await sub.return();
        throw err;
      }
      // The signal has no event id: that one filter needs the row (shared per update).
      const eventId = filter.eventId;
      const accept = eventId
        ? async (update: LiveUpdate) => {
            const row = await hub.rows.get(update.seq, "eventId", () =>
              ctx.app.prisma.delivery.findUnique({
                where: { id: update.signal.d },
                select: { eventId: true },
              }),
            );
            return row?.eventId === eventId;
          }
        : null;
      return filtered(sub, accept);
    },
    resolve: (update) => update,
  }),
}));

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import { expectNothingChanged } from "../support/matrix.js";

/*
 * Endpoint operations name their endpoint by `id` or by `uid` (+ `tenantId`): exactly one of the
 * two, a well-formed uid (1–128 of A-Z a-z 0-9 _ . : -), tenantId only beside uid. Each bad
 * combination is a ValidationError (a BAD_USER_INPUT error on the `endpoint` query) and changes
 * nothing; the edges themselves (a 128-character uid) are accepted.
 */
const OPS: { name: string; call: string; extraVars?: string; extra?: Record<string, unknown> }[] = [
  { name: "updateEndpoint", call: "updateEndpoint(id: $id, uid: $uid, tenantId: $tenantId, input: {})" },
  { name: "deleteEndpoint", call: "deleteEndpoint(id: $id, uid: $uid, tenantId: $tenantId)" },
  { name: "rotateEndpointSecret", call: "rotateEndpointSecret(id: $id, uid: $uid, tenantId: $tenantId)" },
  {
    name: "testEndpoint",
    call: 'testEndpoint(id: $id, uid: $uid, tenantId: $tenantId, eventType: "ref.checked")',
  },
  {
    name: "recoverEndpoint",
    call: 'recoverEndpoint(id: $id, uid: $uid, tenantId: $tenantId, since: "2026-01-01T00:00:00Z", until: "2026-01-02T00:00:00Z")',
  },
];

const UID_128 = "u".repeat(128);

const BAD: {
  label: string;
  vars: (ids: { id: string; tenantId: string }) => Record<string, unknown>;
  path: string;
  message: RegExp;
}[] = [
  { label: "neither id nor uid", vars: () => ({}), path: "id", message: /exactly one of id or uid/ },
  {
    label: "both id and uid",
    vars: ({ id }) => ({ id, uid: "a" }),
    path: "uid",
    message: /exactly one of id or uid/,
  },
  { label: "empty uid", vars: () => ({ uid: "" }), path: "uid", message: /uid must be 1 to 128 characters/ },
  { label: "129-character uid", vars: () => ({ uid: `${UID_128}u` }), path: "uid", message: /1 to 128/ },
  { label: "uid with a space", vars: () => ({ uid: "a b" }), path: "uid", message: /only letters, digits/ },
  {
    label: "tenantId beside id",
    vars: ({ id, tenantId }) => ({ id, tenantId }),
    path: "tenantId",
    message: /tenantId goes with uid/,
  },
];

describe("endpoint references: id or uid (+ tenantId)", () => {
  let h: TestHookgate;
  let endpointId: string;
  let tenantId: string;

  beforeAll(async () => {
    h = await startTestHookgate();
    tenantId = ok(await h.gql("{ viewer { tenantId } }")).viewer.tenantId;
    ok(await h.gql('mutation { createEventType(input: { name: "ref.checked" }) { __typename } }'));
    const made = ok(
      await h.gql(
        `mutation { createEndpoint(input: { url: "http://127.0.0.1:9/hook", events: ["*"], uid: "${UID_128}" }) {
          ... on CreateEndpointPayload { endpoint { id } } } }`,
      ),
    );
    endpointId = made.createEndpoint.endpoint.id;
  });
  afterAll(async () => {
    await h?.stop();
  });

  const doc = (call: string) =>
    `mutation($id: ID, $uid: String, $tenantId: ID) { r: ${call} {
      __typename ... on ValidationError { fieldErrors { path message } } ... on NotFoundError { resourceId }
    } }`;

  for (const op of OPS) {
    it.each(BAD)(`${op.name}: $label → ValidationError, nothing changed`, async (bad) => {
      const res = await expectNothingChanged(h, () =>
        h.gql(doc(op.call), bad.vars({ id: endpointId, tenantId })),
      );
      const r = ok(res).r;
      expect(r.__typename, JSON.stringify(r)).toBe("ValidationError");
      expect(r.fieldErrors[0].path).toBe(bad.path);
      expect(r.fieldErrors[0].message).toMatch(bad.message);
    });
  }

  it.each(BAD)("endpoint query: $label → BAD_USER_INPUT", async (bad) => {
    const res = await h.gql(
      "query($id: ID, $uid: String, $tenantId: ID) { endpoint(id: $id, uid: $uid, tenantId: $tenantId) { id } }",
      bad.vars({ id: endpointId, tenantId }),
    );
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", argument: bad.path });
    expect(res.errors?.[0]?.message).toMatch(bad.message);
  });

  it("the edges are accepted: a 128-character uid, a 1-character one (not found), tenantId beside uid", async () => {
    const found = ok(
      await h.gql("query($uid: String, $t: ID) { endpoint(uid: $uid, tenantId: $t) { id uid } }", {
        uid: UID_128,
        t: tenantId,
      }),
    );
    expect(found.endpoint).toEqual({ id: endpointId, uid: UID_128 });
    const missing = ok(await h.gql(doc(OPS[1]!.call), { uid: "x" })).r;
    expect(missing).toEqual({ __typename: "NotFoundError", resourceId: "x" });
    // An unknown or invisible tenant beside a uid: not found, naming that tenant.
    const noTenant = ok(await h.gql(doc(OPS[1]!.call), { uid: UID_128, tenantId: "ten_nope" })).r;
    expect(noTenant).toEqual({ __typename: "NotFoundError", resourceId: "ten_nope" });
  });
});

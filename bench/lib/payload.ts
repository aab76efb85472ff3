/** The event payload every benchmark phase publishes (and the ceiling client sends): ~450 bytes of JSON. */
export function samplePayload(seq: number, sentAt: number): Record<string, unknown> {
  return {
    sentAt,
    seq,
    object: "invoice",
    invoiceId: `in_${(1_000_000 + seq).toString(36)}K7fQ2mZr8`,
    customer: { id: "cus_P3x9LmQ2", email: "billing@example.com", name: "Example GmbH" },
    amountDue: 12900,
    currency: "eur",
    status: "paid",
    lines: [
      { id: "il_1", description: "Pro plan (monthly)", amount: 9900, quantity: 1 },
      { id: "il_2", description: "Extra seats", amount: 3000, quantity: 3 },
    ],
    metadata: { region: "eu-central", source: "hookgate-bench" },
    paidAt: "2025-01-01T12:00:00.000Z",
  };
}

/** The envelope Hookgate puts on the wire ({ id, type, timestamp, data }). */
export function envelope(id: string, type: string, data: unknown): string {
  return JSON.stringify({ id, type, timestamp: new Date().toISOString(), data });
}

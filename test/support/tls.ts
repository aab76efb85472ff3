/**
 * Throwaway certificates and real HTTPS receivers for delivery tests. Certificates come from the `openssl`
 * binary (nothing is downloaded): a private CA, and leaf certificates it signs for chosen names and dates.
 * Receivers listen on 127.0.0.1 port 0 and record, per request, the TLS server name the client sent (SNI),
 * the Host header, the negotiated protocol and the raw body.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { createServer } from "node:https";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TLSSocket } from "node:tls";

export interface TestCa {
  name: string;
  /** Path of the CA certificate (PEM): what NODE_EXTRA_CA_CERTS points at. */
  certFile: string;
  /** A leaf certificate for `san` (e.g. "DNS:localhost,IP:127.0.0.1"), valid now unless dates are given. */
  issue(san: string, dates?: { start: string; end: string }): { cert: string; key: string };
}

export interface TestPki {
  dir: string;
  ca(name: string): TestCa;
  remove(): void;
}

const CA_CONFIG = `[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $ENV::SAN
`;

/** openssl's time format: YYYYMMDDHHMMSSZ. */
function asn1Time(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), "hookgate-pki-"));
  const run = (cwd: string, args: string[], env: Record<string, string> = {}) =>
    execFileSync("openssl", args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
  let leaves = 0;
  return {
    dir,
    ca(name) {
      const caDir = path.join(dir, name);
      execFileSync("mkdir", ["-p", caDir]);
      writeFileSync(path.join(caDir, "ca.cnf"), CA_CONFIG);
      writeFileSync(path.join(caDir, "index.txt"), "");
      writeFileSync(path.join(caDir, "serial"), "01\n");

      run(caDir, [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        `/CN=${name}`,
        "-days",
        "2",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
      ]);
      return {
        name,
        certFile: path.join(caDir, "ca.pem"),
        issue(san, dates) {
          const id = `leaf${++leaves}`;
          const now = Date.now();
          const start = dates?.start ?? asn1Time(new Date(now - 3600_000));
          const end = dates?.end ?? asn1Time(new Date(now + 24 * 3600_000));

          run(caDir, [
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            `${id}.key`,
            "-out",
            `${id}.csr`,
            "-subj",
            `/CN=${id}`,
          ]);

          run(
            caDir,
            [
              "ca",
              "-batch",
              "-config",
              "ca.cnf",
              "-extensions",
              "leaf",
              "-keyfile",
              "ca.key",
              "-cert",
              "ca.pem",
              "-in",
              `${id}.csr`,
              "-out",
              `${id}.pem`,
              "-startdate",
              start,
              "-enddate",
              end,
              "-notext",
            ],
            { SAN: san },
          );
          return {
            cert: readFileSync(path.join(caDir, `${id}.pem`), "utf8"),
            key: readFileSync(path.join(caDir, `${id}.key`), "utf8"),
          };
        },
      };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TlsRequest {
  /** The SNI the client sent, or false when it sent none (as for an IP address). */
  servername: string | false;
  host: string | undefined;
  protocol: string | null;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpsReceiver {
  port: number;
  requests: TlsRequest[];
  /** Handshakes that failed on the receiver's side (the client refused the certificate). */
  tlsErrors: number;
  close(): Promise<void>;
}

export async function startHttpsReceiver(credentials: { cert: string; key: string }): Promise<HttpsReceiver> {
  const requests: TlsRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer(credentials, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const socket = req.socket as TLSSocket;
      requests.push({
        servername: (socket as TLSSocket & { servername: string | false }).servername,
        host: req.headers.host,
        protocol: socket.getProtocol(),
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      res.end("ok");
    });
  });
  const receiver: HttpsReceiver = {
    port: 0,
    requests,
    tlsErrors: 0,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("tlsClientError", () => {
    receiver.tlsErrors++;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.port = (server.address() as { port: number }).port;
  return receiver;
}

/**
 * What the client's transport settings put on the wire, seen from a bare HTTP/2 server on 127.0.0.1:
 * the flow-control window the client grants (per call in its SETTINGS, per connection in a
 * WINDOW_UPDATE), and that `channelOptions` override the defaults.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_CHANNEL_OPTIONS, FLOW_CONTROL_WINDOW_BYTES, TfServingClient } from "../../client/client";
import { UnimplementedError } from "../../client/errors";

interface SeenByServer {
  /** SETTINGS_INITIAL_WINDOW_SIZE the client sent: what the server may send per call before a WINDOW_UPDATE. */
  initialWindowSize: number | undefined;
  /** What the server may send on the whole connection, after the call. */
  connectionWindow: number | undefined;
}

/** An HTTP/2 server that answers every call with gRPC status UNIMPLEMENTED and reports the client's windows. */
async function windowRecorder(): Promise<{ endpoint: string; seen: Promise<SeenByServer>; close(): Promise<void> }> {
  const server = http2.createServer();
  const sessions: http2.ServerHttp2Session[] = [];
  const seen = new Promise<SeenByServer>((resolve) => {
    server.on("session", (session) => {
      sessions.push(session);
      let initialWindowSize: number | undefined;
      session.on("remoteSettings", (settings) => (initialWindowSize ??= settings.initialWindowSize));
      session.on("stream", (stream) => {
        stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12", "grpc-message": "recorder" }, { endStream: true });
        // The connection's WINDOW_UPDATE follows the client's SETTINGS; read the window once the call is in.
        resolve({ initialWindowSize, connectionWindow: session.state.remoteWindowSize });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      }),
  };
}

describe("transport defaults", () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it("are unlimited message sizes, a 64 MiB flow-control window, and keepalive pings while calls are in flight", () => {
    expect(DEFAULT_CHANNEL_OPTIONS["grpc.max_receive_message_length"]).toBe(-1);
    expect(DEFAULT_CHANNEL_OPTIONS["grpc.max_send_message_length"]).toBe(-1);
    expect(DEFAULT_CHANNEL_OPTIONS["grpc-node.flow_control_window"]).toBe(64 * 1024 * 1024);
    // Within gRPC C++ servers' default ping policy (TF Serving): no pings on idle connections; pings
    // 60 s apart reach the third strike (3 pings under 5 minutes apart, no response between) only
    // in a single call of over 4 minutes.
    expect(DEFAULT_CHANNEL_OPTIONS["grpc.keepalive_time_ms"]).toBe(60_000);
    expect(DEFAULT_CHANNEL_OPTIONS["grpc.keepalive_timeout_ms"]).toBe(20_000);
    expect(DEFAULT_CHANNEL_OPTIONS["grpc.keepalive_permit_without_calls"]).toBe(0);
  });

  it("grant the server a 64 MiB window per call and per connection, instead of HTTP/2's 64 KiB", async () => {
    const recorder = await windowRecorder();
    cleanups.push(() => recorder.close());
    const client = new TfServingClient({ endpoint: recorder.endpoint, timeoutMs: 5_000 });
    cleanups.push(() => client.close());
    await expect(client.getModelStatus({ model: "m" })).rejects.toBeInstanceOf(UnimplementedError);
    const seen = await recorder.seen;
    expect(seen.initialWindowSize).toBe(FLOW_CONTROL_WINDOW_BYTES);
    expect(seen.connectionWindow).toBeGreaterThanOrEqual(FLOW_CONTROL_WINDOW_BYTES - 65_535);
  });

  it("channelOptions override them", async () => {
    const recorder = await windowRecorder();
    cleanups.push(() => recorder.close());
    const client = new TfServingClient({ endpoint: recorder.endpoint, timeoutMs: 5_000, channelOptions: { "grpc-node.flow_control_window": 1024 * 1024 } });
    cleanups.push(() => client.close());
    await expect(client.getModelStatus({ model: "m" })).rejects.toBeInstanceOf(UnimplementedError);
    expect((await recorder.seen).initialWindowSize).toBe(1024 * 1024);
  });
});
